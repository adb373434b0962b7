#include "metrics.hpp"

#include <algorithm>
#include <chrono>
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

std::size_t store_index(std::string_view name) noexcept {
  const auto& stores = library_metrics::stores;
  for (std::size_t i = 0; i + 1 < stores.size(); ++i)
    if (stores[i] == name) return i;
  return stores.size() - 1;  // "other"
}

// The HELP and TYPE lines of one metric family.
void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ");
  out.append(name).append(" ").append(type).append("\n");
}

// name{label="value"} n
void labelled(std::string& out, std::string_view name, std::string_view label,
              std::string_view value, std::uint64_t n) {
  out.append(name).append("{").append(label).append("=\"").append(value).append("\"} ");
  append_u64(out, n);
  out += '\n';
}

constexpr std::array<std::string_view, 4> login_results{"ok", "bad_credentials", "throttled",
                                                        "error"};
constexpr std::array<std::string_view, 2> throttle_reasons{"login_rate", "password_queue_share"};

}  // namespace

void library_metrics::verified(tokenauth::verify_outcome o) noexcept {
  verifications_[static_cast<std::size_t>(o)].fetch_add(1, relaxed);
}

void library_metrics::rotated(tokenauth::rotation_outcome o) noexcept {
  rotations_[static_cast<std::size_t>(o)].fetch_add(1, relaxed);
}

void library_metrics::store_called(const tokenauth::store_call& c) noexcept {
  per_store& p = per_store_[store_index(c.store)];
  if (!c.ok) p.errors[static_cast<std::size_t>(c.operation)].fetch_add(1, relaxed);
  const auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::microseconds>(c.duration).count()));
  std::size_t b = 0;
  while (b < store_bucket_micros.size() && micros > store_bucket_micros[b]) ++b;
  p.buckets[b].fetch_add(1, relaxed);
  p.micros_sum.fetch_add(micros, relaxed);
}

void library_metrics::append_exposition(std::string& out) const {
  family(out, "tokenauth_token_verifications_total", "counter",
         "Access-token verifications by outcome (ok, expired, bad_signature, malformed, ...).");
  for (std::size_t o = 0; o < verifications_.size(); ++o)
    labelled(out, "tokenauth_token_verifications_total", "outcome",
             tokenauth::to_string(static_cast<tokenauth::verify_outcome>(o)),
             verifications_[o].load(relaxed));
  family(out, "tokenauth_refresh_rotations_total", "counter",
         "Refresh-token rotations by outcome; reuse_detected means a rotated-out token came back "
         "(a theft signal).");
  for (std::size_t o = 0; o < rotations_.size(); ++o)
    labelled(out, "tokenauth_refresh_rotations_total", "outcome",
             tokenauth::to_string(static_cast<tokenauth::rotation_outcome>(o)),
             rotations_[o].load(relaxed));
  family(out, "tokenauth_store_errors_total", "counter",
         "Refresh-store calls that failed in the backend (unreachable, timeout, busy), by store "
         "and operation.");
  for (std::size_t st = 0; st < stores.size(); ++st)
    for (std::size_t op = 0; op < tokenauth::store_operation_count; ++op) {
      const std::uint64_t n = per_store_[st].errors[op].load(relaxed);
      if (n == 0) continue;
      out.append("tokenauth_store_errors_total{store=\"").append(stores[st]);
      out.append("\",operation=\"")
          .append(tokenauth::to_string(static_cast<tokenauth::store_operation>(op)))
          .append("\"} ");
      append_u64(out, n);
      out += '\n';
    }
  family(out, "tokenauth_store_call_duration_seconds", "histogram",
         "Time of each refresh-store call, by store.");
  for (std::size_t st = 0; st < stores.size(); ++st) {
    const per_store& p = per_store_[st];
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= store_bucket_micros.size(); ++b)
      cumulative += p.buckets[b].load(relaxed);
    if (cumulative == 0) continue;  // a store this server does not use
    cumulative = 0;
    for (std::size_t b = 0; b <= store_bucket_micros.size(); ++b) {
      cumulative += p.buckets[b].load(relaxed);
      out.append("tokenauth_store_call_duration_seconds_bucket{store=\"").append(stores[st]);
      out += "\",le=\"";
      if (b == store_bucket_micros.size())
        out += "+Inf";
      else
        append_seconds(out, store_bucket_micros[b]);
      out += "\"} ";
      append_u64(out, cumulative);
      out += '\n';
    }
    out.append("tokenauth_store_call_duration_seconds_sum{store=\"").append(stores[st]);
    out += "\"} ";
    append_seconds(out, p.micros_sum.load(relaxed));
    out.append("\ntokenauth_store_call_duration_seconds_count{store=\"").append(stores[st]);
    out += "\"} ";
    append_u64(out, cumulative);
    out += '\n';
  }
}

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

void metrics::login(login_result r) noexcept {
  logins_[static_cast<std::size_t>(r)].fetch_add(1, relaxed);
}

void metrics::throttled(throttle_reason r) noexcept {
  throttled_[static_cast<std::size_t>(r)].fetch_add(1, relaxed);
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
  out += '\n';
  library_->append_exposition(out);
  family(out, "tokenauth_logins_total", "counter",
         "Login attempts by result (requests that were not a well-formed login are not counted).");
  for (std::size_t r = 0; r < logins_.size(); ++r)
    labelled(out, "tokenauth_logins_total", "result", login_results[r], logins_[r].load(relaxed));
  family(out, "tokenauth_throttled_requests_total", "counter",
         "Requests refused with 429 by a login bucket or the per-address share of the password "
         "queue.");
  for (std::size_t r = 0; r < throttled_.size(); ++r)
    labelled(out, "tokenauth_throttled_requests_total", "reason", throttle_reasons[r],
             throttled_[r].load(relaxed));
  family(out, "tokenauth_bcrypt_queue_depth", "gauge",
         "Password (bcrypt) jobs waiting for a worker of the password pool.");
  out += "tokenauth_bcrypt_queue_depth ";
  out += std::to_string(password_queue_.load(relaxed));
  out +=
      "\n# HELP tokenauth_build_info The tokenauth version this server was built with.\n"
      "# TYPE tokenauth_build_info gauge\ntokenauth_build_info{version=\"";
  out.append(TOKENAUTH_VERSION_STRING).append("\"} 1\n");
  return out;
}

}  // namespace tokenauth_server
