// refresh_service on its own: token format, what reaches the store, options, failure paths.
// Store behaviour (rotation, grace, reuse, expiry, ...) is in store_contract.hpp.
#include "tokenauth/refresh.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <set>
#include <string>

#include "tokenauth/memory_store.hpp"

using namespace tokenauth;

namespace {

// Records what the service hands to the store, and answers like a fresh store would.
struct spy_store final : refresh_store {
  std::string family_id, user_id;
  token_digest first{}, presented{}, successor{};
  unix_seconds now = 0, token_expires = 0, family_expires = 0, ttl = 0, grace = -1;
  std::size_t max_families = 99;
  std::error_code fail;

  std::error_code create_family(const new_family& f) override {
    family_id = std::string(f.family_id);
    user_id = std::string(f.user_id);
    first = f.digest;
    now = f.now;
    token_expires = f.token_expires_at;
    family_expires = f.family_expires_at;
    max_families = f.max_families;
    return fail;
  }
  result<rotate_outcome> rotate(const rotate_request& r) override {
    if (fail) return fail;
    family_id = std::string(r.family_id);
    presented = r.presented;
    successor = r.successor;
    now = r.now;
    ttl = r.token_ttl;
    grace = r.grace;
    return rotate_outcome{rotate_status::rotated, "u", r.now + r.token_ttl};
  }
  std::error_code revoke_family(std::string_view, const token_digest*, unix_seconds) override {
    return fail;
  }
  std::error_code revoke_user(std::string_view, unix_seconds) override { return fail; }
  result<std::vector<session_info>> sessions(std::string_view, unix_seconds) override {
    if (fail) return fail;
    return std::vector<session_info>{};
  }
};

refresh_options fixed_clock(unix_seconds now) {
  refresh_options o;
  o.clock = [now] { return now; };
  return o;
}

}  // namespace

TEST_CASE("a token is rt1.<family id>.<256 random bits>, and only its SHA-256 is stored") {
  auto spy = std::make_shared<spy_store>();
  refresh_options o = fixed_clock(1000);
  o.token_ttl = 50;
  o.family_lifetime = 70;
  o.max_families_per_user = 3;
  const refresh_service svc(spy, o);
  auto t = svc.issue("alice");
  REQUIRE(t);
  const std::string& tok = t->token;
  REQUIRE(tok.size() == 4 + 32 + 1 + 43);
  CHECK(tok.substr(0, 4) == "rt1.");
  CHECK(tok.substr(4, 32) == t->family_id);
  CHECK(tok[36] == '.');
  CHECK(base64url::decode(tok.substr(37))->size() == 32);
  CHECK(t->family_id.substr(0, family_tag_size) == detail::user_tag("alice"));
  CHECK(t->expires_at == 1050);

  CHECK(spy->family_id == t->family_id);
  CHECK(spy->user_id == "alice");
  CHECK(spy->first == detail::sha256(tok));
  CHECK(spy->now == 1000);
  CHECK(spy->token_expires == 1050);
  CHECK(spy->family_expires == 1070);
  CHECK(spy->max_families == 3);

  auto r = svc.rotate(tok);
  REQUIRE(r);
  REQUIRE(r->token);
  CHECK(spy->presented == detail::sha256(tok));
  CHECK(spy->successor == detail::sha256(*r->token));
  CHECK(spy->ttl == 50);
  CHECK(spy->grace == 5);
  CHECK(r->token->substr(0, 37) == tok.substr(0, 37));  // same family
  CHECK(*r->token != tok);
}

TEST_CASE("the first token's lifetime is capped by the family lifetime") {
  auto spy = std::make_shared<spy_store>();
  refresh_options o = fixed_clock(1000);
  o.token_ttl = 500;
  o.family_lifetime = 100;
  auto t = refresh_service(spy, o).issue("alice");
  REQUIRE(t);
  CHECK(t->expires_at == 1100);
}

TEST_CASE("SHA-256 is the standard one (FIPS 180-2 vector)") {
  const token_digest d = detail::sha256("abc");
  const unsigned char want[] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  CHECK(std::memcmp(d.data(), want, sizeof want) == 0);
}

TEST_CASE("the injected CSPRNG is used, and its failure is an error, not a weak token") {
  auto spy = std::make_shared<spy_store>();
  refresh_options o = fixed_clock(1000);
  o.random = [](unsigned char* out, std::size_t n) {
    std::memset(out, 0, n);
    return true;
  };
  auto t = refresh_service(spy, o).issue("alice");
  REQUIRE(t);
  CHECK(t->token ==
        "rt1." + detail::user_tag("alice") + std::string(24, 'A') + "." + std::string(43, 'A'));
  o.random = [](unsigned char*, std::size_t) { return false; };
  const refresh_service broken(spy, o);
  spy->user_id.clear();
  CHECK(broken.issue("alice").error() == errc::store_unavailable);
  CHECK(spy->user_id.empty());  // nothing reached the store
  CHECK(broken.rotate(t->token).error() == errc::store_unavailable);
}

TEST_CASE("store errors pass through unchanged") {
  auto spy = std::make_shared<spy_store>();
  const refresh_service svc(spy, fixed_clock(1000));
  auto t = svc.issue("alice");
  REQUIRE(t);
  spy->fail = errc::store_unavailable;
  CHECK(svc.issue("alice").error() == errc::store_unavailable);
  CHECK(svc.rotate(t->token).error() == errc::store_unavailable);
  CHECK(svc.revoke(t->token) == errc::store_unavailable);
  CHECK(svc.revoke_family(t->family_id) == errc::store_unavailable);
  CHECK(svc.revoke_user("alice") == errc::store_unavailable);
  CHECK(svc.sessions("alice").error() == errc::store_unavailable);
  CHECK(is_store_unavailable(svc.rotate(t->token).error()));
}

TEST_CASE("malformed tokens never reach the store") {
  auto spy = std::make_shared<spy_store>();
  spy->fail = errc::store_unavailable;  // would show if the store were asked
  const refresh_service svc(spy, fixed_clock(1000));
  for (const std::string& bad : {std::string(), std::string("rt1."), std::string("x"),
                                 std::string(80, '.'), std::string(80, 'A')}) {
    CHECK(svc.rotate(bad).error() == errc::refresh_token_unknown);
    CHECK(svc.revoke(bad) == errc::refresh_token_unknown);
  }
  CHECK(svc.revoke_family("short") == errc::refresh_token_unknown);
}

TEST_CASE("refresh_token_family reads the family id of a well-formed token, else nullopt") {
  auto spy = std::make_shared<spy_store>();
  const refresh_service svc(spy, fixed_clock(1000));
  auto t = svc.issue("alice");
  REQUIRE(t);
  CHECK(refresh_token_family(t->token) == std::optional<std::string_view>(t->family_id));
  auto r = svc.rotate(t->token);
  REQUIRE(r);
  REQUIRE(r->token);
  CHECK(refresh_token_family(*r->token) == std::optional<std::string_view>(t->family_id));

  const std::string& tok = t->token;
  std::string bad_family = tok;
  bad_family[5] = '*';  // not base64url
  std::string bad_secret = tok;
  bad_secret.back() = '*';
  std::string no_dot = tok;
  no_dot[36] = 'A';
  for (const std::string& bad : {std::string(), std::string("rt1."), "rt2." + tok.substr(4),
                                 tok + "A", tok.substr(1), bad_family, bad_secret, no_dot})
    CHECK_FALSE(refresh_token_family(bad));
}

TEST_CASE("invalid construction is refused") {
  auto store = std::make_shared<memory_store>();
  CHECK_THROWS_AS(refresh_service(nullptr), std::invalid_argument);
  refresh_options o;
  o.token_ttl = 0;
  CHECK_THROWS_AS(refresh_service(store, o), std::invalid_argument);
  o = {};
  o.family_lifetime = -1;
  CHECK_THROWS_AS(refresh_service(store, o), std::invalid_argument);
  o = {};
  o.grace = -1;
  CHECK_THROWS_AS(refresh_service(store, o), std::invalid_argument);
  o = {};
  o.clock = nullptr;
  CHECK_THROWS_AS(refresh_service(store, o), std::invalid_argument);
  CHECK_NOTHROW(refresh_service(store));
}

TEST_CASE("tokens from the real CSPRNG do not repeat") {
  const refresh_service svc(std::make_shared<memory_store>());
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(svc.issue("alice")->token);
  CHECK(seen.size() == 1000);
}

TEST_CASE("openssl_random: a forked child never repeats the parent's buffered bytes") {
  unsigned char warm[32];
  REQUIRE(openssl_random(warm, sizeof warm));  // fills this thread's buffer
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    unsigned char child[32];
    const bool ok = openssl_random(child, sizeof child);
    const ssize_t w = ok ? write(fds[1], child, sizeof child) : -1;
    _exit(w == static_cast<ssize_t>(sizeof child) ? 0 : 1);
  }
  unsigned char parent[32], child[32];
  REQUIRE(openssl_random(parent, sizeof parent));
  REQUIRE(read(fds[0], child, sizeof child) == static_cast<ssize_t>(sizeof child));
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  close(fds[0]);
  close(fds[1]);
  CHECK(WIFEXITED(status));
  CHECK(std::memcmp(parent, child, sizeof child) != 0);
}

TEST_CASE("openssl_random: requests of every size are served, never repeating") {
  std::set<std::string> seen;
  for (std::size_t n : {1u, 16u, 32u, 1000u, 1024u, 1025u, 5000u}) {
    for (int i = 0; i < 20; ++i) {
      std::string buf(n, '\0');
      REQUIRE(openssl_random(reinterpret_cast<unsigned char*>(buf.data()), n));
      if (n >= 16) CHECK(seen.insert(buf).second);
    }
  }
}
