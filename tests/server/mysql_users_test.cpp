// The MySQL/MariaDB user store against a real mariadbd (tests/support/mariadb_server.hpp): the
// user_store contract, the table as Sequelize made it, the Express app's existing rows logging in
// through the HTTP server, and a database that goes away and comes back. One server for the whole
// binary; each test case works in a database of its own.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "../support/mariadb_server.hpp"
#include "mysql_users.hpp"
#include "server_fixture.hpp"
#include "user_store_contract.hpp"

using namespace tokenauth_server;
using tokenauth::test::mariadb_server;
using tokenauth::test::shared_mariadb;

namespace {

mysql_settings options(const std::string& database, unsigned timeout = 2, std::size_t pool = 4) {
  mysql_settings o;
  o.port = static_cast<unsigned>(shared_mariadb().port());
  o.user = mariadb_server::user;
  o.password = mariadb_server::password;
  o.database = database;
  o.timeout = timeout;
  o.pool_size = pool;
  return o;
}

// The Express app's users, hashed once with node's bcryptjs at cost 12: 2.4.3 writes `$2a$`,
// 3.0.3 writes `$2b$` (`node -e "console.log(require('bcryptjs').hashSync(pw, 12))"`).
struct express_user {
  const char* email;
  const char* nick;
  const char* name;
  const char* password;
  const char* hash;
};
const express_user express_users[] = {
    {"ada@example.com", "ada", "Ada Lovelace", "correct horse battery",
     "$2a$12$QWCTCKLItFJVMYrWjcqf0.xwNhczS06EpGxuU/Q0Ot/BujJn.jWoe"},
    {"grace@example.com", "grace", "Grace Hopper", "p\xC3\xA4ssw\xC3\xB6rd \xE2\x9C\x93",
     "$2a$12$puXY8LTOcPrIZcI3/q.CY.yuE5HhWdjKukF8IpGv9N0HMSTyHhmdm"},
    {"linus@example.com", "linus", "Linus", "hunter2hunter2",
     "$2b$12$J8ZPnY2dsxluhUvWicQHtO2qcko0l4YYys27jb8A54CHfHCGrepdW"},
};

// Inserts the rows as the Express app (Sequelize) did: plain SQL, timestamps in UTC.
void insert_express_users(const std::string& database) {
  std::string sql = "INSERT INTO users (name, email, password, nick, createdAt, updatedAt) VALUES ";
  for (const auto& u : express_users)
    sql += std::string(&u == express_users ? "" : ", ") + "('" + u.name + "', '" + u.email +
           "', '" + u.hash + "', '" + u.nick + "', UTC_TIMESTAMP(), UTC_TIMESTAMP())";
  shared_mariadb().query(sql, database);
}

test_server::config server_config() {
  auto c = test_server::test_config();
  c.store_threads = 2;  // as the server does with MySQL users: reissuance off the I/O threads
  return c;
}

std::string one(const tokenauth::test::mysql_rows& rows) {
  REQUIRE(rows.size() == 1);
  REQUIRE(rows[0].size() == 1);
  return rows[0][0].value_or("NULL");
}

std::string connections(const std::string& database) {
  return one(shared_mariadb().query(
      "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'tokenauth' AND DB = '" +
      database + "'"));
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("MySQL user store contract", "[mysql]") {
  auto& db = shared_mariadb();
  if (!db.available()) return;
  contract::user_store_contract(
      [&] { return make_mysql_user_store(options(db.create_database())); });
}

TEST_CASE("a missing users table is created with the shape Sequelize gave it", "[mysql]") {
  auto& db = shared_mariadb();
  if (!db.available()) return;
  const std::string name = db.create_database();
  auto store = make_mysql_user_store(options(name));
  const auto columns = db.query(
      "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, EXTRA FROM information_schema.COLUMNS "
      "WHERE TABLE_SCHEMA = '" +
      name + "' AND TABLE_NAME = 'users' ORDER BY ORDINAL_POSITION");
  std::string shape;
  for (const auto& c : columns)
    shape += *c[0] + " " + *c[1] + " " + *c[2] + (c[3]->empty() ? "" : " " + *c[3]) + "; ";
  CHECK(shape ==
        "id int(11) NO auto_increment; name varchar(15) YES; email varchar(40) YES; "
        "password varchar(1000) YES; nick varchar(15) YES; createdAt datetime NO; "
        "updatedAt datetime NO; ");
  const auto unique = db.query(
      "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '" +
      name + "' AND TABLE_NAME = 'users' AND NON_UNIQUE = 0 ORDER BY INDEX_NAME");
  REQUIRE(unique.size() == 3);
  CHECK(*unique[0][1] == "email");
  CHECK(*unique[1][1] == "nick");
  CHECK(*unique[2][0] == "PRIMARY");
  const user_limits l = store->limits();
  CHECK(l.email == 40);
  CHECK(l.nick == 15);
  CHECK(l.name == 15);
}

TEST_CASE("an existing users table is used as found and never altered", "[mysql]") {
  auto& db = shared_mariadb();
  if (!db.available()) return;
  const std::string name = db.create_database();
  db.query(
      "CREATE TABLE users (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(30), "
      "email VARCHAR(60), password VARCHAR(100), nick VARCHAR(20), provider VARCHAR(10) DEFAULT "
      "'local', createdAt DATETIME NOT NULL, updatedAt DATETIME NOT NULL, deletedAt DATETIME, "
      "UNIQUE KEY users_email_unique (email), UNIQUE KEY users_nick_unique (nick))",
      name);
  const auto before = db.query("SHOW CREATE TABLE users", name);
  auto store = make_mysql_user_store(options(name));
  CHECK(db.query("SHOW CREATE TABLE users", name) == before);
  const user_limits l = store->limits();
  CHECK(l.email == 60);
  CHECK(l.nick == 20);
  CHECK(l.name == 30);
  // Its own index names still map duplicates to the right answer.
  user a = contract::make_user("a@example.com", "a");
  REQUIRE(*store->create(a) == create_status::created);
  user same_email = contract::make_user("A@example.com", "b");
  CHECK(*store->create(same_email) == create_status::email_taken);
  user same_nick = contract::make_user("b@example.com", "A");
  CHECK(*store->create(same_nick) == create_status::nick_taken);
  CHECK(one(db.query("SELECT COUNT(*) FROM users", name)) == "1");
}

TEST_CASE("tables the store cannot use are refused at start-up, with the reason", "[mysql]") {
  auto& db = shared_mariadb();
  if (!db.available()) return;
  const std::pair<const char*, const char*> cases[] = {
      {"CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(40) UNIQUE, "
       "password VARCHAR(100), nick VARCHAR(15) UNIQUE)",
       "lacks some of the columns"},
      {"CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(15), email "
       "VARCHAR(40) UNIQUE, password VARCHAR(40), nick VARCHAR(15) UNIQUE, createdAt DATETIME "
       "NOT NULL, updatedAt DATETIME NOT NULL)",
       "password holds 40 characters; bcrypt hashes need 60"},
      {"CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(15), email "
       "VARCHAR(40) UNIQUE, password VARCHAR(100), nick VARCHAR(15), createdAt DATETIME NOT "
       "NULL, updatedAt DATETIME NOT NULL, UNIQUE (nick, name))",
       "no UNIQUE index on nick"},
      {"CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, name INT, email VARCHAR(40) "
       "UNIQUE, password VARCHAR(100), nick VARCHAR(15) UNIQUE, createdAt DATETIME NOT NULL, "
       "updatedAt DATETIME NOT NULL)",
       "must be text columns"},
  };
  for (const auto& [create, why] : cases) {
    const std::string name = db.create_database();
    db.query(create, name);
    INFO(create);
    CHECK_THROWS_WITH(make_mysql_user_store(options(name)), Catch::Contains(why));
  }
}

TEST_CASE("a wrong password or a missing database fails start-up, never showing the password",
          "[mysql]") {
  auto& db = shared_mariadb();
  if (!db.available()) return;
  auto o = options(db.create_database());
  o.password = "not-the-password";
  CHECK_THROWS_WITH(make_mysql_user_store(o),
                    Catch::Contains("Access denied") && !Catch::Contains("not-the-password"));
  o = options("no_such_database");
  CHECK_THROWS_WITH(make_mysql_user_store(o), Catch::Contains("no_such_database"));
}

TEST_CASE("the Express app's users log in through the HTTP server", "[mysql][http]") {
  auto& db = shared_mariadb();
  if (!db.available()) return;
  const std::string name = db.create_database();
  auto users = make_mysql_user_store(options(name));
  insert_express_users(name);
  test_server::fixture f(test_server::make_store("memory"), server_config(), nullptr, users);

  for (const auto& u : express_users) {
    INFO(u.email << " " << std::string(u.hash, 4));
    const std::string id =
        one(db.query(std::string("SELECT id FROM users WHERE email = '") + u.email + "'", name));
    auto r = test_server::login(f, u.email, u.password);
    REQUIRE(r.status == 200);
    const std::string access = test_server::body_json(r)["data"]["accessToken"];
    auto me = test_server::body_json(test_server::get(f, "/getuser", access));
    CHECK(me["userId"] == id);
    CHECK(me["nick"] == u.nick);
    CHECK(me["name"] == u.name);
    // Reissuance without the old token looks the user up by id.
    auto again = test_server::reissue(f, std::nullopt, test_server::refresh_cookie(r));
    REQUIRE(again.status == 200);
    CHECK(test_server::body_json(again)["data"]["nick"] == u.nick);
    CHECK(test_server::body_json(again)["data"]["userId"] == id);

    auto wrong = test_server::login(f, u.email, std::string(u.password) + "x");
    CHECK(wrong.status == 401);
    CHECK(test_server::body_json(wrong)["message"] == "Invalid email or password");
  }
  // Email lookup ignores case, as MySQL's collation (and the Express app) did.
  CHECK(test_server::login(f, "ADA@example.com", express_users[0].password).status == 200);
}

TEST_CASE("join through HTTP: limits from the columns, timestamps filled, 409 for duplicates",
          "[mysql][http]") {
  auto& db = shared_mariadb();
  if (!db.available()) return;
  const std::string name = db.create_database();
  test_server::fixture f(test_server::make_store("memory"), server_config(), nullptr,
                         make_mysql_user_store(options(name)));
  const auto join = [&](const std::string& email, const std::string& nick,
                        const std::string& display) {
    nlohmann::json body{
        {"email", email}, {"nick", nick}, {"password", "correct horse"}, {"name", display}};
    return f.request("POST", "/auth/join", {{"Content-Type", "application/json"}}, body.dump());
  };
  const std::pair<test_http::reply, const char*> refused[] = {
      {join("a@example.com", std::string(16, 'n'), "Ada"), "nick must be 1 to 15 characters"},
      {join("a@example.com", "ada", std::string(16, 'x')), "name must be 1 to 15 characters"},
      {join(std::string(29, 'e') + "@example.com", "ada", "Ada"),
       "email must be 3 to 40 characters"},
  };
  for (const auto& [r, message] : refused) {
    CHECK(r.status == 400);
    CHECK(test_server::body_json(r)["message"] == message);
  }
  CHECK(one(db.query("SELECT COUNT(*) FROM users", name)) == "0");

  // Exactly at the limits, counted in characters.
  const std::string nick = contract::repeat("\xC3\xA9", 15),
                    email = std::string(28, 'e') + "@example.com";
  auto r = join(email, nick, "Ada");
  REQUIRE(r.status == 201);
  const std::string id = test_server::body_json(r)["data"]["userId"];
  const auto row = db.query(
      "SELECT nick, LEFT(password, 7), createdAt IS NOT NULL AND createdAt = updatedAt, "
      "ABS(TIMESTAMPDIFF(SECOND, createdAt, UTC_TIMESTAMP())) < 600 FROM users WHERE id = " +
          id,
      name);
  REQUIRE(row.size() == 1);
  CHECK(*row[0][0] == nick);
  CHECK(*row[0][1] == "$2b$04$");
  CHECK(*row[0][2] == "1");
  CHECK(*row[0][3] == "1");  // UTC, as Sequelize writes them

  auto dup_email = join(email.substr(0, 5) + "E" + email.substr(6), "other", "Bob");
  CHECK(dup_email.status == 409);
  CHECK(test_server::body_json(dup_email)["message"] == "Email already registered");
  auto dup_nick = join("b@example.com", contract::repeat("\xC3\x89", 15), "Bob");
  CHECK(dup_nick.status == 409);
  CHECK(test_server::body_json(dup_nick)["message"] == "Nick already taken");
  CHECK(one(db.query("SELECT COUNT(*) FROM users", name)) == "1");
  CHECK(test_server::login(f, email, "correct horse").status == 200);
}

TEST_CASE("a latin1 table: characters it cannot hold are a 400, the rest round-trip",
          "[mysql][http]") {
  auto& db = shared_mariadb();
  if (!db.available()) return;
  const std::string name = db.create_database();
  db.query(
      "CREATE TABLE users (id INTEGER NOT NULL auto_increment, name VARCHAR(15), email "
      "VARCHAR(40) UNIQUE, password VARCHAR(1000), nick VARCHAR(15) UNIQUE, createdAt DATETIME "
      "NOT NULL, updatedAt DATETIME NOT NULL, PRIMARY KEY (id)) DEFAULT CHARSET=latin1",
      name);
  test_server::fixture f(test_server::make_store("memory"), server_config(), nullptr,
                         make_mysql_user_store(options(name)));
  auto r = test_server::join(f, "kanji@example.com", "\xE6\x97\xA5\xE6\x9C\xAC");
  CHECK(r.status == 400);
  CHECK(test_server::body_json(r)["message"] ==
        "email, nick or name has characters the user database cannot store");
  r = test_server::join(f, "jose@example.com", "Jos\xC3\xA9");
  REQUIRE(r.status == 201);
  auto login = test_server::login(f, "jose@example.com");
  REQUIRE(login.status == 200);
  auto me = test_server::body_json(
      test_server::get(f, "/getuser", test_server::body_json(login)["data"]["accessToken"]));
  CHECK(me["nick"] == "Jos\xC3\xA9");
  CHECK(one(db.query("SELECT COUNT(*) FROM users", name)) == "1");
}

TEST_CASE("the pool never holds more connections than its size", "[mysql]") {
  auto& db = shared_mariadb();
  if (!db.available()) return;
  const std::string name = db.create_database();
  auto store = make_mysql_user_store(options(name, 5, 2));
  user u = contract::make_user("ada@example.com", "ada");
  REQUIRE(*store->create(u) == create_status::created);
  std::atomic<bool> done{false};
  std::atomic<int> failures{0}, found{0};
  std::vector<std::thread> callers;
  callers.reserve(8);
  for (int t = 0; t < 8; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto r = store->find_by_email("ada@example.com");
        if (r && *r)
          ++found;
        else
          ++failures;
      }
    });
  // Samples the server's count of the store's connections while the callers run (no Catch
  // assertions off the test's thread).
  int most = 0, failed_samples = 0;
  std::thread sampler([&] {
    const std::string sql =
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'tokenauth' AND DB = '" +
        name + "'";
    std::string error;
    while (!done) {
      auto rows = db.try_query(sql, {}, error);
      if (rows && rows->size() == 1 && (*rows)[0][0])
        most = std::max(most, std::stoi(*(*rows)[0][0]));
      else
        ++failed_samples;
    }
  });
  for (auto& t : callers) t.join();
  done = true;
  sampler.join();
  CHECK(failures == 0);
  CHECK(failed_samples == 0);
  CHECK(found == 400);
  CHECK(most >= 1);
  CHECK(most <= 2);
  CHECK(std::stoi(connections(name)) <= 2);
}

TEST_CASE("connections the server killed are replaced without an error", "[mysql]") {
  auto& db = shared_mariadb();
  if (!db.available()) return;
  const std::string name = db.create_database();
  auto store = make_mysql_user_store(options(name));
  user u = contract::make_user("ada@example.com", "ada");
  REQUIRE(*store->create(u) == create_status::created);
  const auto ids =
      db.query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'tokenauth' AND DB = '" +
               name + "'");
  REQUIRE_FALSE(ids.empty());
  for (const auto& id : ids) db.query("KILL CONNECTION " + *id[0]);
  for (int i = 0; i < 500 && connections(name) != "0"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(connections(name) == "0");
  auto found = store->find_by_id(u.id);
  REQUIRE(found);
  CHECK(*found);
  user v = contract::make_user("bob@example.com", "bob");
  auto created = store->create(v);
  REQUIRE(created);
  CHECK(*created == create_status::created);
}

TEST_CASE("database stopped, killed or paused: store_unavailable, and back: the same store works",
          "[mysql]") {
  auto& db = shared_mariadb();
  if (!db.available()) return;
  const std::string name = db.create_database();
  auto store = make_mysql_user_store(options(name, 1));
  user u = contract::make_user("ada@example.com", "ada");
  REQUIRE(*store->create(u) == create_status::created);
  const auto unavailable = [&](const char* what) {
    INFO(what);
    const auto t0 = std::chrono::steady_clock::now();
    auto found = store->find_by_email("ada@example.com");
    user v = contract::make_user("new@example.com", "new");
    auto created = store->create(v);
    std::printf("mysql store, database %s: lookup and create failed after %.0f ms\n", what,
                ms_since(t0));
    CHECK_FALSE(found);
    CHECK_FALSE(created);
    if (!found) CHECK(found.error() == tokenauth::errc::store_unavailable);
  };
  const auto works = [&](const char* what) {
    INFO(what);
    auto found = store->find_by_email("ada@example.com");
    REQUIRE(found);
    REQUIRE(*found);
    CHECK((*found)->id == u.id);
  };
  db.stop();
  unavailable("stopped");
  db.start();
  works("restarted after a stop");
  db.kill_now();
  unavailable("killed");
  db.start();
  works("restarted after a kill");
  db.pause();
  unavailable("paused");
  db.resume();
  works("resumed");
  CHECK(one(db.query("SELECT COUNT(*) FROM users", name)) ==
        "1");  // the failed creates left nothing
}
