// The SQLite user store: one connection, prepared statements, a mutex.
#include <sqlite3.h>

#include <ctime>
#include <mutex>
#include <stdexcept>

#include "users.hpp"

namespace tokenauth_server {
namespace {

using tokenauth::errc;

struct db_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

// Resets a reused statement when the scope ends, whatever happened.
struct stmt_reset {
  sqlite3_stmt* s;
  ~stmt_reset() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

std::string text_column(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}

std::string utc_now() {  // the DATETIME text form: YYYY-MM-DD HH:MM:SS
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

class sqlite_user_store final : public user_store {
 public:
  explicit sqlite_user_store(const std::string& path) {
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK)
      throw std::runtime_error("cannot open users database '" + path +
                               "': " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
    sqlite3_busy_timeout(db_.get(), 2000);
    exec("PRAGMA journal_mode=WAL");
    exec(
        "CREATE TABLE IF NOT EXISTS users ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " name VARCHAR(255) NOT NULL,"
        " email VARCHAR(255) NOT NULL UNIQUE COLLATE NOCASE,"
        " password VARCHAR(255) NOT NULL,"
        " nick VARCHAR(255) NOT NULL UNIQUE COLLATE NOCASE,"
        " createdAt DATETIME NOT NULL,"
        " updatedAt DATETIME NOT NULL)");
    insert_ = prepare(
        "INSERT INTO users (name, email, password, nick, createdAt, updatedAt) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    by_email_ = prepare("SELECT id, email, nick, name, password FROM users WHERE email = ?");
    by_id_ = prepare("SELECT id, email, nick, name, password FROM users WHERE id = ?");
    taken_ = prepare(
        "SELECT EXISTS(SELECT 1 FROM users WHERE email = ?), "
        "EXISTS(SELECT 1 FROM users WHERE nick = ?)");
  }

  tokenauth::result<create_status> create(user& u) override {
    std::lock_guard lock(mutex_);
    {  // Which constraint would fail; the UNIQUE indexes still decide races with other processes.
      stmt_reset r{taken_.get()};
      bind(taken_.get(), 1, u.email);
      bind(taken_.get(), 2, u.nick);
      if (sqlite3_step(taken_.get()) != SQLITE_ROW) return errc::store_unavailable;
      if (sqlite3_column_int(taken_.get(), 0)) return create_status::email_taken;
      if (sqlite3_column_int(taken_.get(), 1)) return create_status::nick_taken;
    }
    stmt_reset r{insert_.get()};
    const std::string now = utc_now();
    bind(insert_.get(), 1, u.name);
    bind(insert_.get(), 2, u.email);
    bind(insert_.get(), 3, u.password_hash);
    bind(insert_.get(), 4, u.nick);
    bind(insert_.get(), 5, now);
    bind(insert_.get(), 6, now);
    int rc = sqlite3_step(insert_.get());
    if (rc == SQLITE_CONSTRAINT) {
      std::string_view msg = sqlite3_errmsg(db_.get());
      return msg.find("nick") != std::string_view::npos ? create_status::nick_taken
                                                        : create_status::email_taken;
    }
    if (rc != SQLITE_DONE) return errc::store_unavailable;
    u.id = std::to_string(sqlite3_last_insert_rowid(db_.get()));
    return create_status::created;
  }

  tokenauth::result<std::optional<user>> find_by_email(std::string_view email) override {
    std::lock_guard lock(mutex_);
    bind(by_email_.get(), 1, email);
    return fetch(by_email_.get());
  }

  tokenauth::result<std::optional<user>> find_by_id(std::string_view id) override {
    const auto row = parse_user_id(id);
    if (!row) return std::optional<user>();
    std::lock_guard lock(mutex_);
    sqlite3_bind_int64(by_id_.get(), 1, *row);
    return fetch(by_id_.get());
  }

  // SQLite does not enforce VARCHAR lengths: the server's own limits apply.
  user_limits limits() const override { return default_user_limits; }
  std::string_view name() const noexcept override { return "sqlite"; }

 private:
  void exec(const char* sql) {
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("users database: ") + sqlite3_errmsg(db_.get()));
  }

  stmt_ptr prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("users database: ") + sqlite3_errmsg(db_.get()));
    return stmt_ptr(s);
  }

  static void bind(sqlite3_stmt* s, int i, std::string_view v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }

  static tokenauth::result<std::optional<user>> fetch(sqlite3_stmt* s) {
    stmt_reset r{s};
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<user>();
    if (rc != SQLITE_ROW) return errc::store_unavailable;
    user u;
    u.id = std::to_string(sqlite3_column_int64(s, 0));
    u.email = text_column(s, 1);
    u.nick = text_column(s, 2);
    u.name = text_column(s, 3);
    u.password_hash = text_column(s, 4);
    return std::optional<user>(std::move(u));
  }

  std::mutex mutex_;
  db_ptr db_;
  stmt_ptr insert_, by_email_, by_id_, taken_;
};

}  // namespace

std::shared_ptr<user_store> make_sqlite_user_store(const std::string& path) {
  return std::make_shared<sqlite_user_store>(path);
}

}  // namespace tokenauth_server
