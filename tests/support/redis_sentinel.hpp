// Test fixture: Redis Sentinel on loopback: a master and a replica (redis_server, see
// redis_server.hpp) watched by three redis-sentinel processes (quorum 2, down-after 1000 ms), all
// on free ports in temp dirs. Without redis-server or redis-sentinel the tests are skipped with
// a message, except under CI=true, where that fails.
#pragma once

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "process.hpp"
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
      if (under_ci())
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
    REQUIRE(wait_until(std::chrono::seconds(10), [this] { return ready(); }));
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
    const temp_dir& dir = *dirs_.emplace_back(std::make_unique<temp_dir>("tokenauth-sentinel"));
    const int port = free_port();
    ports_.push_back(port);
    const std::string conf = dir / "sentinel.conf";
    std::ofstream(conf) << "port " << port << "\nbind 127.0.0.1\ndir " << dir.path() << "\nlogfile "
                        << (dir / "sentinel.log") << "\n"
                        << "sentinel monitor " << master_name << " 127.0.0.1 " << master_->port()
                        << " 2\nsentinel down-after-milliseconds " << master_name << " 1000\n"
                        << "sentinel failover-timeout " << master_name << " 5000\n";
    sentinels_.push_back(
        std::make_unique<child_process>(std::vector<std::string>{sentinel_binary_, conf}));
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
  std::vector<std::unique_ptr<temp_dir>> dirs_;  // before the sentinels: removed after they end
  std::vector<std::unique_ptr<child_process>> sentinels_;
};

}  // namespace tokenauth::test
