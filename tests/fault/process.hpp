// Real processes for the fault and soak tests: a child process owned by the test (killed and
// reaped when its owner goes), the example server started from its binary on a free port, a
// redis-server with AOF fsynced on every write, and /proc readings (open fds, RSS). No Catch2
// here, so the soak program uses it too; failures throw std::runtime_error.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fault {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A fresh directory under the system temp dir, removed with everything in it at the end.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "tokenauth-fault-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// The child's stdout and stderr go to `log`.
class child {
 public:
  child(std::vector<std::string> argv, const std::string& log,
        const std::vector<std::string>& env = {}) {
    std::vector<char*> args, envp;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
    env_strings.insert(env_strings.end(), env.begin(), env.end());
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0) throw std::runtime_error("cannot open " + log);
    pid_ = ::fork();
    if (pid_ == 0) {  // child: only async-signal-safe calls
      const int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execve(args[0], args.data(), envp.data());
      ::_exit(127);
    }
    ::close(out);
    if (pid_ < 0) throw std::runtime_error("fork failed");
  }
  ~child() {
    if (running()) signal_and_wait(SIGKILL, 10s);
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  pid_t pid() const { return pid_; }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
    status_ = status;
    pid_ = 0;
    return false;
  }

  // Sends `sig` and reaps the child; the wait status, or nullopt if it outlived `limit` (then it
  // is SIGKILLed, so nothing is left behind).
  std::optional<int> signal_and_wait(int sig, std::chrono::milliseconds limit) {
    if (!running()) return status_;
    ::kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!running()) return status_;
      std::this_thread::sleep_for(5ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
    return std::nullopt;
  }

 private:
  pid_t pid_ = 0;
  int status_ = 0;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first executable `name` on PATH (or the usual system dirs); empty when there is none.
inline std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(std::string(path ? path : "") + ":/usr/bin:/usr/sbin:/usr/local/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  return {};
}

// $REDIS_SERVER when set (that binary or none, as tests/support/redis_server.hpp has it), else
// redis-server from PATH; empty when there is none.
inline std::string redis_binary() {
  if (const char* env = std::getenv("REDIS_SERVER")) return ::access(env, X_OK) == 0 ? env : "";
  return find_program("redis-server");
}

inline bool under_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

// Binds port 0 to let the kernel pick a free loopback port (Redis rebinds it with SO_REUSEADDR).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error("no free port");
  return ntohs(a.sin_port);
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
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(10ms)) {
      if (ping()) return;
      if (!proc_->running()) break;
    }
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
