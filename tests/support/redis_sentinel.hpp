// Test fixture: Redis Sentinel on loopback: a master and a replica (redis_server, see
// redis_server.hpp) watched by three redis-sentinel processes (quorum 2, down-after 1000 ms), all
// on free ports in temp dirs. Without redis-server or redis-sentinel the tests are skipped with
// a message, except under CI=true, where that fails.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"

namespace tokenauth::test {

class redis_sentinel_setup {
 public:
  static constexpr const char* master_name = "tokenauth-test";
  static constexpr int sentinels = 3;

  redis_sentinel_setup() {
    master_ = std::make_unique<redis_server>(std::string{}, replication_args());
    if (!master_->available()) return;
    const std::string dir = master_->binary().substr(0, master_->binary().rfind('/') + 1);
    sentinel_binary_ = dir + "redis-sentinel";
    if (access(sentinel_binary_.c_str(), X_OK) != 0) {
      const char* ci = std::getenv("CI");
      if (ci && std::string(ci) == "true")
        FAIL("redis-sentinel not found, and CI=true: install redis-sentinel (./scripts/test does)");
      WARN("SKIPPED: redis-sentinel not found next to " << master_->binary());
      sentinel_binary_.clear();
      return;
    }
    auto replica_args = replication_args();
    replica_args.insert(replica_args.end(),
                        {"--replicaof", "127.0.0.1", std::to_string(master_->port())});
    replica_ = std::make_unique<redis_server>(std::string{}, std::move(replica_args));
    for (int i = 0; i < sentinels; ++i) start_sentinel();
    // Ready when the replica is in sync and every sentinel knows the master and the replica.
    for (int i = 0; i < 1000 && !ready(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(ready());
  }

  ~redis_sentinel_setup() {
    for (const pid_t pid : pids_) {
      kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
    }
    std::error_code ec;
    for (const auto& d : dirs_) std::filesystem::remove_all(d, ec);
  }
  redis_sentinel_setup(const redis_sentinel_setup&) = delete;
  redis_sentinel_setup& operator=(const redis_sentinel_setup&) = delete;

  bool available() const { return master_->available() && !sentinel_binary_.empty(); }
  redis_server& master() { return *master_; }
  redis_server& replica() { return *replica_; }

  // redis-sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/tokenauth-test
  std::string url() const {
    std::string u = "redis-sentinel://";
    for (const int p : ports_) u += "127.0.0.1:" + std::to_string(p) + ",";
    u.back() = '/';
    return u + master_name;
  }

  // The port of the master as the first sentinel reports it.
  int master_port() const {
    const auto r = sentinel_command(0, {"SENTINEL", "get-master-addr-by-name", master_name});
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return 0;
    return std::stoi(std::string(r->element[1]->str, r->element[1]->len));
  }

  redis_reply sentinel_command(int i, const std::vector<std::string>& args) const {
    std::unique_ptr<redisContext, redis_context_deleter> c(
        redisConnectWithTimeout("127.0.0.1", ports_[static_cast<std::size_t>(i)], timeval{2, 0}));
    if (!c || c->err) return nullptr;
    redisSetTimeout(c.get(), timeval{2, 0});
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
    return redis_reply(static_cast<redisReply*>(
        redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
  }

 private:
  void start_sentinel() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "tokenauth-sentinel-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()));
    dirs_.push_back(tmpl);
    const int port = redis_server::free_port();
    ports_.push_back(port);
    const std::string conf = tmpl + "/sentinel.conf";
    std::ofstream(conf) << "port " << port << "\nbind 127.0.0.1\ndir " << tmpl << "\nlogfile "
                        << tmpl << "/sentinel.log\n"
                        << "sentinel monitor " << master_name << " 127.0.0.1 " << master_->port()
                        << " 2\nsentinel down-after-milliseconds " << master_name << " 1000\n"
                        << "sentinel failover-timeout " << master_name << " 5000\n";
    std::vector<std::string> args{sentinel_binary_, conf};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {  // child: only async-signal-safe calls
      const int devnull = open("/dev/null", O_RDWR);
      if (devnull >= 0) dup2(devnull, 0), dup2(devnull, 1), dup2(devnull, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    pids_.push_back(pid);
  }

  // Redis waits repl-diskless-sync-delay (5 s by default) before a first full sync, for more
  // replicas to join it; until then a failover would promote a replica that has nothing.
  static std::vector<std::string> replication_args() { return {"--repl-diskless-sync-delay", "0"}; }

  bool ready() const {
    const auto link = replica_->command({"INFO", "replication"});
    if (!link || link->type != REDIS_REPLY_STRING ||
        std::string(link->str, link->len).find("master_link_status:up") == std::string::npos)
      return false;
    for (int i = 0; i < sentinels; ++i) {
      const auto r = sentinel_command(i, {"SENTINEL", "replicas", master_name});
      if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1) return false;
      const auto s = sentinel_command(i, {"SENTINEL", "sentinels", master_name});
      if (!s || s->type != REDIS_REPLY_ARRAY ||
          s->elements < static_cast<std::size_t>(sentinels - 1))
        return false;
    }
    return true;
  }

  std::unique_ptr<redis_server> master_, replica_;
  std::string sentinel_binary_;
  std::vector<int> ports_;
  std::vector<pid_t> pids_;
  std::vector<std::string> dirs_;
};

}  // namespace tokenauth::test
