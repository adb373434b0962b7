// Test fixture: a real MariaDB server (Debian's mariadbd) owned by the test. Its own data dir,
// initialised by mariadb-install-db, in a temp dir; a free loopback TCP port; never a system
// service. Root works over the fixture's Unix socket without a password; the store under test logs
// in over TCP as a user with a password. The server can be stopped (SIGTERM), killed (SIGKILL),
// restarted on the same port with its data, paused (SIGSTOP) and resumed. Without the binaries
// the test is skipped with a message, except under CI=true, where that is a failure.
#pragma once

#include <mysql.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"

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
    server_ = find_program("mariadbd", "MARIADBD");
    install_ = find_program("mariadb-install-db", "MARIADB_INSTALL_DB");
    if (server_.empty() || install_.empty()) {
      if (under_ci())
        FAIL(
            "mariadbd or mariadb-install-db not found, and CI=true: install mariadb-server "
            "(./scripts/test does)");
      WARN("SKIPPED: mariadbd or mariadb-install-db not found; MariaDB tests not run");
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    dir_.emplace("tokenauth-mariadb");
    port_ = free_port();
    // Its own tmpdir: two bootstraps sharing /tmp collide on their temporary table names.
    std::filesystem::create_directory(*dir_ / "tmp");
    std::vector<std::string> install{install_,
                                     "--no-defaults",
                                     "--auth-root-authentication-method=normal",
                                     "--datadir=" + (*dir_ / "data"),
                                     "--tmpdir=" + (*dir_ / "tmp"),
                                     "--skip-test-db",
                                     "--skip-name-resolve",
                                     "--innodb-log-file-size=4M"};
    if (geteuid() == 0) install.emplace_back("--user=root");
    try {
      if (run_program(install, *dir_ / "install.log") != 0)
        FAIL("mariadb-install-db failed; see " << (*dir_ / "install.log"));
      start();
      query("CREATE USER '" + std::string(user) + "'@'127.0.0.1' IDENTIFIED BY '" + password + "'");
      query("GRANT ALL PRIVILEGES ON *.* TO '" + std::string(user) + "'@'127.0.0.1'");
    } catch (...) {  // the members end the server; the dir stays for its logs
      dir_->keep();
      throw;
    }
    startup_ms_ =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("mariadb fixture: initialised and started in %.0f ms\n", startup_ms_);
  }

  ~mariadb_server() { stop(); }
  mariadb_server(const mariadb_server&) = delete;
  mariadb_server& operator=(const mariadb_server&) = delete;

  bool available() const { return !server_.empty() && !install_.empty(); }
  int port() const { return port_; }
  double startup_ms() const { return startup_ms_; }

  void start() {
    REQUIRE(!process_);
    std::vector<std::string> args{
        server_, "--no-defaults", "--datadir=" + (*dir_ / "data"), "--tmpdir=" + (*dir_ / "tmp"),
        "--socket=" + socket(), "--port=" + std::to_string(port_), "--bind-address=127.0.0.1",
        "--skip-name-resolve", "--pid-file=" + (*dir_ / "mariadbd.pid"),
        "--log-error=" + (*dir_ / "error.log"), "--innodb-log-file-size=4M",
        "--innodb-buffer-pool-size=16M", "--performance-schema=OFF",
        // Debian's packaged configuration (skipped by --no-defaults)
        "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci"};
    if (geteuid() == 0) args.emplace_back("--user=root");
    process_.emplace(std::move(args));
    bool exited = false;  // up to 30 s (crash recovery after a kill included)
    if (wait_until(std::chrono::seconds(30),
                   [&] { return root_connection() || (exited = !process_->running()); }) &&
        !exited)
      return;
    process_.reset();
    FAIL("mariadbd " << (exited ? "exited during start-up"
                                : "did not accept connections within 30 s")
                     << "; see " << (*dir_ / "error.log"));
  }

  // Clean shutdown.
  void stop() {
    if (process_) process_->signal_and_wait(SIGTERM, std::chrono::seconds(60));
    process_.reset();
  }
  void kill_now() {
    if (process_) process_->signal_and_wait(SIGKILL, std::chrono::seconds(10));
    process_.reset();
  }
  // Returns once every thread has stopped (child_process::pause).
  void pause() { process_->pause(); }
  void resume() { process_->resume(); }

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
    std::string name = "tokenauth_test_" + std::to_string(++databases_);
    query("CREATE DATABASE `" + name + "`");
    return name;
  }

 private:
  std::string socket() const { return *dir_ / "mariadbd.sock"; }

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

  std::string server_, install_;
  std::optional<temp_dir> dir_;  // declared before the process: removed after it has ended
  int port_ = 0;
  std::optional<child_process> process_;
  int databases_ = 0;
  double startup_ms_ = 0;
};

// One MariaDB per test process, started on first use.
inline mariadb_server& shared_mariadb() {
  static mariadb_server server;
  return server;
}

}  // namespace tokenauth::test
