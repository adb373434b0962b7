// Prometheus metrics of the example server, in the text exposition format (version 0.0.4).
// Counters are relaxed atomics in fixed arrays sized at start-up (routes x methods x statuses,
// outcomes, stores), so counting allocates nothing and takes no lock; exposition() formats them
// on scrape. What each metric means: docs/operations.md.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenauth/observer.hpp"

namespace tokenauth_server {

// The library's outcomes (tokenauth/observer.hpp) as counters: token verifications and refresh
// rotations by outcome, refresh-store call errors and a call-latency histogram per store. The
// verifier and the refresh service hold it (shared_ptr), so it outlives neither.
class library_metrics final : public tokenauth::observer {
 public:
  void verified(tokenauth::verify_outcome o) noexcept override;
  void rotated(tokenauth::rotation_outcome o) noexcept override;
  void store_called(const tokenauth::store_call& c) noexcept override;

  void append_exposition(std::string& out) const;

  // Store labels: refresh_store::name() of the built-in stores; any other name is "other".
  static constexpr std::array<std::string_view, 4> stores{"memory", "sqlite", "redis", "other"};
  // Store-call histogram bucket upper bounds in microseconds (0.1 ms ... 1 s).
  static constexpr std::array<std::uint64_t, 12> store_bucket_micros{
      100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

 private:
  struct per_store {
    std::array<std::atomic<std::uint64_t>, tokenauth::store_operation_count> errors{};
    std::array<std::atomic<std::uint64_t>, store_bucket_micros.size() + 1> buckets{};  // +Inf
    std::atomic<std::uint64_t> micros_sum{0};
  };

  std::array<std::atomic<std::uint64_t>, tokenauth::verify_outcome_count> verifications_{};
  std::array<std::atomic<std::uint64_t>, tokenauth::rotation_outcome_count> rotations_{};
  std::array<per_store, stores.size()> per_store_{};
};

enum class login_result { ok, bad_credentials, throttled, error };
enum class throttle_reason {
  login_rate,            // the account's or the address's login bucket was empty (429)
  password_queue_share,  // the address had its share of the password queue in flight (429)
};

class metrics {
 public:
  // routes: route_names(); index -1 of request() is "unmatched".
  explicit metrics(std::vector<std::string_view> routes);

  // The observer to set in verify_options and refresh_options.
  const std::shared_ptr<library_metrics>& library() const noexcept { return library_; }

  void login(login_result r) noexcept;
  void throttled(throttle_reason r) noexcept;
  // A password job entered the queue / left it for a worker (or was refused).
  void password_job_queued() noexcept { password_queue_.fetch_add(1, std::memory_order_relaxed); }
  void password_job_dequeued() noexcept { password_queue_.fetch_sub(1, std::memory_order_relaxed); }

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
  std::shared_ptr<library_metrics> library_ = std::make_shared<library_metrics>();
  std::array<std::atomic<std::uint64_t>, 4> logins_{};     // by login_result
  std::array<std::atomic<std::uint64_t>, 2> throttled_{};  // by throttle_reason
  std::atomic<std::int64_t> password_queue_{0};
};

}  // namespace tokenauth_server
