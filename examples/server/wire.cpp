#include "wire.hpp"

#include <charconv>

namespace tokenauth_server {

namespace {

std::string_view reason(unsigned status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

void append_number(std::string& out, std::size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  (void)ec;
  out.append(buf, end);
}

}  // namespace

void serialize(const response& res, bool keep_alive, std::string& out) {
  out.append("HTTP/1.1 ");
  append_number(out, res.status);
  out.append(" ").append(reason(res.status)).append("\r\n");
  const bool has_body = res.status != 204 && res.status != 304;  // RFC 9110 §6.4.1
  if (has_body) {
    out.append("Content-Type: ").append(res.content_type).append("\r\nContent-Length: ");
    append_number(out, res.body.size());
    out.append("\r\n");
  }
  for (const auto& [name, value] : res.headers)
    out.append(name).append(": ").append(value).append("\r\n");
  if (!keep_alive) out.append("Connection: close\r\n");
  out.append("\r\n");
  if (has_body) out.append(res.body);
}

}  // namespace tokenauth_server
