// Fault tests (docs/operations.md): the real tokenauth-server binary and redis-server processes on
// loopback. Redis killed or paused under load, SQLite files locked by another process, 1,000
// silent or trickling clients, the server SIGKILLed and restarted. Measurements go to stdout
// (ctest -V shows them); assertions are about behaviour, timing only with generous bounds.
#include <sqlite3.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <future>
#include <memory>

#include "api.hpp"
#include "process.hpp"

using namespace fault;
using clock_type = std::chrono::steady_clock;

namespace {

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

// The redis-server binary; empty (and the test skipped) when there is none, except under CI.
std::string redis_or_skip() {
  std::string binary = redis_binary();
  if (binary.empty() && under_ci()) FAIL("redis-server not found, and CI=true");
  if (binary.empty()) WARN("SKIPPED: redis-server not found on PATH");
  return binary;
}

std::vector<std::string> server_args(const temp_dir& dir, const std::string& store,
                                     std::vector<std::string> more = {}) {
  std::vector<std::string> args{
      "--threads", "2", "--bcrypt-cost", "4", "--bcrypt-threads", "1", "--access-log", "false",
      // Load from one address: no login throttling.
      "--login-rate-account", "0", "--login-rate-address", "0", "--bcrypt-queue-per-address", "64",
      "--users", "sqlite:" + (dir / "users.db"), "--store", store};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// The status of an answer; 0 when there was none.
int status_of(const std::optional<reply>& r) {
  return r ? r->status : 0;
}

// A 503 answer as docs/design.md (store contract) asks: JSON {ok:false, message}.
bool is_503_json(const std::optional<reply>& r) {
  if (!r || r->status != 503) return false;
  const auto body = json_of(*r);
  return body.is_object() && body.value("ok", true) == false && body.contains("message") &&
         body["message"].is_string();
}

// SIGTERM: the server finishes and exits 0 (a stuck thread would keep it from exiting).
void require_clean_exit(server_process& srv) {
  const auto status = srv.process().signal_and_wait(SIGTERM, std::chrono::seconds(15));
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

session require_session(std::uint16_t port, const std::string& nick) {
  auto s = new_session(port, nick);
  REQUIRE(s.has_value());
  return *s;
}

// Rotates once; the new cookie must differ from the old one.
void require_rotation(std::uint16_t port, session& s) {
  const std::string before = s.cookie;
  const auto r = once(port, reissue_request(s));
  REQUIRE(r.has_value());
  INFO("status " << r->status << ": " << r->body);
  REQUIRE(absorb(s, r));
  REQUIRE(s.cookie != before);
}

// A SQLite connection in this process holding the write lock on a file the server uses.
struct sqlite_lock {
  struct closer {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
  };
  std::unique_ptr<sqlite3, closer> db;

  explicit sqlite_lock(const std::string& path) {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    db.reset(raw);
    REQUIRE(sqlite3_exec(db.get(), "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  ~sqlite_lock() { sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr); }
};

}  // namespace

TEST_CASE("Redis paused, killed and restarted under load", "[fault][redis]") {
  const std::string binary = redis_or_skip();
  if (binary.empty()) return;
  temp_dir dir;
  redis_process redis(binary, dir / "");
  server_process srv(TOKENAUTH_SERVER_BINARY, server_args(dir, redis.url()), dir / "server.log");
  const std::uint16_t port = srv.port();
  const pid_t pid = srv.pid();

  // Sessions rotated before the faults and left alone until Redis is back.
  std::vector<session> kept;
  for (int i = 0; i < 8; ++i) {
    kept.push_back(require_session(port, "kept" + std::to_string(i)));
    require_rotation(port, kept.back());
  }
  // Probe sessions: one per fault (a timed-out write may still land when Redis resumes).
  session pause_probe = require_session(port, "pauseprobe");
  session kill_probe = require_session(port, "killprobe");

  // Load: two threads on getnumber/getuser, one rotating its own session in a loop.
  std::atomic<bool> stop{false};
  std::atomic<long> plain_ok{0}, plain_bad{0};
  std::vector<std::thread> load;
  load.reserve(3);  // and the rotating thread below
  const session reader = require_session(port, "reader");
  for (int t = 0; t < 2; ++t)
    load.emplace_back([&] {
      std::unique_ptr<test_http::connection> c;
      for (long i = 0; !stop; ++i) {
        try {
          if (!c) c = std::make_unique<test_http::connection>(port);
          const auto r = roundtrip(*c, get_request(i % 2 ? "/getuser" : "/getnumber", reader));
          if (r && r->status == 200) {
            ++plain_ok;
            continue;
          }
        } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): counted just below
        }
        ++plain_bad;
        c.reset();
      }
    });
  struct reissue_stats {
    long ok = 0, unavailable = 0, bad = 0, stale = 0;
    double max_503_ms = 0;
  } rs;
  session rotor = require_session(port, "rotor");
  load.emplace_back([&] {
    bool saw_503 = false;
    while (!stop) {
      const auto t0 = clock_type::now();
      const auto r = once(port, reissue_request(rotor));
      if (absorb(rotor, r)) {
        ++rs.ok;
      } else if (is_503_json(r)) {
        ++rs.unavailable, saw_503 = true;
        rs.max_503_ms = std::max(rs.max_503_ms, ms_since(t0));
      } else if (r && r->status == 401 && saw_503) {
        // A rotation that timed out (Redis paused) or was in flight when Redis died may have
        // landed with its answer lost; the old cookie is then reused and (rightly) refused, the
        // family revoked. Not a fault of the server: log in again and go on.
        ++rs.stale, saw_503 = false;
        if (!absorb(rotor, once(port, login_request("rotor")))) ++rs.bad;
      } else {
        ++rs.bad;
      }
    }
  });

  auto probe = [&](session& s, int n, double& max_ms) {
    for (int i = 0; i < n; ++i) {
      const auto t0 = clock_type::now();
      const auto r = once(port, reissue_request(s));
      max_ms = std::max(max_ms, ms_since(t0));
      INFO("probe " << i << ": " << (r ? std::to_string(r->status) + " " + r->body : "no reply"));
      CHECK(is_503_json(r));
    }
  };

  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  double pause_max_ms = 0, kill_max_ms = 0;
  ::kill(redis.process().pid(), SIGSTOP);  // commands time out (1 s command timeout)
  probe(pause_probe, 3, pause_max_ms);
  ::kill(redis.process().pid(), SIGCONT);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  redis.kill();
  const auto killed_at = clock_type::now();
  probe(kill_probe, 10, kill_max_ms);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  redis.start();  // same port and directory: the AOF is replayed
  const auto restarted_at = clock_type::now();
  bool recovered = false;
  while (!recovered && ms_since(restarted_at) < 10000) {
    const auto r = once(port, reissue_request(kill_probe));
    recovered = absorb(kill_probe, r);
    if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double recovery_ms = ms_since(restarted_at), outage_ms = ms_since(killed_at);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // load on the recovered store
  stop = true;
  for (auto& t : load) t.join();

  std::printf(
      "fault: redis outage %.0f ms; reissuance recovered %.0f ms after restart; probes: paused "
      "max %.0f ms, killed max %.0f ms; load: %ld getnumber/getuser 200, %ld bad; reissuance "
      "%ld ok, %ld 503 (max %.0f ms), %ld stale, %ld bad\n",
      outage_ms, recovery_ms, pause_max_ms, kill_max_ms, plain_ok.load(), plain_bad.load(), rs.ok,
      rs.unavailable, rs.max_503_ms, rs.stale, rs.bad);
  CHECK(recovered);
  CHECK(plain_bad == 0);
  CHECK(plain_ok > 0);
  CHECK(rs.bad == 0);
  CHECK(rs.unavailable > 0);
  // Worst case per docs/refresh-tokens.md: pool wait + connect + command = 3 s; generous slack.
  CHECK(std::max({pause_max_ms, kill_max_ms, rs.max_503_ms}) < 5000);
  for (auto& s : kept) require_rotation(port, s);  // nothing rotated before the kill was lost
  CHECK(srv.process().running());
  CHECK(srv.pid() == pid);
  require_clean_exit(srv);
}

TEST_CASE("SQLite refresh store and users file locked by another process", "[fault][sqlite]") {
  temp_dir dir;
  const std::string refresh_db = dir / "refresh.db", users_db = dir / "users.db";
  server_process srv(TOKENAUTH_SERVER_BINARY,
                     server_args(dir, "sqlite:" + refresh_db, {"--store-threads", "2"}),
                     dir / "server.log");
  const std::uint16_t port = srv.port();
  session s = require_session(port, "locked");
  REQUIRE(status_of(once(port, join_request("second"))) == 201);

  {
    sqlite_lock lock(refresh_db);  // the write lock; the server's BEGIN IMMEDIATE waits 5 s
    auto t0 = clock_type::now();
    auto pending = std::async(std::launch::async, [&] { return once(port, reissue_request(s)); });
    // The I/O threads stay free meanwhile.
    int plain_ok = 0;
    for (int i = 0; i < 20; ++i) {
      const auto r = once(port, get_request(i % 2 ? "/getuser" : "/getnumber", s));
      plain_ok += r && r->status == 200;
    }
    CHECK(plain_ok == 20);
    const auto r = pending.get();
    const double reissue_ms = ms_since(t0);
    INFO((r ? r->body : std::string("no reply")));
    CHECK(is_503_json(r));
    t0 = clock_type::now();
    const auto login = once(port, login_request("second"));
    const double login_ms = ms_since(t0);
    CHECK(is_503_json(login));
    std::printf("fault: refresh.db locked: reissuance 503 after %.0f ms, login 503 after %.0f ms\n",
                reissue_ms, login_ms);
  }
  require_rotation(port, s);  // the failed rotation was rolled back: the cookie still works

  {
    sqlite_lock lock(users_db);
    const auto t0 = clock_type::now();
    const auto r = once(port, join_request("third"));
    std::printf("fault: users.db locked: join 503 after %.0f ms\n", ms_since(t0));
    CHECK(is_503_json(r));
    CHECK(status_of(once(port, get_request("/getnumber", s))) == 200);
  }
  CHECK(status_of(once(port, join_request("third"))) == 201);
  CHECK(srv.process().running());
  require_clean_exit(srv);
}

TEST_CASE("1000 silent or trickling clients do not starve a normal one", "[fault][slow]") {
  const rlim_t limit = raise_fd_limit();  // the server inherits it
  if (limit < 2200) FAIL("RLIMIT_NOFILE hard limit " << limit << " is below the 2,200 needed");
  temp_dir dir;
  constexpr int read_timeout = 4, slow_clients = 1000;
  server_process srv(TOKENAUTH_SERVER_BINARY,
                     server_args(dir, "memory", {"--read-timeout", std::to_string(read_timeout)}),
                     dir / "server.log");
  const std::uint16_t port = srv.port();
  const session s = require_session(port, "normal");
  auto normal_request = [&] {
    const auto t0 = clock_type::now();
    const auto r = once(port, get_request("/getnumber", s));
    return std::make_pair(r && r->status == 200, ms_since(t0));
  };
  // Polls (up to 5 s) until the server holds at most `n` fds; returns the count.
  auto settle_fds = [&](std::size_t n) {
    std::size_t fds = 0;
    for (auto t0 = clock_type::now(); ms_since(t0) < 5000;
         std::this_thread::sleep_for(std::chrono::milliseconds(10))) {
      fds = fd_count(srv.pid());
      if (fds <= n) break;
    }
    return fds;
  };

  // One crowd: half the clients send nothing, half trickle a request one byte a second; the
  // normal client makes requests meanwhile; the server must close every slow connection itself.
  struct crowd_stats {
    std::vector<double> latencies;
    int answered = 0, closed_by_server = 0;
    std::size_t fds_during = 0, rss_during = 0, fds_after = 0, rss_after = 0;
    double all_closed_ms = 0;
  };
  auto crowd = [&](std::size_t fds_baseline) {
    crowd_stats st;
    std::vector<std::unique_ptr<test_http::connection>> slow;
    slow.reserve(slow_clients);
    for (int i = 0; i < slow_clients; ++i)
      slow.push_back(std::make_unique<test_http::connection>(port));
    const auto opened = clock_type::now();
    const std::string trickle = "GET /getnumber HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    std::atomic<bool> stop{false};
    std::thread trickler([&] {
      for (std::size_t byte = 0; !stop && byte < trickle.size(); ++byte) {
        for (int i = 1; i < slow_clients; i += 2) slow[i]->send(trickle.substr(byte, 1));
        for (int k = 0; k < 100 && !stop; ++k)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
    // While they are connected (the server drops them read_timeout s after they connected).
    while (ms_since(opened) < (read_timeout - 1) * 1000.0) {
      const auto [ok, ms] = normal_request();
      st.answered += ok;
      st.latencies.push_back(ms);
      st.fds_during = std::max(st.fds_during, fd_count(srv.pid()));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    st.rss_during = rss_kib(srv.pid());
    for (auto& c : slow) st.closed_by_server += c->closed_by_peer();
    st.all_closed_ms = ms_since(opened);
    stop = true;
    trickler.join();
    slow.clear();
    st.fds_after = settle_fds(fds_baseline);
    st.rss_after = rss_kib(srv.pid());
    std::sort(st.latencies.begin(), st.latencies.end());
    std::printf(
        "fault: %d slow clients: normal client %d/%zu answered, median %.2f ms, max %.2f ms; "
        "server fds %zu during, %zu after (baseline %zu); RSS %zu KiB during, %zu after; all slow "
        "connections closed by the server %.0f ms after opening\n",
        slow_clients, st.answered, st.latencies.size(), st.latencies[st.latencies.size() / 2],
        st.latencies.back(), st.fds_during, st.fds_after, fds_baseline, st.rss_during, st.rss_after,
        st.all_closed_ms);
    CHECK(st.fds_during >= std::size_t{slow_clients});  // they really were connected meanwhile
    CHECK(st.latencies.size() >= 10);
    CHECK(st.answered == static_cast<int>(st.latencies.size()));
    CHECK(st.latencies.back() < 1000);  // generous; the target is 100 ms, reported above
    CHECK(st.closed_by_server == slow_clients);
    CHECK(st.fds_after <= fds_baseline);
    return st;
  };

  for (int i = 0; i < 200; ++i) normal_request();  // warm-up
  const std::size_t fds_before = settle_fds(0), rss_before = rss_kib(srv.pid());
  std::printf("fault: server before the crowds: %zu fds, RSS %zu KiB\n", fds_before, rss_before);
  // The first crowd leaves the allocator's caches sized for 1,000 sessions (glibc keeps freed
  // memory); later crowds must not add to that. Leaking the ~3 KiB each connection holds
  // (during minus before, above) would add ~6 MiB over two more crowds; allocator noise between
  // crowds is up to ~1.5 MiB here, so the tolerance is 3 MiB.
  const crowd_stats first = crowd(fds_before);
  crowd(fds_before);
  const crowd_stats third = crowd(fds_before);
#if !defined(__SANITIZE_ADDRESS__)  // ASan's quarantine keeps freed memory resident by design
  CHECK(third.rss_after <= first.rss_after + 3072);
#endif
  CHECK(srv.process().running());
  require_clean_exit(srv);
}

TEST_CASE("Server SIGKILLed and restarted: existing sessions still refresh", "[fault][restart]") {
  temp_dir dir;
  std::optional<redis_process> redis;
  std::string store;
  SECTION("SQLite store") {
    store = "sqlite:" + (dir / "refresh.db");
  }
  SECTION("Redis store") {
    const std::string binary = redis_or_skip();
    if (binary.empty()) return;
    redis.emplace(binary, dir / "");
    store = redis->url();
  }
  if (store.empty()) return;  // Catch2 re-enters after a failed section without entering one
  server_process srv(TOKENAUTH_SERVER_BINARY, server_args(dir, store), dir / "server.log");
  std::vector<session> sessions;
  for (int i = 0; i < 5; ++i) {
    sessions.push_back(require_session(srv.port(), "user" + std::to_string(i)));
    if (i % 2) require_rotation(srv.port(), sessions.back());
  }
  const auto killed = srv.process().signal_and_wait(SIGKILL, std::chrono::seconds(10));
  REQUIRE(killed.has_value());
  REQUIRE(WIFSIGNALED(*killed));
  srv.start();
  for (auto& s : sessions) {
    require_rotation(srv.port(), s);  // old Bearer (same JWT_SECRET) + cookie from before
    CHECK(status_of(once(srv.port(), get_request("/getnumber", s))) == 200);
  }
  require_clean_exit(srv);
}

TEST_CASE("Out of file descriptors: accept backs off instead of spinning, then serves again",
          "[fault][emfile]") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizer runtime in the server needs descriptors of its own (reports, symbolizer); at
  // the limit it can fail by itself. The plain build runs this test.
  WARN("SKIPPED under a sanitizer");
  return;
#endif
  temp_dir dir;
  server_process srv(
      TOKENAUTH_SERVER_BINARY,
      server_args(dir, "memory", {"--max-connections", "100000", "--read-timeout", "60"}),
      dir / "server.log");
  const std::uint16_t port = srv.port();
  REQUIRE(status_of(once(port, test_http::build("GET", "/getnumber"))) == 401);

  // Leave the server a few descriptors beyond what it holds, then open many more connections
  // than that: the kernel completes them all (listen backlog), accept() fails with EMFILE.
  rlimit lowered{};
  REQUIRE(::prlimit(srv.pid(), RLIMIT_NOFILE, nullptr, &lowered) == 0);
  const rlimit original = lowered;
  lowered.rlim_cur = fd_count(srv.pid()) + 6;
  REQUIRE(::prlimit(srv.pid(), RLIMIT_NOFILE, &lowered, nullptr) == 0);
  std::vector<std::unique_ptr<test_http::connection>> crowd;
  crowd.reserve(40);
  for (int i = 0; i < 40; ++i) crowd.push_back(std::make_unique<test_http::connection>(port));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const std::size_t fds_full = fd_count(srv.pid());

  // Over 2 s, a server retrying accept() at once would burn a core (~200 ticks at 100 Hz).
  const long ticks_hz = ::sysconf(_SC_CLK_TCK);
  const long before = cpu_ticks(srv.pid());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long used = cpu_ticks(srv.pid()) - before;
  std::printf(
      "emfile: server at its fd limit (%zu fds) with 40 connections waiting: %ld ticks "
      "(%.0f ms) of CPU in 2 s\n",
      fds_full, used, 1000.0 * static_cast<double>(used) / static_cast<double>(ticks_hz));
  CHECK(used <= ticks_hz / 10);  // at most 5% of one core

  // The crowd leaves; descriptors free up and the server answers again (backoff is at most 1 s).
  crowd.clear();
  const auto t0 = clock_type::now();
  CHECK(status_of(once(port, test_http::build("GET", "/getnumber"))) == 401);
  std::printf("emfile: served again %.0f ms after the crowd left\n", ms_since(t0));
  REQUIRE(::prlimit(srv.pid(), RLIMIT_NOFILE, &original, nullptr) == 0);
  CHECK(status_of(once(port, test_http::build("GET", "/getnumber"))) == 401);
  require_clean_exit(srv);
}
