// Test fixture: a real redis-server on a free loopback port in a temp dir, owned by the test.
// It can be stopped, restarted on the same port (data kept: RDB saved on shutdown), paused
// (SIGSTOP, to exercise timeouts) and resumed. Without a redis-server binary the test is skipped
// with a message, except under CI=true, where that is a failure.
#pragma once

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

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
    binary_ = find_binary();
    if (binary_.empty()) {
      const char* ci = std::getenv("CI");
      if (ci && std::string(ci) == "true")
        FAIL("redis-server not found, and CI=true: install redis-server (./scripts/test does)");
      WARN("SKIPPED: redis-server not found on PATH; Redis tests not run");
      return;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "tokenauth-redis-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) FAIL("mkdtemp failed");
    dir_ = tmpl;
    port_ = free_port();
    start();
  }

  ~redis_server() {
    if (pid_ > 0) stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  bool available() const { return !binary_.empty(); }
  const std::string& binary() const { return binary_; }
  const std::string& dir() const { return dir_; }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  void start() {
    REQUIRE(pid_ <= 0);
    const std::string port = std::to_string(port_), log = dir_ + "/redis.log";
    std::vector<std::string> args{
        binary_, "--port", port,           "--bind", "127.0.0.1",   "--dir", dir_,        "--save",
        "3600",  "1",      "--appendonly", "no",     "--daemonize", "no",    "--logfile", log};
    if (!password_.empty()) args.insert(args.end(), {"--requirepass", password_});
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {  // child: only async-signal-safe calls
      const int devnull = open("/dev/null", O_RDWR);
      if (devnull >= 0) dup2(devnull, 0), dup2(devnull, 1), dup2(devnull, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    for (int i = 0; i < 500; ++i) {  // up to ~5 s for start-up (and loading the dump)
      if (ping()) return;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        FAIL("redis-server exited during start-up; see " << log);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("redis-server did not answer PING within 5 s");
  }

  void stop() {  // SIGTERM: Redis saves its dump and exits
    if (pid_ <= 0) return;
    kill(pid_, SIGCONT);
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }
  void crash() {  // SIGKILL: no dump, no goodbye to replicas or clients
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }
  void pause() { kill(pid_, SIGSTOP); }
  void resume() { kill(pid_, SIGCONT); }

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
    for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
    return redis_reply(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
  }

  bool ping() const {
    const auto r = command({"PING"});
    return r && r->type == REDIS_REPLY_STATUS;
  }

  static std::string find_binary() {
    if (const char* env = std::getenv("REDIS_SERVER"))  // explicit choice: that binary or none
      return access(env, X_OK) == 0 ? env : "";
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "";
    dirs += ":/usr/bin:/usr/sbin:/usr/local/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
      const std::size_t end = std::min(dirs.find(':', start), dirs.size());
      const std::string candidate = dirs.substr(start, end - start) + "/redis-server";
      if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
    return {};
  }

 public:
  // Binds port 0 to let the kernel pick a free port; Redis rebinds it with SO_REUSEADDR.
  static int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    close(fd);
    REQUIRE(ok);
    return ntohs(a.sin_port);
  }

 private:
  std::string password_, binary_, dir_;
  std::vector<std::string> extra_args_;
  int port_ = 0;
  pid_t pid_ = 0;
};

}  // namespace tokenauth::test
