// Refresh-token rotations per second through refresh_service, per store, 1 and 2 client threads.
// Each thread rotates its own family's chain (SHA-256 x2, 32 CSPRNG bytes, one store call per
// rotation); every 4096 rotations it logs out and starts a new family, so stores stay small.
// Redis: REDIS_URL if set (keys under "tokenauth-bench:"), else a private redis-server on a free
// loopback port (skipped with a note when there is none). SQLite: a file in a temp directory.
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "tokenauth/memory_store.hpp"
#include "tokenauth/refresh.hpp"
#ifndef TOKENAUTH_BENCH_NO_SQLITE
#include "tokenauth/sqlite_store.hpp"
#endif
#ifndef TOKENAUTH_BENCH_NO_REDIS
#include "tokenauth/redis_store.hpp"
#endif

using namespace tokenauth;

namespace {

// Moves a day and a bit at every new family, so logged-out families pass their retention and
// the stores sweep them; families live long enough that this never ends a running chain.
std::atomic<unix_seconds> bench_now{1'700'000'000};

void bm_rotate(benchmark::State& state, std::shared_ptr<refresh_store> store) {
  refresh_options o;
  o.clock = [] { return bench_now.load(std::memory_order_relaxed); };
  o.family_lifetime = unix_seconds{100} * 365 * 86400;
  const refresh_service svc(std::move(store), o);
  const std::string user = "bench-user-" + std::to_string(state.thread_index());
  auto first = svc.issue(user);
  if (!first) return state.SkipWithError(first.error().message().c_str());
  std::string token = std::move(first->token);
  int n = 0;
  for (auto _ : state) {
    auto r = svc.rotate(token);
    if (!r || !r->token) return state.SkipWithError("rotation failed");
    token = std::move(*r->token);
    if (++n == 4096) {
      n = 0;
      (void)svc.revoke(token);
      bench_now += expired_record_retention + 1;
      auto next = svc.issue(user);
      if (!next) return state.SkipWithError(next.error().message().c_str());
      token = std::move(next->token);
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void register_store(const char* name, const std::shared_ptr<refresh_store>& store) {
  benchmark::RegisterBenchmark(name, bm_rotate, store)->Threads(1)->Threads(2)->UseRealTime();
}

#ifndef TOKENAUTH_BENCH_NO_REDIS
// A private redis-server without persistence; stopped at exit.
struct redis_process {
  pid_t pid = 0;
  int port = 0;

  bool start(const std::string& dir) {
    const char* candidates[] = {"/usr/bin/redis-server", "/usr/local/bin/redis-server"};
    const char* bin = nullptr;
    for (const char* c : candidates)
      if (access(c, X_OK) == 0) bin = c;
    if (!bin) return false;
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return false;
    close(fd);
    port = ntohs(a.sin_port);
    const std::string p = std::to_string(port), log = dir + "/redis.log";
    pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
      execl(bin, bin, "--port", p.c_str(), "--bind", "127.0.0.1", "--save", "", "--appendonly",
            "no", "--dir", dir.c_str(), "--logfile", log.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    return true;
  }
  ~redis_process() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
};

bool wait_ready(redis_store& store) {
  for (int i = 0; i < 500; ++i) {
    if (store.sessions("bench-ping", 0)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::string tmpl = (std::filesystem::temp_directory_path() / "tokenauth-bench-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return 1;
  const std::string dir = tmpl;

  register_store("rotate/memory", std::make_shared<memory_store>());
#ifndef TOKENAUTH_BENCH_NO_SQLITE
  register_store("rotate/sqlite", std::make_shared<sqlite_store>(dir + "/bench.db"));
#endif
#ifndef TOKENAUTH_BENCH_NO_REDIS
  redis_process server;
  redis_options ro;
  if (const char* url = std::getenv("REDIS_URL")) {
    auto parsed = redis_options::from_url(url);
    if (!parsed) {
      std::fprintf(stderr, "REDIS_URL is not redis://[:password@]host:port[/db]\n");
      return 1;
    }
    ro = *parsed;
    ro.key_prefix = "tokenauth-bench:";
  } else if (server.start(dir)) {
    ro.port = server.port;
  } else {
    ro.port = 0;
  }
  if (ro.port != 0) {
    auto store = std::make_shared<redis_store>(ro);
    if (wait_ready(*store))
      register_store("rotate/redis", store);
    else
      std::fprintf(stderr, "note: Redis at %s:%d not reachable; redis benchmarks skipped\n",
                   ro.host.c_str(), ro.port);
  } else {
    std::fprintf(stderr, "note: no redis-server and no REDIS_URL; redis benchmarks skipped\n");
  }
  // A Redis Cluster next to the single node, in the same run: REDIS_CLUSTER_URL=
  // redis-cluster://host:port,... (docs/benchmarks.md shows how to start a local one).
  if (const char* url = std::getenv("REDIS_CLUSTER_URL")) {
    auto parsed = redis_options::from_url(url);
    if (!parsed || parsed->cluster_nodes.empty()) {
      std::fprintf(stderr, "REDIS_CLUSTER_URL is not redis-cluster://host:port,...\n");
      return 1;
    }
    parsed->key_prefix = "tokenauth-bench:";
    auto store = std::make_shared<redis_store>(*parsed);
    if (wait_ready(*store))
      register_store("rotate/redis-cluster", store);
    else
      std::fprintf(stderr, "note: the cluster at %s is not reachable; skipped\n", url);
  }
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
