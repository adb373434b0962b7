// Test fixture: a real redis-server on a free loopback port in a temp dir, owned by the test
// (process.hpp launches it).
// It can be stopped, restarted on the same port (data kept: RDB saved on shutdown), paused
// (SIGSTOP, to exercise timeouts) and resumed. Without a redis-server binary the test is skipped
// with a message, except under CI=true, where that is a failure.
#pragma once

#include <hiredis/hiredis.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"

namespace tokenauth::test {

struct redis_reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
struct redis_context_deleter {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using redis_reply = std::unique_ptr<redisReply, redis_reply_deleter>;

class redis_server {
 public:
  explicit redis_server(std::string password = {}, std::vector<std::string> extra_args = {})
      : password_(std::move(password)), extra_args_(std::move(extra_args)) {
    binary_ = find_program("redis-server", "REDIS_SERVER");
    if (binary_.empty()) {
      if (under_ci())
        FAIL("redis-server not found, and CI=true: install redis-server (./scripts/test does)");
      WARN("SKIPPED: redis-server not found on PATH; Redis tests not run");
      return;
    }
    dir_.emplace("tokenauth-redis");
    port_ = free_port();
    start();
  }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  bool available() const { return !binary_.empty(); }
  const std::string& binary() const { return binary_; }
  const std::string& dir() const { return dir_->path(); }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  void start() {
    REQUIRE(!process_);
    const std::string port = std::to_string(port_), log = *dir_ / "redis.log";
    std::vector<std::string> args{
        binary_, "--port", port,           "--bind", "127.0.0.1",   "--dir", dir_->path(), "--save",
        "3600",  "1",      "--appendonly", "no",     "--daemonize", "no",    "--logfile",  log};
    if (!password_.empty()) args.insert(args.end(), {"--requirepass", password_});
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    process_.emplace(std::move(args));
    bool exited = false;  // up to 5 s for start-up (and loading the dump)
    if (wait_until(std::chrono::seconds(5),
                   [&] { return ping() || (exited = !process_->running()); }) &&
        !exited)
      return;
    process_.reset();
    FAIL("redis-server " << (exited ? "exited during start-up" : "did not answer PING within 5 s")
                         << "; its log:\n"
                         << read_text(log));
  }

  // SIGTERM: Redis saves its dump and exits.
  void stop() {
    if (process_) process_->signal_and_wait(SIGTERM, std::chrono::seconds(30));
    process_.reset();
  }
  // SIGKILL: no dump, no goodbye to replicas or clients.
  void crash() {
    if (process_) process_->signal_and_wait(SIGKILL, std::chrono::seconds(10));
    process_.reset();
  }
  void pause() { process_->pause(); }
  void resume() { process_->resume(); }

  // Runs one command on a fresh connection (AUTH first when a password is set).
  redis_reply command(const std::vector<std::string>& args, int db = 0) const {
    std::unique_ptr<redisContext, redis_context_deleter> c(
        redisConnectWithTimeout("127.0.0.1", port_, timeval{2, 0}));
    if (!c || c->err) return nullptr;
    redisSetTimeout(c.get(), timeval{2, 0});
    if (!password_.empty() && !run(c.get(), {"AUTH", password_})) return nullptr;
    if (db != 0 && !run(c.get(), {"SELECT", std::to_string(db)})) return nullptr;
    return run(c.get(), args);
  }

 private:
  static redis_reply run(redisContext* c, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
    return redis_reply(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
  }

  bool ping() const {
    const auto r = command({"PING"});
    return r && r->type == REDIS_REPLY_STATUS;
  }

  std::string password_, binary_;
  std::vector<std::string> extra_args_;
  std::optional<temp_dir> dir_;  // declared before the process: removed after it has ended
  int port_ = 0;
  std::optional<child_process> process_;
};

}  // namespace tokenauth::test
