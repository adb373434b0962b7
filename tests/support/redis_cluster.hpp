// Test fixture: a Redis Cluster of three masters on free loopback ports, each a redis_server
// (see redis_server.hpp) with --cluster-enabled, joined by `redis-cli --cluster create`. Without
// redis-server the tests are skipped with a message, except under CI=true, where that fails.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "process.hpp"
#include "redis_server.hpp"

namespace tokenauth::test {

class redis_cluster {
 public:
  static constexpr int masters = 3;

  redis_cluster() {
    for (int i = 0; i < masters; ++i) {
      bus_ports_.push_back(free_port());
      nodes_.push_back(std::make_unique<redis_server>(std::string{}, node_args(bus_ports_.back())));
      if (!nodes_.back()->available()) return;  // skipped (or failed under CI) by redis_server
    }
    const std::string cli =
        nodes_[0]->binary().substr(0, nodes_[0]->binary().rfind('/') + 1) + "redis-cli";
    std::vector<std::string> args{cli, "--cluster", "create"};
    for (const auto& n : nodes_) args.push_back("127.0.0.1:" + std::to_string(n->port()));
    args.emplace_back("--cluster-yes");
    REQUIRE(run_program(args) == 0);
    REQUIRE(wait_until(std::chrono::seconds(10), [this] { return ready(); }));  // all agree
  }

  bool available() const { return !nodes_.empty() && nodes_[0]->available(); }
  redis_server& node(int i) { return *nodes_[static_cast<std::size_t>(i)]; }
  const redis_server& node(int i) const { return *nodes_[static_cast<std::size_t>(i)]; }

  // redis-cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3
  std::string url() const {
    std::string u = "redis-cluster://";
    for (const auto& n : nodes_) u += "127.0.0.1:" + std::to_string(n->port()) + ",";
    u.pop_back();
    return u;
  }

  void flush_all() const {
    for (const auto& n : nodes_) REQUIRE(n->command({"FLUSHALL"}));
  }

  // Adds a replica of master `n` (a fourth process) and waits until it is in sync, so that the
  // cluster can fail over to it. Returns its port.
  int add_replica_of(int n) {
    replicas_.push_back(std::make_unique<redis_server>(std::string{}, node_args(free_port())));
    redis_server& r = *replicas_.back();
    REQUIRE(r.command({"CLUSTER", "MEET", "127.0.0.1", std::to_string(node(n).port()),
                       std::to_string(bus_ports_[static_cast<std::size_t>(n)])}));
    const std::string master = id_of(n);
    bool replicating = false;  // learn the master, then sync
    REQUIRE(wait_until(std::chrono::seconds(10), [&] {
      if (!replicating) {  // once: asking again would restart the replication
        const auto rep = r.command({"CLUSTER", "REPLICATE", master});
        replicating = rep && rep->type != REDIS_REPLY_ERROR;
        return false;
      }
      const auto info = r.command({"INFO", "replication"});
      return info &&
             std::string(info->str, info->len).find("master_link_status:up") != std::string::npos;
    }));
    return r.port();
  }

  // The port of the master that serves `slot`, by CLUSTER SLOTS as the first live node sees it.
  int owner_port(unsigned slot) const {
    for (const auto& n : nodes_) {
      const auto r = n->command({"CLUSTER", "SLOTS"});
      if (!r || r->type != REDIS_REPLY_ARRAY) continue;
      for (std::size_t i = 0; i < r->elements; ++i) {
        const redisReply* e = r->element[i];
        if (static_cast<unsigned>(e->element[0]->integer) <= slot &&
            slot <= static_cast<unsigned>(e->element[1]->integer))
          return static_cast<int>(e->element[2]->element[1]->integer);
      }
    }
    return 0;
  }

  // The node whose master role serves `slot`, by CLUSTER SLOTS as node 0 sees it.
  int owner_of(unsigned slot) const {
    const auto r = nodes_[0]->command({"CLUSTER", "SLOTS"});
    REQUIRE(r);
    for (std::size_t i = 0; i < r->elements; ++i) {
      const redisReply* e = r->element[i];
      if (static_cast<unsigned>(e->element[0]->integer) <= slot &&
          slot <= static_cast<unsigned>(e->element[1]->integer))
        for (int n = 0; n < masters; ++n)
          if (e->element[2]->element[1]->integer == nodes_[static_cast<std::size_t>(n)]->port())
            return n;
    }
    FAIL("no node serves slot " << slot);
    return -1;
  }

  std::string id_of(int n) const {
    const auto r = node(n).command({"CLUSTER", "MYID"});
    REQUIRE(r);
    return std::string(r->str, r->len);
  }

 private:
  // Every node reports cluster_state:ok and sees all slots assigned.
  bool ready() const {
    for (const auto& n : nodes_) {
      const auto r = n->command({"CLUSTER", "INFO"});
      if (!r || r->type != REDIS_REPLY_STRING) return false;
      const std::string info(r->str, r->len);
      if (info.find("cluster_state:ok") == std::string::npos ||
          info.find("cluster_slots_ok:16384") == std::string::npos ||
          info.find("cluster_known_nodes:" + std::to_string(masters)) == std::string::npos)
        return false;
    }
    return true;
  }

  // The cluster bus gets its own free port (by default it is port + 10000, which may be taken
  // or beyond 65535). A replica's first full sync starts at once (Redis waits 5 s by default).
  static std::vector<std::string> node_args(int bus_port) {
    return {"--cluster-enabled",          "yes",  "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout",     "2000", "--cluster-port",        std::to_string(bus_port),
            "--repl-diskless-sync-delay", "0"};
  }

  std::vector<std::unique_ptr<redis_server>> nodes_, replicas_;
  std::vector<int> bus_ports_;
};

}  // namespace tokenauth::test
