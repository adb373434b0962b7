// Prometheus metrics of the example server, in the text exposition format (version 0.0.4).
// Counters are relaxed atomics in fixed arrays sized at start-up (routes x methods x statuses),
// so counting a request allocates nothing and takes no lock; exposition() formats them on scrape.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tokenauth_server {

class metrics {
 public:
  // routes: route_names(); index -1 of request() is "unmatched".
  explicit metrics(std::vector<std::string_view> routes);

  void request(int route, std::string_view method, unsigned status, std::uint64_t micros) noexcept;
  void connection_opened() noexcept { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() noexcept { open_connections_.fetch_sub(1, std::memory_order_relaxed); }

  std::string exposition() const;

  // Histogram bucket upper bounds in microseconds (0.5 ms ... 10 s).
  static constexpr std::array<std::uint64_t, 12> bucket_micros{
      500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 2500000, 10000000};
  static constexpr std::array<std::string_view, 4> methods{"GET", "POST", "OPTIONS", "other"};
  static constexpr std::array<unsigned, 17> statuses{200, 201, 204, 400, 401, 403, 404, 405, 408,
                                                     409, 413, 415, 429, 431, 500, 503, 0};

 private:
  struct per_route {
    std::array<std::atomic<std::uint64_t>, methods.size() * statuses.size()> requests{};
    std::array<std::atomic<std::uint64_t>, bucket_micros.size() + 1> buckets{};  // last: +Inf
    std::atomic<std::uint64_t> micros_sum{0};
  };

  std::vector<std::string_view> routes_;  // index 0: unmatched, then route_names()
  std::unique_ptr<per_route[]> per_route_;
  std::atomic<std::int64_t> open_connections_{0};
};

}  // namespace tokenauth_server
