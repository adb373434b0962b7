// What the example server's handlers see of an HTTP exchange, free of any networking: a request
// (views into the transport's buffers) goes in, a response comes out.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokenauth_server {

struct request {
  std::string_view method;  // as received, e.g. "GET"
  std::string_view target;  // path and query
  std::optional<std::string_view> authorization;
  std::string_view host;
  std::string_view cookie;
  std::string_view origin;
  std::string_view content_type;
  std::string_view client_address;  // the socket peer's IP address, textual
  std::string_view forwarded_for;   // X-Forwarded-For (every such field, comma-joined)
  std::string_view if_none_match;
  std::string_view body;
};

struct response {
  unsigned status = 200;
  std::string body;
  std::string_view content_type = "application/json";
  std::vector<std::pair<std::string_view, std::string>> headers;  // Set-Cookie, CORS, Allow, ...
};

// The path part of a request target (no query string): what the router and the access log see.
std::string_view request_path(std::string_view target) noexcept;

// A JSON error body {"ok":false,"status":N,"message":...}.
response error_response(unsigned status, std::string_view message);

}  // namespace tokenauth_server
