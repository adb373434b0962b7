// Test fixture: a real MariaDB server (Debian's mariadbd) owned by the test. Its own data dir,
// initialised by mariadb-install-db, in a temp dir; a free loopback TCP port; never a system
// service. Root works over the fixture's Unix socket without a password; the store under test logs
// in over TCP as a user with a password. The server can be stopped (SIGTERM), killed (SIGKILL),
// restarted on the same port with its data, paused (SIGSTOP) and resumed. Without the binaries
// the test is skipped with a message, except under CI=true, where that is a failure.
#pragma once

#include <fcntl.h>
#include <mysql.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tokenauth::test {

struct mysql_handle_closer {
  void operator()(MYSQL* m) const noexcept { mysql_close(m); }
};
struct mysql_result_freer {
  void operator()(MYSQL_RES* r) const noexcept { mysql_free_result(r); }
};
using mysql_handle = std::unique_ptr<MYSQL, mysql_handle_closer>;
using mysql_rows = std::vector<std::vector<std::optional<std::string>>>;

class mariadb_server {
 public:
  // The account the store under test uses; the password needs %-encoding in a URL.
  static constexpr const char* user = "tokenauth";
  static constexpr const char* password = "p@ss:w/rd 100%";

  mariadb_server() {
    server_ = find_binary("MARIADBD", "mariadbd");
    install_ = find_binary("MARIADB_INSTALL_DB", "mariadb-install-db");
    if (server_.empty() || install_.empty()) {
      const char* ci = std::getenv("CI");
      if (ci && std::string(ci) == "true")
        FAIL(
            "mariadbd or mariadb-install-db not found, and CI=true: install mariadb-server "
            "(./scripts/test does)");
      WARN("SKIPPED: mariadbd or mariadb-install-db not found; MariaDB tests not run");
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "tokenauth-mariadb-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) FAIL("mkdtemp failed");
    dir_ = tmpl;
    port_ = free_port();
    // Its own tmpdir: two bootstraps sharing /tmp collide on their temporary table names.
    std::filesystem::create_directory(dir_ + "/tmp");
    std::vector<std::string> install{install_,
                                     "--no-defaults",
                                     "--auth-root-authentication-method=normal",
                                     "--datadir=" + dir_ + "/data",
                                     "--tmpdir=" + dir_ + "/tmp",
                                     "--skip-test-db",
                                     "--skip-name-resolve",
                                     "--innodb-log-file-size=4M"};
    if (geteuid() == 0) install.push_back("--user=root");
    try {
      if (run(install, dir_ + "/install.log") != 0)
        FAIL("mariadb-install-db failed; see " << dir_ << "/install.log");
      start();
      query("CREATE USER '" + std::string(user) + "'@'127.0.0.1' IDENTIFIED BY '" + password + "'");
      query("GRANT ALL PRIVILEGES ON *.* TO '" + std::string(user) + "'@'127.0.0.1'");
    } catch (...) {  // no destructor runs: end the server here; the dir stays for its logs
      signal_and_wait(SIGKILL);
      throw;
    }
    startup_ms_ =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("mariadb fixture: initialised and started in %.0f ms\n", startup_ms_);
  }

  ~mariadb_server() {
    if (pid_ > 0) stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  mariadb_server(const mariadb_server&) = delete;
  mariadb_server& operator=(const mariadb_server&) = delete;

  bool available() const { return !server_.empty() && !install_.empty(); }
  int port() const { return port_; }
  double startup_ms() const { return startup_ms_; }

  void start() {
    REQUIRE(pid_ <= 0);
    std::vector<std::string> args{
        server_, "--no-defaults", "--datadir=" + dir_ + "/data", "--tmpdir=" + dir_ + "/tmp",
        "--socket=" + socket(), "--port=" + std::to_string(port_), "--bind-address=127.0.0.1",
        "--skip-name-resolve", "--pid-file=" + dir_ + "/mariadbd.pid",
        "--log-error=" + dir_ + "/error.log", "--innodb-log-file-size=4M",
        "--innodb-buffer-pool-size=16M", "--performance-schema=OFF",
        // Debian's packaged configuration (skipped by --no-defaults)
        "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci"};
    if (geteuid() == 0) args.push_back("--user=root");
    pid_ = spawn(args, "/dev/null");
    for (int i = 0; i < 3000; ++i) {  // up to ~30 s (crash recovery after a kill included)
      if (root_connection()) return;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        FAIL("mariadbd exited during start-up; see " << dir_ << "/error.log");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("mariadbd did not accept connections within 30 s; see " << dir_ << "/error.log");
  }

  void stop() { signal_and_wait(SIGTERM); }  // clean shutdown
  void kill_now() { signal_and_wait(SIGKILL); }
  // Returns once every thread has stopped: SIGSTOP reaches a busy multi-threaded process some
  // time after kill() returns, and a query sent meanwhile would still be answered.
  void pause() {
    REQUIRE(kill(pid_, SIGSTOP) == 0);
    int status = 0;
    REQUIRE(waitpid(pid_, &status, WUNTRACED) == pid_);
    REQUIRE(WIFSTOPPED(status));
  }
  void resume() { kill(pid_, SIGCONT); }

  // Runs one statement as root (over the socket) and returns its rows; REQUIREs success.
  mysql_rows query(const std::string& sql, const std::string& database = {}) const {
    std::string error;
    auto rows = try_query(sql, database, error);
    INFO(sql);
    if (!rows) FAIL(error);
    return std::move(*rows);
  }

  // The same without Catch assertions, for threads other than the test's: nullopt and `error`
  // on failure.
  std::optional<mysql_rows> try_query(const std::string& sql, const std::string& database,
                                      std::string& error) const {
    auto db = root_connection(database);
    if (!db) {
      error = "cannot connect as root";
      return std::nullopt;
    }
    if (mysql_real_query(db.get(), sql.data(), sql.size())) {
      error = mysql_error(db.get());
      return std::nullopt;
    }
    mysql_rows rows;
    std::unique_ptr<MYSQL_RES, mysql_result_freer> res(mysql_store_result(db.get()));
    if (!res) return rows;
    const unsigned n = mysql_num_fields(res.get());
    while (MYSQL_ROW row = mysql_fetch_row(res.get())) {
      const unsigned long* lengths = mysql_fetch_lengths(res.get());
      auto& out = rows.emplace_back();
      for (unsigned i = 0; i < n; ++i)
        out.push_back(row[i] ? std::optional<std::string>(std::string(row[i], lengths[i]))
                             : std::nullopt);
    }
    return rows;
  }

  // A fresh, empty database for one test; its name.
  std::string create_database() {
    const std::string name = "tokenauth_test_" + std::to_string(++databases_);
    query("CREATE DATABASE `" + name + "`");
    return name;
  }

 private:
  std::string socket() const { return dir_ + "/mariadbd.sock"; }

  mysql_handle root_connection(const std::string& database = {}) const {
    mysql_handle db(mysql_init(nullptr));
    if (!db) return nullptr;
    const unsigned protocol = MYSQL_PROTOCOL_SOCKET, timeout = 5;
    mysql_optionsv(db.get(), MYSQL_OPT_PROTOCOL, &protocol);
    mysql_optionsv(db.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(db.get(), MYSQL_OPT_READ_TIMEOUT, &timeout);
    if (!mysql_real_connect(db.get(), "localhost", "root", "",
                            database.empty() ? nullptr : database.c_str(), 0, socket().c_str(), 0))
      return nullptr;
    return db;
  }

  void signal_and_wait(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, SIGCONT);
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }

  static pid_t spawn(std::vector<std::string> args, const std::string& log) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {  // child: only async-signal-safe calls
      const int in = open("/dev/null", O_RDONLY);
      const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (in >= 0) dup2(in, 0);
      if (out >= 0) dup2(out, 1), dup2(out, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }

  static int run(std::vector<std::string> args, const std::string& log) {
    const pid_t pid = spawn(std::move(args), log);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // $ENV_NAME when set (that binary or none), else the first `name` on PATH or in the sbin dirs.
  static std::string find_binary(const char* env_name, const char* name) {
    if (const char* env = std::getenv(env_name)) return access(env, X_OK) == 0 ? env : "";
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "";
    dirs += ":/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
      const std::size_t end = std::min(dirs.find(':', start), dirs.size());
      const std::string candidate = dirs.substr(start, end - start) + "/" + name;
      if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
    return {};
  }

  // Binds port 0 to let the kernel pick a free port; mariadbd rebinds it with SO_REUSEADDR.
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
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

  std::string server_, install_, dir_;
  int port_ = 0;
  pid_t pid_ = 0;
  int databases_ = 0;
  double startup_ms_ = 0;
};

// One MariaDB per test process, started on first use.
inline mariadb_server& shared_mariadb() {
  static mariadb_server server;
  return server;
}

}  // namespace tokenauth::test
