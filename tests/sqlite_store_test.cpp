// sqlite_store against the shared store contract, plus what only a file database has:
// several connections and processes on one file, schema versioning, reopening.
#include "tokenauth/sqlite_store.hpp"

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "support/process.hpp"

namespace {

// A fresh directory, removed with everything in it.
struct sqlite_dir : tokenauth::test::temp_dir {
  sqlite_dir() : tokenauth::test::temp_dir("tokenauth-sqlite") {}
};

struct sqlite_fixture {
  sqlite_dir dir;
  std::shared_ptr<tokenauth::sqlite_store> first =
      std::make_shared<tokenauth::sqlite_store>(dir / "refresh.db");
  bool ready() const { return true; }
  std::shared_ptr<tokenauth::refresh_store> store() const { return first; }
  // A second connection to the same file: the contract's concurrency cases use both.
  std::shared_ptr<tokenauth::refresh_store> second_handle() const {
    return std::make_shared<tokenauth::sqlite_store>(dir / "refresh.db");
  }
  std::uint64_t work() const { return first->vm_steps(); }
  std::size_t history_size() const { return 4'000; }  // 2.5 calls each: seconds
};

}  // namespace

#define TOKENAUTH_CONTRACT_FIXTURE sqlite_fixture
#include "store_contract.hpp"

using namespace tokenauth;

TEST_CASE("sqlite_store: a second connection sees sessions written by the first") {
  sqlite_dir dir;
  contract::manual_clock clock;
  const refresh_service a(std::make_shared<sqlite_store>(dir / "x.db"), contract::options(clock));
  const refresh_service b(std::make_shared<sqlite_store>(dir / "x.db"), contract::options(clock));
  auto t = a.issue("alice");
  REQUIRE(t);
  auto s = b.sessions("alice");
  REQUIRE(s);
  REQUIRE(s->size() == 1);
  CHECK((*s)[0].family_id == t->family_id);
  clock.advance(10);
  const std::string t2 = contract::must_rotate(b, t->token);
  clock.advance(10);
  CHECK(contract::rotate_error(a, t->token) == errc::refresh_reuse_detected);
  CHECK(contract::rotate_error(b, t2) == errc::refresh_family_revoked);
}

TEST_CASE("sqlite_store: a second process on the same file stays consistent") {
  sqlite_dir dir;
  const std::string db = (dir / "x.db");
  contract::manual_clock clock;
  const refresh_service parent(std::make_shared<sqlite_store>(db), contract::options(clock, 0));
  const std::string token = contract::must_issue(parent, "alice");
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // child: its own connection; rotates the token once and logs in once more
    int code = 1;
    try {
      const refresh_service child(std::make_shared<sqlite_store>(db), contract::options(clock, 0));
      auto r = child.rotate(token);
      code = r && r->token && r->user_id == "alice" && child.issue("alice") ? 0 : 2;
    } catch (...) {
      code = 3;
    }
    _exit(code);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  // The child's rotation is visible here: the token is used up, and two sessions exist.
  CHECK(contract::rotate_error(parent, token) == errc::refresh_reuse_detected);
  auto s = parent.sessions("alice");
  REQUIRE(s);
  CHECK(s->size() == 1);  // the reused family is revoked; the child's second login remains
}

TEST_CASE("sqlite_store: data survive reopening, the schema is versioned") {
  sqlite_dir dir;
  const std::string db = (dir / "x.db");
  contract::manual_clock clock;
  std::string token;
  {
    const refresh_service svc(std::make_shared<sqlite_store>(db), contract::options(clock));
    token = contract::must_issue(svc, "alice");
  }
  {
    const refresh_service svc(std::make_shared<sqlite_store>(db), contract::options(clock));
    CHECK(contract::must_rotate(svc, token) != token);
  }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> conn(raw, sqlite3_close);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(st, sqlite3_finalize);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(sqlite3_column_int(st, 0) == sqlite_store::schema_version);
  stmt.reset();
  // The token itself is never stored: no row holds its text.
  sqlite3_stmt* q = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw, "SELECT count(*) FROM tokens WHERE CAST(digest AS TEXT) = ?1", -1,
                             &q, nullptr) == SQLITE_OK);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> query(q, sqlite3_finalize);
  sqlite3_bind_text(q, 1, token.data(), static_cast<int>(token.size()), SQLITE_STATIC);
  REQUIRE(sqlite3_step(q) == SQLITE_ROW);
  CHECK(sqlite3_column_int(q, 0) == 0);
  query.reset();
  REQUIRE(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr) == SQLITE_OK);
  conn.reset();
  CHECK_THROWS_AS(sqlite_store(db), std::system_error);
}

TEST_CASE("sqlite_store: a file that cannot be opened, or is not a database, throws") {
  sqlite_dir dir;
  CHECK_THROWS_AS(sqlite_store(dir / "no/such/dir/x.db"), std::system_error);
  std::ofstream(dir / "junk.db") << std::string(4096, 'j');
  CHECK_THROWS_AS(sqlite_store(dir / "junk.db"), std::system_error);
  try {
    sqlite_store s(dir / "junk.db");
  } catch (const std::system_error& e) {
    CHECK(e.code() == errc::store_unavailable);
  }
}

TEST_CASE("sqlite_store: a locked database is store_unavailable, then works again") {
  sqlite_dir dir;
  const std::string db = (dir / "x.db");
  contract::manual_clock clock;
  const refresh_service svc(std::make_shared<sqlite_store>(db, std::chrono::milliseconds(50)),
                            contract::options(clock));
  const std::string token = contract::must_issue(svc, "alice");
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> other(raw, sqlite3_close);
  REQUIRE(sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(svc.rotate(token).error() == errc::store_unavailable);
  CHECK(svc.issue("bob").error() == errc::store_unavailable);
  CHECK(svc.revoke_user("alice") == errc::store_unavailable);
  REQUIRE(sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(contract::must_rotate(svc, token) != token);  // nothing was half-applied
}

TEST_CASE("sqlite_store: rows of ended families are deleted once their retention is over") {
  sqlite_dir dir;
  const std::string db = (dir / "x.db");
  contract::manual_clock clock;
  refresh_options o = contract::options(clock);
  o.token_ttl = 100;
  const refresh_service svc(std::make_shared<sqlite_store>(db), o);
  const std::string old = contract::must_rotate(svc, contract::must_issue(svc, "alice"));
  REQUIRE_FALSE(svc.revoke_family(svc.issue("bob")->family_id));
  const auto count = [&](const char* table) {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> conn(raw, sqlite3_close);
    sqlite3_stmt* st = nullptr;
    const std::string sql = std::string("SELECT count(*) FROM ") + table;
    REQUIRE(sqlite3_prepare_v2(raw, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(st, sqlite3_finalize);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    return sqlite3_column_int(st, 0);
  };
  CHECK(count("families") == 2);
  CHECK(count("tokens") == 3);
  // Alice's family ended at +100 and is kept until +100 + retention; Bob's was revoked at +0
  // and is kept until +retention.
  clock.advance(100 + expired_record_retention - 1);
  CHECK(contract::rotate_error(svc, old) == errc::refresh_token_expired);
  REQUIRE(svc.issue("carol"));
  CHECK(count("families") == 2);  // alice, carol
  CHECK(count("tokens") == 3);
  clock.advance(1);  // retention over: the next write sweeps both, tokens with them
  REQUIRE(svc.issue("carol"));
  CHECK(count("families") == 2);
  CHECK(count("tokens") == 2);
  CHECK(contract::rotate_error(svc, old) == errc::refresh_token_unknown);
}

TEST_CASE("sqlite_store: the sweep deletes a bounded batch per call, and catches up") {
  sqlite_dir dir;
  const std::string db = (dir / "x.db");
  contract::manual_clock clock;
  refresh_options o = contract::options(clock);
  o.token_ttl = 10;
  const refresh_service svc(std::make_shared<sqlite_store>(db), o);
  for (int i = 0; i < 200; ++i) REQUIRE(svc.issue("user" + std::to_string(i)));
  clock.advance(10 + expired_record_retention);  // all 200 purgeable now
  const auto families = [&] {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> conn(raw, sqlite3_close);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw, "SELECT count(*) FROM families", -1, &st, nullptr) ==
            SQLITE_OK);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(st, sqlite3_finalize);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    return sqlite3_column_int(st, 0);
  };
  REQUIRE(svc.issue("late"));
  CHECK(families() == 200 - 64 + 1);
  for (int i = 0; i < 3; ++i) REQUIRE(svc.issue("late"));
  CHECK(families() == 4);
}

TEST_CASE(
    "sqlite_store: a version 1 file is upgraded, its sessions keep working and can be revoked") {
  sqlite_dir dir;
  const std::string db = (dir / "v1.db");
  contract::manual_clock clock;
  // A session as version 1 stored it: no seq, no users row.
  const std::string family = detail::user_tag("alice") + std::string(24, 'A');
  const std::string token = "rt1." + family + "." + std::string(43, 'B').replace(42, 1, "A");
  REQUIRE(detail::token_family(token));
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> conn(raw, sqlite3_close);
    REQUIRE(sqlite3_exec(raw, R"sql(
      CREATE TABLE families(id TEXT PRIMARY KEY, user_id BLOB NOT NULL, created INTEGER NOT NULL,
        last_used INTEGER NOT NULL, expires_at INTEGER NOT NULL, token_expires_at INTEGER NOT NULL,
        rotated_at INTEGER NOT NULL, generation INTEGER NOT NULL, revoked INTEGER NOT NULL,
        purge_at INTEGER NOT NULL);
      CREATE INDEX families_user ON families(user_id);
      CREATE INDEX families_purge ON families(purge_at);
      CREATE TABLE tokens(digest BLOB PRIMARY KEY,
        family_id TEXT NOT NULL REFERENCES families(id) ON DELETE CASCADE,
        generation INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX tokens_family ON tokens(family_id);
      PRAGMA user_version = 1;)sql",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw,
                               "INSERT INTO families VALUES(?1, CAST('alice' AS BLOB), ?2, ?2, "
                               "?2 + 5000, ?2 + 1000, 0, 0, 0, ?2 + 1000 + 86400)",
                               -1, &st, nullptr) == SQLITE_OK);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> insert(st, sqlite3_finalize);
    sqlite3_bind_text(st, 1, family.data(), static_cast<int>(family.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, clock.get());
    REQUIRE(sqlite3_step(st) == SQLITE_DONE);
    const token_digest d = detail::sha256(token);
    REQUIRE(sqlite3_prepare_v2(raw, "INSERT INTO tokens VALUES(?1, ?2, 0)", -1, &st, nullptr) ==
            SQLITE_OK);
    insert.reset(st);
    sqlite3_bind_blob(st, 1, d.data(), static_cast<int>(d.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, 2, family.data(), static_cast<int>(family.size()), SQLITE_STATIC);
    REQUIRE(sqlite3_step(st) == SQLITE_DONE);
  }
  auto store = std::make_shared<sqlite_store>(db);
  const refresh_service svc(store, contract::options(clock));
  auto s = svc.sessions("alice");
  REQUIRE(s);
  REQUIRE(s->size() == 1);
  CHECK((*s)[0].family_id == family);
  const std::string next = contract::must_rotate(svc, token);
  SECTION("revoke_user with no login since the upgrade (no users row yet)") {
    CHECK_FALSE(svc.revoke_user("alice"));
    CHECK(contract::rotate_error(svc, next) == errc::refresh_family_revoked);
    CHECK(svc.sessions("alice")->empty());
    CHECK(contract::must_rotate(svc, contract::must_issue(svc, "alice")).size() ==
          detail::token_size);
  }
  SECTION("revoke_user after a login") {
    const std::string newer = contract::must_issue(svc, "alice");
    CHECK(svc.sessions("alice")->size() == 2);
    CHECK_FALSE(svc.revoke_user("alice"));
    CHECK(contract::rotate_error(svc, next) == errc::refresh_family_revoked);
    CHECK(contract::rotate_error(svc, newer) == errc::refresh_family_revoked);
    CHECK(svc.sessions("alice")->empty());
  }
}

TEST_CASE("sqlite_store: revoke_user of a user without sessions does not revoke the next login") {
  sqlite_dir dir;
  auto store = std::make_shared<sqlite_store>(dir / "x.db");
  contract::manual_clock clock;
  const refresh_service svc(store, contract::options(clock));
  CHECK_FALSE(svc.revoke_user("nobody"));  // no families: succeeds, and a later login works
  CHECK(contract::must_rotate(svc, contract::must_issue(svc, "nobody")).size() ==
        detail::token_size);
}
