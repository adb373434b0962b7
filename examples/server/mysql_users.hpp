// The MySQL/MariaDB user store: reads and writes the `users` table of the original app in place,
// through MariaDB Connector/C. A bounded pool of connections, each with its prepared statements;
// connect/read/write timeouts; a connection that fails is dropped and the next call opens a fresh
// one, so the store recovers by itself after the database restarts. Every call blocks: run it off
// the I/O threads. See docs/server.md and docs/migration.md.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "users.hpp"

namespace tokenauth_server {

struct mysql_settings {
  std::string host = "127.0.0.1";
  unsigned port = 3306;
  std::string user;
  std::string password;
  std::string database;
  std::size_t pool_size = 8;  // connections at most; callers beyond it wait up to the timeout
  unsigned timeout = 5;  // seconds: connect, each read and write, and the wait for a connection
};

// mysql://USER[:PASS]@HOST[:PORT]/DB[?pool=N&timeout=SECONDS] (or mariadb://...). USER, PASS and
// DB may be %-encoded; [::1] names an IPv6 host. On error: nullopt, with `error` saying why.
std::optional<mysql_settings> parse_mysql_url(std::string_view url, std::string& error);

// The URL for o (%-encoding what needs it); parse_mysql_url reads it back unchanged.
std::string format_mysql_url(const mysql_settings& o);

// True for a mysql:// or mariadb:// spec.
bool is_mysql_url(std::string_view spec);

// True when this build has the MySQL user store (CMake TOKENAUTH_SERVER_WITH_MYSQL).
bool mysql_user_store_available();

// Connects, creates the `users` table as Sequelize made it when there is none (an existing table
// is never altered), and reads the column lengths and unique indexes it finds. Throws
// std::runtime_error when the database cannot be reached, the table cannot be used, or this build
// lacks MySQL support.
std::shared_ptr<user_store> make_mysql_user_store(const mysql_settings& options);

}  // namespace tokenauth_server
