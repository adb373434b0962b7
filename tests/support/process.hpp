// Processes for the test fixtures, in one place: a child process owned by the test (SIGKILLed and
// reaped when its owner goes), a program run to completion, a free loopback port, a temp dir
// removed with its contents, waiting for readiness with a deadline, and finding a program. No
// Catch2 here, so that plain programs (the soak) use it too; failures throw std::runtime_error.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

namespace tokenauth::test {

inline bool under_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

// $env_name when it is set (that binary, or none when it is not executable: an explicit choice),
// else the first executable `name` on PATH or in the usual system dirs; empty when there is none.
inline std::string find_program(const std::string& name, const char* env_name = nullptr) {
  if (env_name)
    if (const char* env = std::getenv(env_name)) return ::access(env, X_OK) == 0 ? env : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(std::string(path ? path : "") +
                         ":/usr/bin:/usr/sbin:/usr/local/bin:/usr/local/sbin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    dir.append("/").append(name);
    if (::access(dir.c_str(), X_OK) == 0) return dir;
  }
  return {};
}

// Binds port 0 to let the kernel pick a free loopback port. The servers the tests start rebind it
// with SO_REUSEADDR; another process could take it in between, which loopback tests accept.
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error("no free loopback port");
  return ntohs(a.sin_port);
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Calls `ready` every 10 ms until it returns true or `limit` has passed; whether it did.
template <class Predicate>
bool wait_until(std::chrono::milliseconds limit, Predicate ready) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!ready()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// A fresh directory under the system temp dir (<prefix>-XXXXXX), removed with everything in it
// at the end unless keep() was called (to leave a failed start-up's logs behind).
class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "tokenauth") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    if (!kept_) std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  void keep() { kept_ = true; }

 private:
  std::string path_;
  bool kept_ = false;
};

// A child process running argv[0] with argv; its stdout and stderr appended to `log` (/dev/null by
// default), stdin from /dev/null, `env` ("NAME=value") added to this process's environment. Not
// copyable or movable: its owner holds it (in a std::optional or a unique_ptr to restart it).
class child_process {
 public:
  explicit child_process(std::vector<std::string> argv, const std::string& log = "/dev/null",
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
      const int in = ::open("/dev/null", O_RDONLY);
      if (in >= 0) ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execve(args[0], args.data(), envp.data());
      ::_exit(127);
    }
    ::close(out);
    if (pid_ < 0) throw std::runtime_error("fork failed for " + argv[0]);
  }
  ~child_process() {
    if (running()) signal_and_wait(SIGKILL, std::chrono::seconds(10));
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }

  // False once it has exited (then reaped; status() tells how).
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
    status_ = status;
    pid_ = 0;
    return false;
  }
  int status() const { return status_; }

  // Waits for it to exit; its wait status.
  int wait() {
    if (pid_ > 0 && ::waitpid(pid_, &status_, 0) == pid_) pid_ = 0;
    return status_;
  }

  // Sends `sig` (after SIGCONT, so that a paused child can act on it) and reaps the child; the
  // wait status, or nullopt if it outlived `limit` (then it is SIGKILLed: nothing is left).
  std::optional<int> signal_and_wait(int sig, std::chrono::milliseconds limit) {
    if (!running()) return status_;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, sig);
    if (wait_until(limit, [this] { return !running(); })) return status_;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
    return std::nullopt;
  }

  // SIGSTOP; returns once every thread has stopped (a busy multi-threaded process stops some time
  // after kill() returns, and would still answer meanwhile).
  void pause() {
    int status = 0;
    if (pid_ <= 0 || ::kill(pid_, SIGSTOP) != 0 || ::waitpid(pid_, &status, WUNTRACED) != pid_ ||
        !WIFSTOPPED(status))
      throw std::runtime_error("could not stop process " + std::to_string(pid_));
  }
  void resume() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
  }

 private:
  pid_t pid_ = 0;
  int status_ = 0;
};

// Runs argv to completion (output to `log`); its exit code, or -1 when it did not exit normally.
inline int run_program(std::vector<std::string> argv, const std::string& log = "/dev/null") {
  const int status = child_process(std::move(argv), log).wait();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace tokenauth::test
