// sqlite_store: each refresh_store call is one statement batch under one transaction.
#include "tokenauth/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <system_error>

namespace tokenauth {
namespace {

struct db_deleter {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct stmt_deleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, db_deleter>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_deleter>;

// Any SQLite failure inside an operation; caught at the method boundary, which rolls back and
// returns store_unavailable.
struct sqlite_failure {
  int rc;
};

void check(int rc) {
  if (rc != SQLITE_OK) throw sqlite_failure{rc};
}

// Version 1. Tokens are digests only.
constexpr const char* schema_v1 = R"sql(
CREATE TABLE families(
  id TEXT PRIMARY KEY,
  user_id BLOB NOT NULL,
  created INTEGER NOT NULL,
  last_used INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  token_expires_at INTEGER NOT NULL,
  rotated_at INTEGER NOT NULL,
  generation INTEGER NOT NULL,
  revoked INTEGER NOT NULL,
  purge_at INTEGER NOT NULL);
CREATE INDEX families_user ON families(user_id);
CREATE INDEX families_purge ON families(purge_at);
CREATE TABLE tokens(
  digest BLOB PRIMARY KEY,
  family_id TEXT NOT NULL REFERENCES families(id) ON DELETE CASCADE,
  generation INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX tokens_family ON tokens(family_id);
PRAGMA user_version = 1;
)sql";

// Version 2: per-user work bounded by the cap (see refresh_store::create_family). Each family has
// a per-user creation sequence and a `listed` flag (in the user's index: not revoked, not yet
// found ended); the index (user_id, listed, seq) lets a login read only the oldest and newest
// few entries. users.watermark revokes every family of the user with a lower seq at once.
// Families from version 1 get seq 0, so any watermark covers them.
constexpr const char* schema_v2 = R"sql(
ALTER TABLE families ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE families ADD COLUMN listed INTEGER NOT NULL DEFAULT 1;
UPDATE families SET listed = 0 WHERE revoked = 1;
DROP INDEX families_user;
CREATE INDEX families_listed ON families(user_id, listed, seq);
CREATE TABLE users(
  user_id BLOB PRIMARY KEY,
  last_seq INTEGER NOT NULL,
  watermark INTEGER NOT NULL) WITHOUT ROWID;
PRAGMA user_version = 2;
)sql";

// How many purgeable families one create_family deletes: bounded, and still far more than one
// call adds.
constexpr int sweep_batch = 64;

}  // namespace

struct sqlite_store::impl {
  // One connection: statements of two threads must not interleave. A flag under a mutex and a
  // condition variable rather than std::timed_mutex, whose clocklock ThreadSanitizer misreads.
  std::mutex mutex;
  std::condition_variable released;
  bool in_use = false;
  std::chrono::milliseconds busy_timeout{0};
  db_ptr db;
  stmt_ptr begin, commit, rollback, insert_family, insert_token, next_seq, oldest_listed,
      newest_listed, unlist, raise_watermark, revoke_id, sweep, lookup, advance, owns_token,
      revoke_all, list_sessions;

  template <class F>
  void for_each_statement(F f) const {
    for (const stmt_ptr* s : {&begin, &commit, &rollback, &insert_family, &insert_token, &next_seq,
                              &oldest_listed, &newest_listed, &unlist, &raise_watermark, &revoke_id,
                              &sweep, &lookup, &advance, &owns_token, &revoke_all, &list_sessions})
      if (*s) f(s->get());
  }

  stmt_ptr prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    check(sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr));
    return stmt_ptr(s);
  }

  // Binds, steps and resets one cached statement; `row` sees each result row.
  class call {
   public:
    explicit call(const stmt_ptr& s) : s_(s.get()) {}
    ~call() {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
    call(const call&) = delete;
    call& operator=(const call&) = delete;
    call& bind(int i, std::int64_t v) {
      check(sqlite3_bind_int64(s_, i, v));
      return *this;
    }
    call& text(int i, std::string_view v) {
      check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
      return *this;
    }
    call& blob(int i, const void* p, std::size_t n) {
      check(sqlite3_bind_blob(s_, i, p, static_cast<int>(n), SQLITE_STATIC));
      return *this;
    }
    bool step() {  // true when a row is available
      const int rc = sqlite3_step(s_);
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      throw sqlite_failure{rc};
    }
    std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
    std::string str(int col) const {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
      return std::string(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(s_, col)));
    }

   private:
    sqlite3_stmt* s_;
  };

  void run(const stmt_ptr& s) { call(s).step(); }

  // BEGIN IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so the reads
  // of a decision and its writes see no other writer in between.
  class transaction {
   public:
    explicit transaction(impl& i) : i_(i) { i_.run(i_.begin); }
    ~transaction() {
      if (done_) return;
      sqlite3_step(i_.rollback.get());  // nothing useful to do if even this fails
      sqlite3_reset(i_.rollback.get());
    }
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    void commit() {
      i_.run(i_.commit);
      done_ = true;
    }

   private:
    impl& i_;
    bool done_ = false;
  };

  // Runs f on the connection; any SQLite failure becomes store_unavailable (after rollback). One
  // deadline covers the wait for the connection and SQLite's wait for the file lock, so calls
  // queued behind a locked database all fail after busy_timeout, not one busy_timeout each.
  template <class R, class F>
  R guarded(F f) {
    using namespace std::chrono;
    const auto deadline = steady_clock::now() + busy_timeout;
    {
      std::unique_lock<std::mutex> lock(mutex);
      if (!released.wait_until(lock, deadline, [this] { return !in_use; }))
        return R(make_error_code(errc::store_unavailable));
      in_use = true;
    }
    struct release_on_exit {
      impl& i;
      ~release_on_exit() {
        {
          const std::lock_guard<std::mutex> lock(i.mutex);
          i.in_use = false;
        }
        i.released.notify_one();
      }
    } release{*this};
    const auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
    sqlite3_busy_timeout(db.get(), static_cast<int>(std::max<long long>(left, 1)));
    try {
      return f();
    } catch (const sqlite_failure&) {
      return R(make_error_code(errc::store_unavailable));
    }
  }
};

sqlite_store::sqlite_store(std::string path, std::chrono::milliseconds busy_timeout)
    : impl_(std::make_unique<impl>()) {
  auto fail = [&](const char* what) {
    std::string msg = "sqlite_store: " + std::string(what) + " " + path;
    if (impl_->db) msg += ": " + std::string(sqlite3_errmsg(impl_->db.get()));
    throw std::system_error(make_error_code(errc::store_unavailable), msg);
  };
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  impl_->db.reset(raw);  // sqlite3_open_v2 may return a handle even on failure
  if (rc != SQLITE_OK) fail("cannot open");
  impl& d = *impl_;
  try {
    d.busy_timeout = busy_timeout;
    check(sqlite3_busy_timeout(d.db.get(), static_cast<int>(busy_timeout.count())));
    check(sqlite3_exec(d.db.get(),
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                       "PRAGMA foreign_keys=ON;",
                       nullptr, nullptr, nullptr));
    d.begin = d.prepare("BEGIN IMMEDIATE");
    d.commit = d.prepare("COMMIT");
    d.rollback = d.prepare("ROLLBACK");
    {
      impl::transaction tx(d);
      std::int64_t have = 0;
      {  // finished before the upgrade: DROP INDEX fails while a statement is active
        stmt_ptr version = d.prepare("PRAGMA user_version");
        impl::call v(version);
        if (v.step()) have = v.i64(0);
      }
      if (have > schema_version) fail("schema is newer than this library in");
      if (have == 0) check(sqlite3_exec(d.db.get(), schema_v1, nullptr, nullptr, nullptr));
      if (have < 2) check(sqlite3_exec(d.db.get(), schema_v2, nullptr, nullptr, nullptr));
      tx.commit();
    }
    d.insert_family = d.prepare(
        "INSERT INTO families(id, user_id, created, last_used, expires_at, token_expires_at,"
        " rotated_at, generation, revoked, purge_at, seq, listed)"
        " VALUES(?1, ?2, ?3, ?3, ?4, ?5, 0, 0, 0, ?6, ?7, 1)");
    d.insert_token = d.prepare("INSERT INTO tokens(digest, family_id, generation) VALUES(?, ?, ?)");
    d.next_seq = d.prepare(
        "INSERT INTO users(user_id, last_seq, watermark) VALUES(?1, 1, 0)"
        " ON CONFLICT(user_id) DO UPDATE SET last_seq = last_seq + 1"
        " RETURNING last_seq, watermark");
    d.oldest_listed = d.prepare(
        "SELECT rowid, seq, revoked, min(expires_at, token_expires_at) FROM families"
        " WHERE user_id = ?1 AND listed = 1 ORDER BY seq LIMIT ?2");
    d.newest_listed = d.prepare(
        "SELECT rowid, seq, revoked, min(expires_at, token_expires_at) FROM families"
        " WHERE user_id = ?1 AND listed = 1 AND seq >= ?2 ORDER BY seq DESC LIMIT ?3");
    // Below the watermark an entry is revoked from now on, so its records go after the retention.
    d.unlist = d.prepare(
        "UPDATE families SET listed = 0, revoked = (revoked OR seq < ?2),"
        " purge_at = CASE WHEN seq < ?2 THEN min(purge_at, ?3) ELSE purge_at END WHERE rowid = ?1");
    d.raise_watermark =
        d.prepare("UPDATE users SET watermark = ?2 WHERE user_id = ?1 AND watermark < ?2");
    d.revoke_id = d.prepare(
        "UPDATE families SET revoked = 1, listed = 0, purge_at = min(purge_at, ?2) WHERE id = ?1");
    d.sweep = d.prepare(
        "DELETE FROM families WHERE rowid IN"
        " (SELECT rowid FROM families WHERE purge_at <= ?1 LIMIT ?2)");
    d.lookup = d.prepare(
        "SELECT t.generation, f.user_id, f.revoked, f.expires_at, f.token_expires_at,"
        " f.generation, f.rotated_at, f.seq,"
        " coalesce((SELECT watermark FROM users u WHERE u.user_id = f.user_id), 0)"
        " FROM tokens t JOIN families f ON f.id = t.family_id"
        " WHERE t.digest = ?1 AND t.family_id = ?2");
    d.advance = d.prepare(
        "UPDATE families SET generation = generation + 1, token_expires_at = ?2, rotated_at = ?3,"
        " last_used = ?3, purge_at = ?4 WHERE id = ?1");
    d.owns_token = d.prepare("SELECT 1 FROM tokens WHERE digest = ?1 AND family_id = ?2");
    // The user may have only version-1 families (seq 0) and no users row yet.
    d.revoke_all = d.prepare(
        "INSERT INTO users(user_id, last_seq, watermark) VALUES(?1, 0, 1)"
        " ON CONFLICT(user_id) DO UPDATE SET watermark = last_seq + 1");
    d.list_sessions = d.prepare(
        "SELECT id, created, last_used, min(expires_at, token_expires_at) FROM families"
        " WHERE user_id = ?1 AND listed = 1 AND revoked = 0"
        " AND seq >= coalesce((SELECT watermark FROM users WHERE user_id = ?1), 0)"
        " AND min(expires_at, token_expires_at) > ?2 ORDER BY seq");
  } catch (const sqlite_failure&) {
    fail("cannot initialise");
  }
}

sqlite_store::~sqlite_store() = default;

std::error_code sqlite_store::create_family(const new_family& f) {
  return impl_->guarded<std::error_code>([&] {
    impl& d = *impl_;
    impl::transaction tx(d);
    // Families whose retention is over, and (cascade) their tokens; a bounded batch per call.
    impl::call(d.sweep).bind(1, f.now).bind(2, sweep_batch).step();
    std::int64_t seq, watermark;
    {
      impl::call q(d.next_seq);
      q.blob(1, f.user_id.data(), f.user_id.size());
      if (!q.step()) throw sqlite_failure{SQLITE_ERROR};
      seq = q.i64(0);
      watermark = q.i64(1);
    }
    impl::call(d.insert_family)
        .text(1, f.family_id)
        .blob(2, f.user_id.data(), f.user_id.size())
        .bind(3, f.now)
        .bind(4, f.family_expires_at)
        .bind(5, f.token_expires_at)
        .bind(6, std::min(f.family_expires_at, f.token_expires_at) + expired_record_retention)
        .bind(7, seq)
        .step();
    impl::call(d.insert_token)
        .blob(1, f.digest.data(), f.digest.size())
        .text(2, f.family_id)
        .bind(3, 0)
        .step();

    struct entry {
      std::int64_t rowid, seq;
      bool live;
    };
    const auto read = [&](const stmt_ptr& s, std::int64_t limit, bool newest) {
      std::vector<entry> out;
      impl::call q(s);
      q.blob(1, f.user_id.data(), f.user_id.size());
      if (newest)
        q.bind(2, watermark).bind(3, limit);
      else
        q.bind(2, limit);
      while (q.step())
        out.push_back(
            {q.i64(0), q.i64(1), q.i64(2) == 0 && q.i64(1) >= watermark && f.now < q.i64(3)});
      return out;
    };
    const auto unlist = [&](const entry& e) {
      impl::call(d.unlist)
          .bind(1, e.rowid)
          .bind(2, watermark)
          .bind(3, f.now + expired_record_retention)
          .step();
    };
    constexpr auto budget = static_cast<std::int64_t>(index_prune_budget);
    for (const entry& e : read(d.oldest_listed, budget, false))
      if (!e.live) unlist(e);
    std::size_t live = 0;
    for (const entry& e :
         read(d.newest_listed, static_cast<std::int64_t>(f.max_families) + budget, true)) {
      if (!e.live) {
        unlist(e);
      } else if (++live == f.max_families) {
        impl::call(d.raise_watermark)
            .blob(1, f.user_id.data(), f.user_id.size())
            .bind(2, e.seq)
            .step();
        break;
      }
    }
    tx.commit();
    return std::error_code{};
  });
}

result<rotate_outcome> sqlite_store::rotate(const rotate_request& r) {
  return impl_->guarded<result<rotate_outcome>>([&]() -> result<rotate_outcome> {
    impl& d = *impl_;
    impl::transaction tx(d);
    std::int64_t gen, revoked, family_expires, token_expires, current, rotated_at, seq, watermark;
    std::string user;
    {
      impl::call q(d.lookup);
      q.blob(1, r.presented.data(), r.presented.size()).text(2, r.family_id);
      if (!q.step()) return errc::refresh_token_unknown;
      gen = q.i64(0);
      user = q.str(1);
      revoked = q.i64(2);
      family_expires = q.i64(3);
      token_expires = q.i64(4);
      current = q.i64(5);
      rotated_at = q.i64(6);
      seq = q.i64(7);
      watermark = q.i64(8);
    }
    if (revoked || seq < watermark) return errc::refresh_family_revoked;
    if (r.now >= std::min(family_expires, token_expires)) return errc::refresh_token_expired;
    if (gen == current) {
      const unix_seconds expires = std::min(r.now + r.token_ttl, family_expires);
      impl::call(d.advance)
          .text(1, r.family_id)
          .bind(2, expires)
          .bind(3, r.now)
          .bind(4, expires + expired_record_retention)
          .step();
      impl::call(d.insert_token)
          .blob(1, r.successor.data(), r.successor.size())
          .text(2, r.family_id)
          .bind(3, current + 1)
          .step();
      tx.commit();
      return rotate_outcome{rotate_status::rotated, std::move(user), expires};
    }
    if (gen + 1 == current && r.now < rotated_at + r.grace)
      return rotate_outcome{rotate_status::grace_replay, std::move(user), token_expires};
    impl::call(d.revoke_id).text(1, r.family_id).bind(2, r.now + expired_record_retention).step();
    tx.commit();
    return errc::refresh_reuse_detected;
  });
}

std::error_code sqlite_store::revoke_family(std::string_view family_id, const token_digest* digest,
                                            unix_seconds now) {
  return impl_->guarded<std::error_code>([&]() -> std::error_code {
    impl& d = *impl_;
    impl::transaction tx(d);
    if (digest) {
      impl::call q(d.owns_token);
      q.blob(1, digest->data(), digest->size()).text(2, family_id);
      if (!q.step()) return errc::refresh_token_unknown;
    }
    impl::call(d.revoke_id).text(1, family_id).bind(2, now + expired_record_retention).step();
    if (sqlite3_changes(d.db.get()) == 0) return errc::refresh_token_unknown;
    tx.commit();
    return {};
  });
}

std::error_code sqlite_store::revoke_user(std::string_view user_id, unix_seconds) {
  return impl_->guarded<std::error_code>([&] {
    impl& d = *impl_;
    impl::transaction tx(d);
    impl::call(d.revoke_all).blob(1, user_id.data(), user_id.size()).step();
    tx.commit();
    return std::error_code{};
  });
}

result<std::vector<session_info>> sqlite_store::sessions(std::string_view user_id,
                                                         unix_seconds now) {
  return impl_->guarded<result<std::vector<session_info>>>([&] {
    impl& d = *impl_;  // one statement: a consistent WAL snapshot without an explicit transaction
    std::vector<session_info> out;
    impl::call q(d.list_sessions);
    q.blob(1, user_id.data(), user_id.size()).bind(2, now);
    while (q.step()) out.push_back({q.str(0), q.i64(1), q.i64(2), q.i64(3)});
    return result<std::vector<session_info>>(std::move(out));
  });
}

std::uint64_t sqlite_store::vm_steps() const {
  impl& d = *impl_;
  std::unique_lock<std::mutex> lock(d.mutex);  // no call runs while we hold it and in_use is false
  d.released.wait(lock, [&] { return !d.in_use; });
  std::uint64_t n = 0;
  d.for_each_statement([&](sqlite3_stmt* s) {
    n += static_cast<std::uint64_t>(sqlite3_stmt_status(s, SQLITE_STMTSTATUS_VM_STEP, 0));
  });
  return n;
}

}  // namespace tokenauth
