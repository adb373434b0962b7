// What a Sentinel failover loses, measured (docs/deployment.md): a measurement, not a CI test
// (ctest does not run it). For each master setting, several trials of: a fresh Sentinel setup
// (master, replica, three sentinels), client threads rotating their own sessions through
// redis_store as fast as they can, the master SIGKILLed, and then, on the promoted replica, each
// family's generation compared with the rotations its client had been told succeeded. A
// generation short of that count is an acknowledged rotation lost: the client's newest token is
// unknown to the new master, and the token before it is accepted again.
//
//   FAILOVER_TRIALS=5 FAILOVER_THREADS=4 ./build/dev/tests/failover_loss   (the defaults)
#include <catch2/catch.hpp>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "../support/redis_sentinel.hpp"
#include "tokenauth/redis_store.hpp"
#include "tokenauth/refresh.hpp"

namespace {

using namespace tokenauth;
using clock_type = std::chrono::steady_clock;

// $name as a positive whole number, or `fallback` when it is not set.
int setting(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v) return fallback;
  int n = 0;
  const char* end = v + std::strlen(v);
  const auto [last, ec] = std::from_chars(v, end, n);
  if (ec != std::errc{} || last != end || n < 1)
    FAIL(name << " must be a positive whole number, not '" << v << "'");
  return n;
}

struct trial_result {
  double rotations_per_second = 0;
  long acknowledged = 0;  // rotations answered before the kill (before the stall: the rate)
  long lost = 0;          // of those, missing on the promoted replica
  long failover_ms = -1;  // kill -> the sentinels name the replica
};

// master_settings: CONFIG SET pairs applied to master and replica before the load. stall: how
// long the replica is stopped (SIGSTOP: it stays connected but reads nothing, as behind a slow or
// cut link) before the master is killed; it is resumed right after the kill.
trial_result run_trial(const std::vector<std::string>& master_settings,
                       std::chrono::milliseconds stall, int threads) {
  test::redis_sentinel_setup setup;
  REQUIRE(setup.available());
  for (std::size_t i = 0; i + 1 < master_settings.size(); i += 2)
    for (auto* node : {&setup.master(), &setup.replica()}) {
      const auto r = node->command({"CONFIG", "SET", master_settings[i], master_settings[i + 1]});
      REQUIRE(r);
      REQUIRE(r->type != REDIS_REPLY_ERROR);
    }
  auto options = redis_options::from_url(setup.url());
  REQUIRE(options);
  refresh_options ro;
  ro.grace = 0;
  const refresh_service svc(std::make_shared<redis_store>(*options), ro);

  std::mutex mutex;
  std::map<std::string, long> acknowledged;  // family id -> rotations answered
  std::atomic<long> total{0};
  std::vector<std::thread> clients;
  clients.reserve(threads);
  for (int c = 0; c < threads; ++c)
    clients.emplace_back([&, c] {
      auto issued = svc.issue("user" + std::to_string(c));
      if (!issued) return;
      std::string token = issued->token;
      const std::string family = token.substr(detail::token_prefix.size(), family_id_size);
      long mine = 0;
      while (true) {
        auto r = svc.rotate(token);
        if (!r || !r->token) break;  // the master is gone: this client stops
        token = *r->token;
        ++mine;
        ++total;
      }
      std::lock_guard<std::mutex> lock(mutex);
      acknowledged[family] = mine;
    });
  const auto started = clock_type::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const long before_kill = total;
  const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  const int old_master = setup.master_port();
  if (stall.count() > 0) {
    setup.replica().pause();
    std::this_thread::sleep_for(stall);
  }
  const auto killed_at = clock_type::now();
  setup.master().crash();
  setup.replica().resume();
  for (auto& t : clients) t.join();  // each stops at its first failed rotation

  trial_result out;
  out.rotations_per_second = before_kill / seconds;
  while (setup.master_port() == old_master &&
         clock_type::now() - killed_at < std::chrono::seconds(20))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (setup.master_port() != old_master)
    out.failover_ms = static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - killed_at)
            .count());
  for (const auto& [family, n] : acknowledged) {
    const auto gen = setup.replica().command(
        {"HGET", "tokenauth:{" + family.substr(0, family_tag_size) + "}f:" + family, "gen"});
    REQUIRE(gen);
    const long generation =
        gen->type == REDIS_REPLY_STRING ? std::stol(std::string(gen->str, gen->len)) : 0;
    out.acknowledged += n;
    out.lost += std::max(0L, n - generation);
  }
  return out;
}

}  // namespace

TEST_CASE("acknowledged rotations lost at a Sentinel failover, by master setting") {
  const int trials = setting("FAILOVER_TRIALS", 5), threads = setting("FAILOVER_THREADS", 4);
  using settings = std::vector<std::string>;
  const std::pair<const char*, settings> masters[] = {
      {"default (asynchronous replication)", {}},
      {"min-replicas-to-write 1, min-replicas-max-lag 1",
       {"min-replicas-to-write", "1", "min-replicas-max-lag", "1"}},
  };
  const std::pair<const char*, std::chrono::milliseconds> scenarios[] = {
      {"master SIGKILLed", std::chrono::milliseconds(0)},
      {"replica stalled 3 s, then master SIGKILLed", std::chrono::milliseconds(3000)},
  };
  for (const auto& [scenario, stall] : scenarios)
    for (const auto& [name, master_settings] : masters) {
      double rate = 0;
      long acknowledged = 0, lost = 0, worst = 0, failover_ms = 0;
      for (int i = 0; i < trials; ++i) {
        const trial_result r = run_trial(master_settings, stall, threads);
        rate += r.rotations_per_second / trials;
        acknowledged += r.acknowledged;
        lost += r.lost;
        worst = std::max(worst, r.lost);
        failover_ms = std::max(failover_ms, r.failover_ms);
      }
      std::printf(
          "%s; %s: %d trials x %d threads: %.0f rotations/s; %ld of %ld acknowledged "
          "rotations lost (at most %ld in one failover); failover at most %ld ms\n",
          scenario, name, trials, threads, rate, lost, acknowledged, worst, failover_ms);
      std::fflush(stdout);
    }
}
