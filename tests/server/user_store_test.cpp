// The user stores that need no server (memory, SQLite) under the user_store contract, and the
// user-store settings: mysql:// URLs, the Express app's DB_* names, the --users spec.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>

#include "config.hpp"
#include "mysql_users.hpp"
#include "stores.hpp"
#include "user_store_contract.hpp"

using namespace tokenauth_server;

namespace {

std::string temp_db_path() {
  static std::atomic<int> n{0};
  return "/tmp/tokenauth-user-store-test-" + std::to_string(::getpid()) + "-" +
         std::to_string(n++) + ".db";
}

// A SQLite file removed (with its WAL files) when the test ends.
struct temp_db {
  std::string path = temp_db_path();
  ~temp_db() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  }
};

config_outcome parse(const std::vector<std::string>& args,
                     std::map<std::string, std::string> env = {}) {
  env.emplace("JWT_SECRET", "0123456789abcdef0123456789abcdef");
  return parse_config(
      args,
      [env](const std::string& k) -> std::optional<std::string> {
        auto it = env.find(k);
        return it == env.end() ? std::nullopt : std::optional(it->second);
      },
      "");
}

bool has_note(const config& c, std::string_view text) {
  for (const auto& n : c.notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("memory user store contract", "[users]") {
  contract::user_store_contract([] { return make_memory_user_store(); });
}

TEST_CASE("SQLite user store contract", "[users]") {
  temp_db db;
  std::remove(db.path.c_str());
  contract::user_store_contract([&] {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db.path + suffix).c_str());
    return make_sqlite_user_store(db.path);
  });
}

TEST_CASE("memory and SQLite stores state the server's own limits", "[users]") {
  temp_db db;
  for (const auto& s : {make_memory_user_store(), make_sqlite_user_store(db.path)}) {
    const user_limits l = s->limits();
    CHECK(l.email == 254);
    CHECK(l.nick == 32);
    CHECK(l.name == 64);
  }
}

TEST_CASE("SQLite users survive reopening the file", "[users]") {
  temp_db db;
  user u = contract::make_user("ada@example.com", "ada");
  REQUIRE(*make_sqlite_user_store(db.path)->create(u) == create_status::created);
  auto found = make_sqlite_user_store(db.path)->find_by_id(u.id);
  REQUIRE(found);
  REQUIRE(*found);
  CHECK((*found)->email == "ada@example.com");
}

TEST_CASE("parse_user_id accepts plain positive decimals only", "[users]") {
  CHECK(parse_user_id("1") == 1);
  CHECK(parse_user_id("9223372036854775807") == 9223372036854775807LL);
  for (const char* bad : {"", "0", "01", "-1", "+1", " 1", "1 ", "1a", "9223372036854775808"})
    CHECK_FALSE(parse_user_id(bad));
}

TEST_CASE("mysql:// URLs: every part, %-decoded", "[users][config]") {
  std::string error;
  auto o = parse_mysql_url("mysql://app%40corp:p%40ss%3Aw%2Frd@db.internal:3307/my%20db", error);
  REQUIRE(o);
  CHECK(o->user == "app@corp");
  CHECK(o->password == "p@ss:w/rd");
  CHECK(o->host == "db.internal");
  CHECK(o->port == 3307);
  CHECK(o->database == "my db");
  CHECK(o->pool_size == 8);
  CHECK(o->timeout == 5);

  o = parse_mysql_url("mariadb://root@[::1]/app?pool=3&timeout=2", error);
  REQUIRE(o);
  CHECK(o->user == "root");
  CHECK(o->password.empty());
  CHECK(o->host == "::1");
  CHECK(o->port == 3306);
  CHECK(o->pool_size == 3);
  CHECK(o->timeout == 2);

  // An unencoded '@' in the password: the last '@' ends the user part.
  o = parse_mysql_url("mysql://u:a@b@host/db", error);
  REQUIRE(o);
  CHECK(o->password == "a@b");
  CHECK(o->host == "host");
}

TEST_CASE("mysql:// URLs round-trip through format_mysql_url", "[users][config]") {
  mysql_settings m;
  m.user = "ünïcode user";
  m.password = "p@ss:w/rd 100%?&#";
  m.host = "::1";
  m.port = 13306;
  m.database = "db/with?odd#chars";
  m.pool_size = 4;
  m.timeout = 9;
  std::string error;
  const std::string url = format_mysql_url(m);
  auto back = parse_mysql_url(url, error);
  INFO(url << " " << error);
  REQUIRE(back);
  CHECK(back->user == m.user);
  CHECK(back->password == m.password);
  CHECK(back->host == m.host);
  CHECK(back->port == m.port);
  CHECK(back->database == m.database);
  CHECK(back->pool_size == 4);
  CHECK(back->timeout == 9);
  CHECK(format_mysql_url(mysql_settings{}).find('?') == std::string::npos);  // defaults: no query
}

TEST_CASE("bad mysql:// URLs say what is wrong", "[users][config]") {
  const std::pair<const char*, const char*> cases[] = {
      {"mysql://host/db", "no user"},
      {"mysql://:pw@host/db", "no user"},
      {"mysql://u:pw@host", "no database"},
      {"mysql://u:pw@host/", "no database"},
      {"mysql://u:pw@/db", "no host"},
      {"mysql://u:pw@host:0/db", "port must be 1 to 65535"},
      {"mysql://u:pw@host:65536/db", "port must be 1 to 65535"},
      {"mysql://u:pw@host:/db", "empty port"},
      {"mysql://u:pw@host:x/db", "port must be"},
      {"mysql://u:pw@[::1/db", "unclosed"},
      {"mysql://u:p%zz@host/db", "%-escape"},
      {"mysql://u:p%4@host/db", "%-escape"},
      {"mysql://u:pw@host/d%", "%-escape"},
      {"mysql://u:pw@host/db?pool=0", "pool must be 1 to 256"},
      {"mysql://u:pw@host/db?timeout=0", "timeout must be 1 to 3600"},
      {"mysql://u:pw@host/db?ssl=1", "unknown URL parameter 'ssl'"},
      {"postgres://u:pw@host/db", "not a mysql"},
  };
  for (const auto& [url, why] : cases) {
    std::string error;
    INFO(url);
    CHECK_FALSE(parse_mysql_url(url, error));
    CHECK(error.find(why) != std::string::npos);
  }
}

TEST_CASE("users: memory, sqlite:PATH and mysql:// URLs are taken, the rest explained",
          "[users][config]") {
  auto o = parse({"--users", "mysql://app:secret@127.0.0.1:3306/legacy"});
  REQUIRE(o.cfg);
  CHECK(o.cfg->users == "mysql://app:secret@127.0.0.1:3306/legacy");
  CHECK(o.cfg->store_threads == 8);  // reissuance's user lookup must not run on the I/O threads
  CHECK(parse({"--users", "memory"}).cfg->users == "memory");
  CHECK(parse({}, {{"USERS_DB", "mariadb://app@db/legacy"}}).cfg->users ==
        "mariadb://app@db/legacy");

  o = parse({"--users", "mysql://app@host"});
  REQUIRE_FALSE(o.cfg);
  CHECK(o.exit_code == 2);
  CHECK(o.message.find("--users: the URL names no database") != std::string::npos);
  o = parse({"--users", "postgres://x"});
  REQUIRE_FALSE(o.cfg);
  CHECK(o.message.find("sqlite:PATH, mysql://USER:PASS@HOST:PORT/DB or memory") !=
        std::string::npos);
  o = parse({"--users", "mysql://app@host/db", "--store-threads", "0"});
  REQUIRE_FALSE(o.cfg);
  CHECK(o.message.find("I/O threads") != std::string::npos);
}

TEST_CASE("the Express app's DB_* settings select its MySQL database", "[users][config]") {
  auto o = parse(
      {}, {{"DB_USERNAME", "app"}, {"DB_PASSWORD", "p@ss/word"}, {"DB_DATABASE", "nodebird"}});
  REQUIRE(o.cfg);
  std::string error;
  auto m = parse_mysql_url(o.cfg->users, error);
  REQUIRE(m);
  CHECK(m->user == "app");
  CHECK(m->password == "p@ss/word");
  CHECK(m->host == "127.0.0.1");  // what the Express app assumed
  CHECK(m->port == 3306);
  CHECK(m->database == "nodebird");
  CHECK_FALSE(has_note(*o.cfg, "DB_"));
  // The banner shows the database but never the password.
  const std::string b = banner(*o.cfg, 8080, "memory");
  CHECK(b.find("users:         mysql://app:***@127.0.0.1:3306/nodebird") != std::string::npos);
  CHECK(b.find("p%40ss") == std::string::npos);

  o = parse({}, {{"DB_USERNAME", "app"},
                 {"DB_DATABASE", "nodebird"},
                 {"DB_HOST", "db.internal"},
                 {"DB_PORT", "3307"}});
  REQUIRE(o.cfg);
  m = parse_mysql_url(o.cfg->users, error);
  REQUIRE(m);
  CHECK(m->host == "db.internal");
  CHECK(m->port == 3307);
  CHECK(m->password.empty());

  o = parse({}, {{"DB_USERNAME", "app"}, {"DB_DATABASE", "nodebird"}, {"DB_PORT", "http"}});
  REQUIRE_FALSE(o.cfg);
  CHECK(o.message.find("DB_PORT must be a whole number from 1 to 65535") != std::string::npos);
  o = parse({}, {{"DB_DATABASE", "nodebird"}});
  REQUIRE_FALSE(o.cfg);
  CHECK(o.message.find("DB_USERNAME is not") != std::string::npos);
}

TEST_CASE("DB_* settings give way to --users, and are ignored without DB_DATABASE",
          "[users][config]") {
  auto o = parse({"--users", "sqlite:/tmp/u.db"}, {{"DB_USERNAME", "app"}, {"DB_DATABASE", "x"}});
  REQUIRE(o.cfg);
  CHECK(o.cfg->users == "sqlite:/tmp/u.db");
  CHECK(has_note(*o.cfg, "DB_* settings are ignored: --users/USERS_DB names the users"));
  o = parse({}, {{"DB_USERNAME", "app"}, {"DB_HOST", "db"}});
  REQUIRE(o.cfg);
  CHECK(o.cfg->users == "sqlite:./tokenauth-users.db");
  CHECK(has_note(*o.cfg, "DB_* settings are ignored without DB_DATABASE"));
}

TEST_CASE("make_user_store builds what the spec names, or says why not", "[users]") {
  temp_db db;
  CHECK(make_user_store("memory"));
  CHECK(make_user_store("sqlite:" + db.path));
  CHECK_THROWS_WITH(make_user_store("ldap://x"), Catch::Contains("unknown users 'ldap://x'"));
  CHECK_THROWS_WITH(make_user_store("mysql://app:secret@host"),
                    Catch::Contains("no database") && !Catch::Contains("secret"));
  if (!mysql_user_store_available())
    CHECK_THROWS_WITH(make_user_store("mysql://app:secret@127.0.0.1:1/db"),
                      Catch::Contains("built without MySQL support"));
  else  // nothing listens on port 1: the store reports it at start-up, password not included
    CHECK_THROWS_WITH(make_user_store("mysql://app:secret@127.0.0.1:1/db?timeout=1"),
                      Catch::Contains("cannot connect to MySQL at 127.0.0.1:1 as 'app'") &&
                          !Catch::Contains("secret"));
}
