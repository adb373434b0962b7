// The user_store contract, run against every user store (memory, SQLite, MySQL). Call
// user_store_contract(make) from a TEST_CASE; `make` returns a fresh, empty store each time
// (Catch runs the test case once per SECTION).
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "users.hpp"

namespace contract {

using namespace tokenauth_server;

// Node's bcryptjs made this one (`$2a$`, cost 12): stored and returned byte for byte.
inline const std::string sample_hash =
    "$2a$12$QWCTCKLItFJVMYrWjcqf0.xwNhczS06EpGxuU/Q0Ot/BujJn.jWoe";

inline user make_user(const std::string& email, const std::string& nick,
                      const std::string& name = "Ada") {
  return user{{}, email, nick, name, sample_hash};
}

inline create_status must_create(user_store& s, user& u) {
  auto r = s.create(u);
  REQUIRE(r);
  return *r;
}

// n copies of a string.
inline std::string repeat(const std::string& s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

inline void user_store_contract(const std::function<std::shared_ptr<user_store>()>& make) {
  std::shared_ptr<user_store> store = make();
  REQUIRE(store);
  user_store& s = *store;

  SECTION("create assigns an id; both lookups return every field as written") {
    user u = make_user("ada@example.com", "ada", "Ada Lovelace");
    REQUIRE(must_create(s, u) == create_status::created);
    REQUIRE(parse_user_id(u.id));
    for (auto found : {s.find_by_email("ada@example.com"), s.find_by_id(u.id)}) {
      REQUIRE(found);
      REQUIRE(*found);
      CHECK((*found)->id == u.id);
      CHECK((*found)->email == "ada@example.com");
      CHECK((*found)->nick == "ada");
      CHECK((*found)->name == "Ada Lovelace");
      CHECK((*found)->password_hash == sample_hash);
    }
  }

  SECTION("ids are distinct and each finds its own user") {
    std::vector<user> users;
    for (int i = 0; i < 5; ++i) {
      users.push_back(make_user("u" + std::to_string(i) + "@example.com", "u" + std::to_string(i)));
      REQUIRE(must_create(s, users.back()) == create_status::created);
    }
    std::set<std::string> ids;
    for (const auto& u : users) {
      ids.insert(u.id);
      auto found = s.find_by_id(u.id);
      REQUIRE(found);
      REQUIRE(*found);
      CHECK((*found)->email == u.email);
    }
    CHECK(ids.size() == users.size());
  }

  SECTION("unknown email and unknown or malformed ids are not found") {
    user u = make_user("ada@example.com", "ada");
    REQUIRE(must_create(s, u) == create_status::created);
    for (auto found :
         {s.find_by_email("nobody@example.com"), s.find_by_email(""), s.find_by_id("999999"),
          s.find_by_id(""), s.find_by_id("abc"), s.find_by_id("-1"), s.find_by_id("0" + u.id),
          s.find_by_id(u.id + " "), s.find_by_id("99999999999999999999999")}) {
      REQUIRE(found);
      CHECK_FALSE(*found);
    }
  }

  SECTION("email is found and unique regardless of ASCII case") {
    user u = make_user("Ada@Example.com", "ada");
    REQUIRE(must_create(s, u) == create_status::created);
    auto found = s.find_by_email("ada@EXAMPLE.COM");
    REQUIRE(found);
    REQUIRE(*found);
    CHECK((*found)->email == "Ada@Example.com");
    user again = make_user("ADA@example.COM", "other");
    CHECK(must_create(s, again) == create_status::email_taken);
  }

  SECTION("a taken nick, in any case, is nick_taken; both taken is email_taken") {
    user u = make_user("ada@example.com", "Ada");
    REQUIRE(must_create(s, u) == create_status::created);
    user same_nick = make_user("other@example.com", "aDA");
    CHECK(must_create(s, same_nick) == create_status::nick_taken);
    user both = make_user("ada@example.com", "ada");
    CHECK(must_create(s, both) == create_status::email_taken);
    auto still = s.find_by_email("other@example.com");
    REQUIRE(still);
    CHECK_FALSE(*still);  // nothing half-written by the refused creates
  }

  SECTION("values as long as the limits round-trip unchanged, multi-byte characters too") {
    const user_limits l = s.limits();
    REQUIRE(l.email >= 6);
    REQUIRE(l.nick >= 1);
    REQUIRE(l.name >= 1);
    // Emails are ASCII in practice; nick and name are counted in characters, not bytes.
    const std::string email = repeat("e", l.email - 4) + "@x.y";
    user u = make_user(email, repeat("\xC3\xA9", l.nick), repeat("\xE6\x97\xA5", l.name));
    REQUIRE(must_create(s, u) == create_status::created);
    auto found = s.find_by_id(u.id);
    REQUIRE(found);
    REQUIRE(*found);
    CHECK((*found)->email == email);
    CHECK((*found)->nick == u.nick);
    CHECK((*found)->name == u.name);
  }

  SECTION("racing creates of one email: exactly one wins, the rest are email_taken") {
    constexpr int threads = 8;
    std::atomic<int> created{0}, taken{0}, other{0};
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int i = 0; i < threads; ++i)
      pool.emplace_back([&, i] {
        user u = make_user("race@example.com", "racer" + std::to_string(i));
        auto r = s.create(u);
        if (r && *r == create_status::created)
          ++created;
        else if (r && *r == create_status::email_taken)
          ++taken;
        else
          ++other;
      });
    for (auto& t : pool) t.join();
    CHECK(created == 1);
    CHECK(taken == threads - 1);
    CHECK(other == 0);
  }

  SECTION("distinct users created concurrently all get their own id") {
    constexpr int threads = 8;
    std::vector<user> users(threads);
    std::vector<std::thread> pool;
    pool.reserve(threads);
    std::atomic<int> created{0};
    for (int i = 0; i < threads; ++i)
      pool.emplace_back([&, i] {
        users[i] = make_user("c" + std::to_string(i) + "@example.com", "c" + std::to_string(i));
        auto r = s.create(users[i]);
        if (r && *r == create_status::created) ++created;
      });
    for (auto& t : pool) t.join();
    REQUIRE(created == threads);
    std::set<std::string> ids;
    for (const auto& u : users) ids.insert(u.id);
    CHECK(ids.size() == static_cast<std::size_t>(threads));
  }
}

}  // namespace contract
