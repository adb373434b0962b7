// The MySQL/MariaDB user store on MariaDB Connector/C (mysql_stmt_* prepared statements).
#include "mysql_users.hpp"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace tokenauth_server {
namespace {

using tokenauth::errc;

struct mysql_closer {
  void operator()(MYSQL* m) const noexcept { mysql_close(m); }
};
struct stmt_closer {
  void operator()(MYSQL_STMT* s) const noexcept { mysql_stmt_close(s); }
};
struct result_freer {
  void operator()(MYSQL_RES* r) const noexcept { mysql_free_result(r); }
};
using mysql_ptr = std::unique_ptr<MYSQL, mysql_closer>;
using stmt_ptr = std::unique_ptr<MYSQL_STMT, stmt_closer>;
using result_ptr = std::unique_ptr<MYSQL_RES, result_freer>;

// The table as the Express app's Sequelize model created it (sequelize.sync()).
constexpr const char* create_table_sql =
    "CREATE TABLE IF NOT EXISTS `users` ("
    "`id` INTEGER NOT NULL auto_increment, `name` VARCHAR(15), `email` VARCHAR(40) UNIQUE, "
    "`password` VARCHAR(1000), `nick` VARCHAR(15) UNIQUE, `createdAt` DATETIME NOT NULL, "
    "`updatedAt` DATETIME NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB";

// Sequelize writes timestamps in UTC; so does join.
constexpr const char* insert_sql =
    "INSERT INTO `users` (`name`, `email`, `password`, `nick`, `createdAt`, `updatedAt`) "
    "VALUES (?, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())";
constexpr const char* by_email_sql =
    "SELECT `id`, `email`, `nick`, `name`, `password` FROM `users` WHERE `email` = ? "
    "ORDER BY `id` LIMIT 1";
constexpr const char* by_id_sql =
    "SELECT `id`, `email`, `nick`, `name`, `password` FROM `users` WHERE `id` = ?";

// Strict mode on every connection: a value the column cannot hold is an error, never silently
// truncated or replaced by '?'.
constexpr const char* session_sql =
    "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES')";

std::string fold(std::string_view s) {  // ASCII lower case: MySQL identifiers ignore case
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

MYSQL_BIND string_param(std::string_view s) {
  MYSQL_BIND b{};
  b.buffer_type = MYSQL_TYPE_STRING;
  b.buffer = const_cast<char*>(s.data());  // read only: the API has one struct for in and out
  b.buffer_length = static_cast<unsigned long>(s.size());
  return b;
}

// An idle pooled connection the server has closed (restart, KILL, wait_timeout) shows EOF or an
// error without blocking; a live one has nothing to read.
bool still_open(MYSQL* m) {
  char b;
  const ssize_t n = recv(mysql_get_socket(m), &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// Errors of one statement on a healthy connection; anything else drops the connection.
bool statement_error(unsigned code) {
  return code == ER_DUP_ENTRY || code == ER_TRUNCATED_WRONG_VALUE_FOR_FIELD ||
         code == ER_DATA_TOO_LONG;
}

// The index name of "Duplicate entry '...' for key 'NAME'" (MySQL 8 says 'users.NAME').
std::string duplicate_key(std::string_view message) {
  const std::size_t close = message.rfind('\'');
  if (close == std::string_view::npos || close == 0) return {};
  const std::size_t open = message.rfind('\'', close - 1);
  if (open == std::string_view::npos) return {};
  std::string_view key = message.substr(open + 1, close - open - 1);
  if (key.substr(0, 6) == "users.") key.remove_prefix(6);
  return fold(key);
}

struct connection {
  mysql_ptr db;  // first member: destroyed last, after its statements
  stmt_ptr insert, by_email, by_id;
};

class mysql_user_store final : public user_store {
 public:
  explicit mysql_user_store(mysql_settings o) : opt_(std::move(o)) {
    static std::once_flag library;
    std::call_once(library, [] { mysql_library_init(0, nullptr, nullptr); });
    if (opt_.pool_size == 0) opt_.pool_size = 1;
    std::string error;
    mysql_ptr db = connect(error);
    if (!db) throw std::runtime_error(error);
    inspect_table(db.get());
    auto c = prepare(std::move(db), error);
    if (!c) throw std::runtime_error(error);
    idle_.push_back(std::move(c));
    open_ = 1;
  }

  tokenauth::result<create_status> create(user& u) override {
    lease conn(*this);
    if (!conn) return errc::store_unavailable;
    MYSQL_STMT* s = conn->insert.get();
    MYSQL_BIND params[] = {string_param(u.name), string_param(u.email),
                           string_param(u.password_hash), string_param(u.nick)};
    if (mysql_stmt_bind_param(s, params) == 0 && mysql_stmt_execute(s) == 0) {
      u.id = std::to_string(mysql_stmt_insert_id(s));
      return create_status::created;
    }
    const unsigned code = mysql_stmt_errno(s);
    if (!statement_error(code)) {
      conn.discard();
      return errc::store_unavailable;
    }
    if (code != ER_DUP_ENTRY) return create_status::unstorable;
    const std::string key = duplicate_key(mysql_stmt_error(s));
    if (is_one_of(key, email_indexes_)) return create_status::email_taken;
    if (!is_one_of(key, nick_indexes_)) return errc::store_unavailable;
    // The nick index refused the row; the email may be taken too, and then that is the answer.
    auto email_owner = find(conn, conn->by_email.get(), string_param(u.email));
    if (!email_owner) return email_owner.error();
    return *email_owner ? create_status::email_taken : create_status::nick_taken;
  }

  tokenauth::result<std::optional<user>> find_by_email(std::string_view email) override {
    lease conn(*this);
    if (!conn) return errc::store_unavailable;
    return find(conn, conn->by_email.get(), string_param(email));
  }

  tokenauth::result<std::optional<user>> find_by_id(std::string_view id) override {
    auto row = parse_user_id(id);
    if (!row) return std::optional<user>();
    lease conn(*this);
    if (!conn) return errc::store_unavailable;
    MYSQL_BIND param{};
    param.buffer_type = MYSQL_TYPE_LONGLONG;
    param.buffer = &*row;
    return find(conn, conn->by_id.get(), param);
  }

  user_limits limits() const override { return limits_; }
  std::string_view name() const noexcept override { return "mysql"; }

 private:
  // A connection lent to one call; false when the pool stayed exhausted for the timeout or the
  // database could not be reached.
  class lease {
   public:
    explicit lease(mysql_user_store& p) : p_(p), c_(p.acquire()) {}
    ~lease() { p_.release(std::move(c_)); }
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    explicit operator bool() const { return c_ != nullptr; }
    connection* operator->() const { return c_.get(); }
    void discard() { c_.reset(); }  // broken: the pool opens a fresh one next time

   private:
    mysql_user_store& p_;
    std::unique_ptr<connection> c_;
  };

  std::unique_ptr<connection> acquire() {
    {
      std::unique_lock lock(mutex_);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(opt_.timeout);
      if (!freed_.wait_until(lock, deadline,
                             [&] { return !idle_.empty() || open_ < opt_.pool_size; }))
        return nullptr;
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        lock.unlock();
        if (still_open(c->db.get())) return c;
      } else {
        ++open_;
      }
    }
    // The slot counted in open_ is ours; a failed connect gives it back in release().
    std::string error;
    mysql_ptr db = connect(error);
    return db ? prepare(std::move(db), error) : nullptr;
  }

  void release(std::unique_ptr<connection> c) {
    {
      std::lock_guard lock(mutex_);
      if (c)
        idle_.push_back(std::move(c));
      else
        --open_;
    }
    freed_.notify_one();
  }

  mysql_ptr connect(std::string& error) const {
    mysql_ptr db(mysql_init(nullptr));
    if (!db) {
      error = "MySQL client: out of memory";
      return nullptr;
    }
    const unsigned timeout = opt_.timeout;
    const unsigned protocol = MYSQL_PROTOCOL_TCP;  // "localhost" too, as the Express app did
    mysql_optionsv(db.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(db.get(), MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_optionsv(db.get(), MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    mysql_optionsv(db.get(), MYSQL_OPT_PROTOCOL, &protocol);
    mysql_optionsv(db.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_optionsv(db.get(), MYSQL_INIT_COMMAND, session_sql);
    if (!mysql_real_connect(db.get(), opt_.host.c_str(), opt_.user.c_str(), opt_.password.c_str(),
                            opt_.database.c_str(), opt_.port, nullptr, 0)) {
      error = "cannot connect to MySQL at " + opt_.host + ":" + std::to_string(opt_.port) +
              " as '" + opt_.user + "': " + mysql_error(db.get());
      return nullptr;
    }
    return db;
  }

  static std::unique_ptr<connection> prepare(mysql_ptr db, std::string& error) {
    auto c = std::make_unique<connection>();
    c->db = std::move(db);
    for (auto [stmt, sql] :
         {std::pair{&c->insert, insert_sql}, std::pair{&c->by_email, by_email_sql},
          std::pair{&c->by_id, by_id_sql}}) {
      stmt->reset(mysql_stmt_init(c->db.get()));
      if (!*stmt ||
          mysql_stmt_prepare(stmt->get(), sql,
                             static_cast<unsigned long>(std::char_traits<char>::length(sql)))) {
        error = std::string("cannot prepare the users queries: ") + mysql_error(c->db.get());
        return nullptr;
      }
    }
    return c;
  }

  // Runs a prepared SELECT of one user with one parameter.
  static tokenauth::result<std::optional<user>> find(lease& conn, MYSQL_STMT* s, MYSQL_BIND param) {
    auto found = fetch_user(s, param);
    if (!found) conn.discard();
    return found;
  }

  static tokenauth::result<std::optional<user>> fetch_user(MYSQL_STMT* s, MYSQL_BIND& param) {
    if (mysql_stmt_bind_param(s, &param) || mysql_stmt_execute(s) || mysql_stmt_store_result(s))
      return errc::store_unavailable;
    struct free_result {
      MYSQL_STMT* s;
      ~free_result() { mysql_stmt_free_result(s); }
    } guard{s};
    // No buffers for the text columns: fetch reports their lengths, fetch_column copies them.
    long long id = 0;
    MYSQL_BIND out[5]{};
    unsigned long length[5]{};
    my_bool is_null[5]{};
    for (int i = 0; i < 5; ++i) {
      out[i].buffer_type = MYSQL_TYPE_STRING;
      out[i].length = &length[i];
      out[i].is_null = &is_null[i];
    }
    out[0].buffer_type = MYSQL_TYPE_LONGLONG;
    out[0].buffer = &id;
    if (mysql_stmt_bind_result(s, out)) return errc::store_unavailable;
    const int rc = mysql_stmt_fetch(s);
    if (rc == MYSQL_NO_DATA) return std::optional<user>();
    if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) return errc::store_unavailable;
    user u;
    u.id = std::to_string(id);
    std::string* text[5] = {nullptr, &u.email, &u.nick, &u.name, &u.password_hash};
    for (unsigned i = 1; i < 5; ++i) {
      if (is_null[i] || length[i] == 0) continue;  // NULL columns read as empty
      text[i]->resize(length[i]);
      MYSQL_BIND col{};
      col.buffer_type = MYSQL_TYPE_STRING;
      col.buffer = text[i]->data();
      col.buffer_length = length[i];
      if (mysql_stmt_fetch_column(s, &col, i, 0)) return errc::store_unavailable;
    }
    return std::optional<user>(std::move(u));
  }

  // Creates the table when there is none, then learns its column lengths and unique indexes.
  void inspect_table(MYSQL* db) {
    auto columns = query(db,
                         "SELECT COLUMN_NAME, CHARACTER_MAXIMUM_LENGTH FROM "
                         "information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND "
                         "TABLE_NAME = 'users'");
    if (columns.empty()) {
      query(db, create_table_sql);
      columns = query(db,
                      "SELECT COLUMN_NAME, CHARACTER_MAXIMUM_LENGTH FROM "
                      "information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND "
                      "TABLE_NAME = 'users'");
    }
    std::optional<std::size_t> email, nick, name, password;
    std::size_t found = 0;
    for (const auto& row : columns) {
      const std::string column = fold(row[0].value_or(""));
      const std::optional<std::size_t> length =
          row[1] ? std::optional<std::size_t>(std::stoull(*row[1])) : std::nullopt;
      if (column == "email") email = length;
      if (column == "nick") nick = length;
      if (column == "name") name = length;
      if (column == "password") password = length;
      for (const char* required :
           {"id", "email", "nick", "name", "password", "createdat", "updatedat"})
        found += column == required;
    }
    if (found != 7)
      throw std::runtime_error(
          "table `users` lacks some of the columns id, name, email, password, nick, createdAt, "
          "updatedAt");
    if (!email || !nick || !name || !password)
      throw std::runtime_error(
          "table `users`: email, nick, name and password must be text columns");
    if (*password < 60)
      throw std::runtime_error("table `users`: password holds " + std::to_string(*password) +
                               " characters; bcrypt hashes need 60");
    limits_ = {*email, *nick, *name};

    // Unique indexes of exactly one column: the ones that refuse a second email or nick.
    auto indexes = query(db,
                         "SELECT INDEX_NAME, MIN(COLUMN_NAME) FROM information_schema.STATISTICS "
                         "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' AND "
                         "NON_UNIQUE = 0 GROUP BY INDEX_NAME HAVING COUNT(*) = 1");
    for (const auto& row : indexes) {
      const std::string column = fold(row[1].value_or(""));
      if (column == "email") email_indexes_.push_back(fold(row[0].value_or("")));
      if (column == "nick") nick_indexes_.push_back(fold(row[0].value_or("")));
    }
    for (auto [list, column] :
         {std::pair{&email_indexes_, "email"}, std::pair{&nick_indexes_, "nick"}})
      if (list->empty())
        throw std::runtime_error(std::string("table `users` has no UNIQUE index on ") + column +
                                 ", so two sign-ups could share one; add it with ALTER TABLE "
                                 "users ADD UNIQUE (" +
                                 column + ")");
  }

  // A statement without parameters, for start-up only; throws with the server's message.
  static std::vector<std::vector<std::optional<std::string>>> query(MYSQL* db, const char* sql) {
    if (mysql_query(db, sql))
      throw std::runtime_error(std::string("users table: ") + mysql_error(db));
    std::vector<std::vector<std::optional<std::string>>> rows;
    result_ptr res(mysql_store_result(db));
    if (!res) {
      if (mysql_field_count(db) == 0) return rows;  // no result set (CREATE)
      throw std::runtime_error(std::string("users table: ") + mysql_error(db));
    }
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

  static bool is_one_of(const std::string& key, const std::vector<std::string>& names) {
    for (const auto& n : names)
      if (n == key) return true;
    return false;
  }

  mysql_settings opt_;
  user_limits limits_;
  std::vector<std::string> email_indexes_, nick_indexes_;  // folded index names

  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<connection>> idle_;
  std::size_t open_ = 0;  // connections idle or lent out (or being connected)
};

}  // namespace

bool mysql_user_store_available() {
  return true;
}

std::shared_ptr<user_store> make_mysql_user_store(const mysql_settings& options) {
  return std::make_shared<mysql_user_store>(options);
}

}  // namespace tokenauth_server
