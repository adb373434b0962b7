// Soak (docs/operations.md): starts redis-server (AOF) and the tokenauth-server binary on loopback,
// then runs a mixed load (getnumber, getuser, reissuance, a login every 2 s per connection, bcrypt
// cost 4: the server hashes at nice 19, so dearer hashes crawl when other jobs share the cores)
// from keep-alive connections, one thread each. Passes when no request failed and the server's RSS
// after the run is within 10% of its RSS after the warm-up. Exit 0 pass, 1 fail, 77 skipped.
#include <atomic>
#include <charconv>
#include <cstdio>
#include <mutex>

#include "api.hpp"
#include "process.hpp"

using namespace fault;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::string server, store = "redis";
  int seconds = 15, warmup = 5, connections = 8;
};

const char* usage =
    "usage: tokenauth_soak --server PATH [--seconds N (15)] [--warmup N (5)]\n"
    "                      [--connections N (8)] [--store redis|sqlite|memory (redis)]\n"
    "Warm-up, then the measured run; exit 0 when no request failed and the server's RSS after\n"
    "the run is within 10% of its RSS after the warm-up. 77: skipped (no redis-server).\n";

std::optional<options> parse(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--server")
      o.server = value;
    else if (flag == "--store")
      o.store = value;
    else if (flag == "--seconds" || flag == "--warmup" || flag == "--connections") {
      // A whole number, nothing else: "10s" or "" is a usage error, not 10 or 0.
      int& target = flag == "--seconds" ? o.seconds : flag == "--warmup" ? o.warmup : o.connections;
      const char* end = value.data() + value.size();
      const auto [last, ec] = std::from_chars(value.data(), end, target);
      if (ec != std::errc{} || last != end) return std::nullopt;
    } else
      return std::nullopt;
  }
  if (argc % 2 == 0 || o.server.empty() || o.seconds < 1 || o.warmup < 0 || o.connections < 1 ||
      (o.store != "redis" && o.store != "sqlite" && o.store != "memory"))
    return std::nullopt;
  return o;
}

enum kind { getnumber, getuser, reissuance, login, kinds };
const char* const kind_names[kinds] = {"getnumber", "getuser", "reissuance", "login"};

struct counters {
  std::atomic<long> ok[kinds]{}, errors{0};
  std::mutex mutex;
  std::vector<std::string> first_errors;

  void error(const std::string& what) {
    ++errors;
    std::lock_guard lock(mutex);
    if (first_errors.size() < 5) first_errors.push_back(what);
  }
  long total() const {
    long n = 0;
    for (const auto& k : ok) n += k;
    return n;
  }
};

// One connection's loop: getnumber and getuser each round, a rotation every 5th round, and a
// fresh login (a new session, carried on) every 2 s.
void worker(std::uint16_t port, const std::string& nick, session s, const std::atomic<bool>& stop,
            counters& c) {
  std::unique_ptr<test_http::connection> conn;
  auto last_login = clock_type::now();
  for (long round = 0; !stop; ++round) {
    auto step = [&](kind k, const std::string& raw) {
      std::optional<reply> r;
      try {
        if (!conn) conn = std::make_unique<test_http::connection>(port);
        r = roundtrip(*conn, raw);
      } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): no reply, an error below
      }
      const bool ok = k == reissuance || k == login
                          ? absorb(s, r) && (k == login || set_cookie(*r).has_value())
                          : r && r->status == 200;
      if (ok) return ++c.ok[k], true;
      c.error(std::string(kind_names[k]) + ": " +
              (r ? std::to_string(r->status) + " " + r->body : "no answer"));
      conn.reset();
      return false;
    };
    step(getnumber, get_request("/getnumber", s));
    step(getuser, get_request("/getuser", s));
    if (round % 5 == 4) step(reissuance, reissue_request(s));
    if (clock_type::now() - last_login > 2s) {
      step(login, login_request(nick));
      last_login = clock_type::now();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--help") return std::fputs(usage, stdout), 0;
  const auto opt = parse(argc, argv);
  if (!opt) {
    std::fputs(usage, stderr);
    return 2;
  }
  try {
    temp_dir dir;
    std::optional<redis_process> redis;
    std::string store = opt->store == "memory" ? "memory" : "sqlite:" + (dir / "refresh.db");
    if (opt->store == "redis") {
      const std::string binary = redis_binary();
      if (binary.empty()) {
        std::fputs(under_ci() ? "soak: redis-server not found, and CI=true\n"
                              : "soak: SKIPPED, redis-server not found\n",
                   stderr);
        return under_ci() ? 1 : 77;
      }
      redis.emplace(binary, dir / "");
      store = redis->url();
    }
    raise_fd_limit();
    server_process srv(
        opt->server,
        {"--threads", "1", "--bcrypt-cost", "4", "--access-log", "false",
         // Load from one address: no login throttling.
         "--login-rate-account", "0", "--login-rate-address", "0", "--bcrypt-queue-per-address",
         "64", "--users", "sqlite:" + (dir / "users.db"), "--store", store},
        dir / "server.log");
    counters c;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < opt->connections; ++i) {  // sessions first: joins are not load
      const std::string nick = "soak" + std::to_string(i);
      const auto s = new_session(srv.port(), nick);
      if (!s) throw std::runtime_error(nick + ": could not join and log in");
      threads.emplace_back(worker, srv.port(), nick, *s, std::cref(stop), std::ref(c));
    }

    std::this_thread::sleep_for(std::chrono::seconds(opt->warmup));
    const std::size_t rss_warm = rss_kib(srv.pid()), fds_warm = fd_count(srv.pid());
    const long warm_total = c.total();
    std::size_t rss_max = rss_warm;
    const auto start = clock_type::now();
    for (int i = 0; i < opt->seconds; ++i) {
      std::this_thread::sleep_for(1s);
      rss_max = std::max(rss_max, rss_kib(srv.pid()));
    }
    stop = true;
    for (auto& t : threads) t.join();
    const double run_s = std::chrono::duration<double>(clock_type::now() - start).count();
    const std::size_t rss_after = rss_kib(srv.pid()), fds_after = fd_count(srv.pid());
    const auto exit_status = srv.process().signal_and_wait(SIGTERM, 15s);
    const bool clean_exit =
        exit_status && WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 0;

    std::printf("soak: store %s, %d connections, %d s warm-up + %d s run\n", opt->store.c_str(),
                opt->connections, opt->warmup, opt->seconds);
    for (int k = 0; k < kinds; ++k) std::printf("  %-10s %ld ok\n", kind_names[k], c.ok[k].load());
    std::printf("  measured run: %ld requests, %.0f req/s; errors %ld\n", c.total() - warm_total,
                static_cast<double>(c.total() - warm_total) / run_s, c.errors.load());
    const double growth =
        100.0 * (static_cast<double>(rss_after) / static_cast<double>(rss_warm) - 1);
    std::printf(
        "  server RSS: %zu KiB after warm-up, %zu KiB after the run (%+.1f%%), max %zu KiB\n",
        rss_warm, rss_after, growth, rss_max);
    std::printf("  server fds: %zu after warm-up, %zu after the run; SIGTERM exit %s\n", fds_warm,
                fds_after, clean_exit ? "clean" : "NOT clean");
    for (const auto& e : c.first_errors) std::printf("  error: %s\n", e.c_str());
    const bool pass = c.errors == 0 && c.total() > warm_total && growth <= 10.0 && clean_exit;
    std::puts(pass ? "soak: PASS" : "soak: FAIL");
    return pass ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak: %s\n", e.what());
    return 1;
  }
}
