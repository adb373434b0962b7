// Real processes for the fault and soak tests, over the fixtures' launcher
// (tests/support/process.hpp): the example server started from its binary on a free port, a
// redis-server with AOF fsynced on every write, and /proc readings (open fds, RSS). No Catch2
// here, so the soak program uses it too; failures throw std::runtime_error.
#pragma once

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../support/process.hpp"

namespace fault {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The process launcher the fixtures share (tests/support/process.hpp), as the fault tests name it.
using tokenauth::test::find_program;
using tokenauth::test::free_port;
using tokenauth::test::read_text;
using tokenauth::test::under_ci;
using child = tokenauth::test::child_process;

// A temp dir named for the fault tests.
class temp_dir : public tokenauth::test::temp_dir {
 public:
  temp_dir() : tokenauth::test::temp_dir("tokenauth-fault") {}
};

// $REDIS_SERVER when set (that binary or none, as tests/support/redis_server.hpp has it), else
// redis-server from PATH; empty when there is none.
inline std::string redis_binary() {
  return find_program("redis-server", "REDIS_SERVER");
}

// Open file descriptors of a process.
inline std::size_t fd_count(pid_t pid) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e :
       fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++n;
  return n;
}

// CPU time a process has used (user + system), in clock ticks (/proc/PID/stat fields 14 and 15).
inline long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos)
    throw std::runtime_error("no /proc stat for " + std::to_string(pid));
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

// Resident set size of a process, in KiB.
inline std::size_t rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  throw std::runtime_error("no VmRSS for pid " + std::to_string(pid));
}

// Raises this process's soft fd limit to the hard one (children inherit it); returns the limit.
inline rlim_t raise_fd_limit() {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &r);
  return r.rlim_cur;
}

// redis-server on 127.0.0.1:port with its files in `dir`, AOF on and fsynced on every write, so
// a SIGKILL loses nothing acknowledged; restartable on the same port and data.
class redis_process {
 public:
  redis_process(std::string binary, std::string dir)
      : binary_(std::move(binary)), dir_(std::move(dir)), port_(free_port()) {
    start();
  }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  void start() {
    proc_.emplace(
        std::vector<std::string>{binary_, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                 "--dir", dir_, "--appendonly", "yes", "--appendfsync", "always",
                                 "--save", "", "--daemonize", "no"},
        dir_ + "/redis.log");
    bool exited = false;
    if (tokenauth::test::wait_until(10s, [&] { return ping() || (exited = !proc_->running()); }) &&
        !exited)
      return;
    throw std::runtime_error("redis-server did not start; see " + dir_ + "/redis.log");
  }
  void kill() { proc_->signal_and_wait(SIGKILL, 10s); }
  child& process() { return *proc_; }

 private:
  bool ping() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[16] = {};
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                    ::send(fd, "PING\r\n", 6, MSG_NOSIGNAL) == 6 && ::recv(fd, buf, 15, 0) > 0 &&
                    std::string(buf).rfind("+PONG", 0) == 0;
    ::close(fd);
    return ok;
  }

  std::string binary_, dir_;
  int port_;
  std::optional<child> proc_;
};

inline const char* test_jwt_secret() {
  return "fault-test-secret-fault-test-secret-0123456789";
}

// The example server from its binary on a free port (--port 0; the port is read from the
// start-up banner), with a fixed JWT_SECRET so tokens survive a restart.
class server_process {
 public:
  server_process(std::string binary, std::vector<std::string> args, std::string log)
      : binary_(std::move(binary)), args_(std::move(args)), log_(std::move(log)) {
    start();
  }

  void start() {
    // No metrics listener: its default port would collide between servers running at once.
    std::vector<std::string> argv{binary_, "--port", "0", "--admin-listen", ""};
    argv.insert(argv.end(), args_.begin(), args_.end());
    const std::size_t seen = read_text(log_).size();  // earlier runs append to the same log
    proc_.emplace(argv, log_,
                  std::vector<std::string>{"JWT_SECRET=" + std::string(test_jwt_secret())});
    const std::string marker = "listening on http://127.0.0.1:";
    for (auto deadline = std::chrono::steady_clock::now() + 20s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(10ms)) {
      const std::string text = read_text(log_);
      const std::size_t at = text.find(marker, seen);
      if (at != std::string::npos && text.find('/', at + marker.size()) != std::string::npos) {
        port_ = static_cast<std::uint16_t>(std::stoi(text.substr(at + marker.size())));
        return;
      }
      if (!proc_->running()) break;
    }
    throw std::runtime_error("tokenauth-server did not start; log:\n" + read_text(log_));
  }

  std::uint16_t port() const { return port_; }
  child& process() { return *proc_; }
  pid_t pid() const { return proc_->pid(); }

 private:
  std::string binary_;
  std::vector<std::string> args_;
  std::string log_;
  std::uint16_t port_ = 0;
  std::optional<child> proc_;
};

}  // namespace fault
