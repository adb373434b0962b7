#include "metrics.hpp"

#include <cstdio>

#include "app.hpp"
#include "tokenauth/version.hpp"

namespace tokenauth_server {

namespace {

constexpr auto relaxed = std::memory_order_relaxed;

std::size_t method_index(std::string_view m) noexcept {
  for (std::size_t i = 0; i + 1 < metrics::methods.size(); ++i)
    if (metrics::methods[i] == m) return i;
  return metrics::methods.size() - 1;
}

std::size_t status_index(unsigned s) noexcept {
  for (std::size_t i = 0; i + 1 < metrics::statuses.size(); ++i)
    if (metrics::statuses[i] == s) return i;
  return metrics::statuses.size() - 1;  // "other"
}

void append_u64(std::string& out, std::uint64_t v) {
  out += std::to_string(v);
}

// Microseconds as seconds, exactly (no floating-point rounding in the text).
void append_seconds(std::string& out, std::uint64_t micros) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%06llu", static_cast<unsigned long long>(micros / 1000000),
                static_cast<unsigned long long>(micros % 1000000));
  out += buf;
}

}  // namespace

metrics::metrics(std::vector<std::string_view> routes)
    : per_route_(std::make_unique<per_route[]>(routes.size() + 1)) {
  routes_.push_back(unmatched_route);
  routes_.insert(routes_.end(), routes.begin(), routes.end());
}

void metrics::request(int route, std::string_view method, unsigned status,
                      std::uint64_t micros) noexcept {
  const std::size_t r = route < 0 || static_cast<std::size_t>(route) + 1 >= routes_.size()
                            ? 0
                            : static_cast<std::size_t>(route) + 1;
  per_route& p = per_route_[r];
  p.requests[method_index(method) * statuses.size() + status_index(status)].fetch_add(1, relaxed);
  std::size_t b = 0;
  while (b < bucket_micros.size() && micros > bucket_micros[b]) ++b;
  p.buckets[b].fetch_add(1, relaxed);
  p.micros_sum.fetch_add(micros, relaxed);
}

std::string metrics::exposition() const {
  std::string out;
  out.reserve(16 * 1024);
  out +=
      "# HELP http_requests_total HTTP requests answered, by route (from the route table), method "
      "and status.\n# TYPE http_requests_total counter\n";
  for (std::size_t r = 0; r < routes_.size(); ++r)
    for (std::size_t m = 0; m < methods.size(); ++m)
      for (std::size_t s = 0; s < statuses.size(); ++s) {
        const std::uint64_t n = per_route_[r].requests[m * statuses.size() + s].load(relaxed);
        if (n == 0) continue;  // only series that happened: the scrape stays small
        out.append("http_requests_total{route=\"").append(routes_[r]);
        out.append("\",method=\"").append(methods[m]).append("\",status=\"");
        if (statuses[s] == 0)
          out += "other";
        else
          append_u64(out, statuses[s]);
        out += "\"} ";
        append_u64(out, n);
        out += '\n';
      }
  out +=
      "# HELP http_request_duration_seconds Time from a request read to its response written, "
      "by route.\n# TYPE http_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    const per_route& p = per_route_[r];
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= bucket_micros.size(); ++b) {
      cumulative += p.buckets[b].load(relaxed);
      out.append("http_request_duration_seconds_bucket{route=\"").append(routes_[r]);
      out += "\",le=\"";
      if (b == bucket_micros.size())
        out += "+Inf";
      else
        append_seconds(out, bucket_micros[b]);
      out += "\"} ";
      append_u64(out, cumulative);
      out += '\n';
    }
    out.append("http_request_duration_seconds_sum{route=\"").append(routes_[r]).append("\"} ");
    append_seconds(out, p.micros_sum.load(relaxed));
    out.append("\nhttp_request_duration_seconds_count{route=\"").append(routes_[r]).append("\"} ");
    append_u64(out, cumulative);
    out += '\n';
  }
  out +=
      "# HELP tokenauth_open_connections Client connections open on the public listener.\n"
      "# TYPE tokenauth_open_connections gauge\ntokenauth_open_connections ";
  out += std::to_string(open_connections_.load(relaxed));
  out +=
      "\n# HELP tokenauth_build_info The tokenauth version this server was built with.\n"
      "# TYPE tokenauth_build_info gauge\ntokenauth_build_info{version=\"";
  out.append(TOKENAUTH_VERSION_STRING).append("\"} 1\n");
  return out;
}

}  // namespace tokenauth_server
