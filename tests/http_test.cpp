#include "tokenauth/http.hpp"

#include <catch2/catch.hpp>

using namespace tokenauth::http;
using namespace std::string_literals;

TEST_CASE("bearer_token extracts the token of a Bearer Authorization header") {
  CHECK(bearer_token("Bearer abc.def.ghi") == std::optional<std::string_view>("abc.def.ghi"));
  CHECK(bearer_token("bearer abc") == std::optional<std::string_view>("abc"));
  CHECK(bearer_token("BEARER   abc  ") == std::optional<std::string_view>("abc"));
  CHECK(bearer_token("Bearer\tabc") == std::optional<std::string_view>("abc"));
  CHECK(bearer_token("Bearer a-b_c~d+e/f==") == std::optional<std::string_view>("a-b_c~d+e/f=="));
}

TEST_CASE("bearer_token rejects other schemes, empty and ill-formed tokens") {
  CHECK_FALSE(bearer_token(""));
  CHECK_FALSE(bearer_token("Bearer"));
  CHECK_FALSE(bearer_token("Bearer "));
  CHECK_FALSE(bearer_token("Bearerabc"));
  CHECK_FALSE(bearer_token("Basic dXNlcjpwdw=="));
  CHECK_FALSE(bearer_token("Bearer a b"));
  CHECK_FALSE(bearer_token("Bearer a=b"));
  CHECK_FALSE(bearer_token("Bearer ==="));
  CHECK_FALSE(bearer_token("Bearer abc;"));
  CHECK_FALSE(bearer_token("Bearer \"abc\""));
  CHECK_FALSE(bearer_token("Bearer abc\x01"));
  CHECK_FALSE(bearer_token("Bearer caf\xc3\xa9"));
}

TEST_CASE("cookie_value finds one cookie among several") {
  const std::string_view header = "a=1; refreshToken=tok-123_x; b=\"quoted\"";
  CHECK(cookie_value(header, "refreshToken") == std::optional<std::string_view>("tok-123_x"));
  CHECK(cookie_value(header, "a") == std::optional<std::string_view>("1"));
  CHECK(cookie_value(header, "b") == std::optional<std::string_view>("quoted"));
  CHECK(cookie_value("x=;y=2", "x") == std::optional<std::string_view>(""));
  CHECK(cookie_value("  refreshToken = v ;", "refreshToken") ==
        std::optional<std::string_view>("v"));
  // First occurrence wins (RFC 6265 §5.4 orders the more specific path first).
  CHECK(cookie_value("t=first; t=second", "t") == std::optional<std::string_view>("first"));
}

TEST_CASE("cookie_value is exact about names and rejects malformed values") {
  CHECK_FALSE(cookie_value("", "t"));
  CHECK_FALSE(cookie_value("refreshtoken=v", "refreshToken"));  // case-sensitive
  CHECK_FALSE(cookie_value("xrefreshToken=v", "refreshToken"));
  CHECK_FALSE(cookie_value("refreshToken", "refreshToken"));  // no '='
  CHECK_FALSE(cookie_value("t=a b", "t"));
  CHECK_FALSE(cookie_value("t=a\\b", "t"));
  CHECK_FALSE(cookie_value("t=\"a", "t"));
  CHECK_FALSE(cookie_value("t=a,b", "t"));
  // A malformed pair before the wanted one does not hide it.
  CHECK(cookie_value("junk; ;=x; t=ok", "t") == std::optional<std::string_view>("ok"));
}

TEST_CASE("cookie_value: an ill-formed cookie of the same name does not hide a good one") {
  // Several cookies of one name arrive when they were set for different paths or tossed by a
  // sibling subdomain; the tossed one comes first when its path is more specific.
  CHECK(cookie_value("t=a b; t=good", "t") == std::optional<std::string_view>("good"));
  CHECK(cookie_value("t=\"a; t=good", "t") == std::optional<std::string_view>("good"));
  CHECK(cookie_value("t=a,b;t=c;t=d", "t") == std::optional<std::string_view>("c"));
  CHECK_FALSE(cookie_value("t=a b; t=a\\b", "t"));
  // The filter skips values the caller cannot use (here: empty ones).
  auto non_empty = [](std::string_view v) { return !v.empty(); };
  CHECK(cookie_value("t=; t=x", "t", non_empty) == std::optional<std::string_view>("x"));
  CHECK_FALSE(cookie_value("t=; u=x", "t", non_empty));
  CHECK(cookie_value("t=; t=x", "t") == std::optional<std::string_view>(""));
}

TEST_CASE("is_json_content_type accepts application/json with parameters only") {
  CHECK(is_json_content_type("application/json"));
  CHECK(is_json_content_type("Application/JSON"));
  CHECK(is_json_content_type("application/json; charset=utf-8"));
  CHECK(is_json_content_type(" application/json ;charset=UTF-8"));
  CHECK_FALSE(is_json_content_type(""));
  CHECK_FALSE(is_json_content_type("text/plain"));
  CHECK_FALSE(is_json_content_type("text/plain; application/json"));
  CHECK_FALSE(is_json_content_type("application/jsonx"));
  CHECK_FALSE(is_json_content_type("application/x-www-form-urlencoded"));
  CHECK_FALSE(is_json_content_type("multipart/form-data; boundary=x"));
  CHECK_FALSE(is_json_content_type("application/json-seq"));
}

TEST_CASE("set_cookie writes every configured attribute") {
  cookie_options o;
  o.path = "/auth";
  o.max_age = 1209600;
  o.same_site = same_site::none;
  CHECK(set_cookie("refreshToken", "abc", o) ==
        "refreshToken=abc; Path=/auth; Max-Age=1209600; HttpOnly; Secure; SameSite=None");
  o.http_only = false;
  o.secure = false;
  o.same_site = std::nullopt;
  o.max_age = std::nullopt;
  o.domain = "example.com";
  CHECK(set_cookie("a", "b", o) == "a=b; Path=/auth; Domain=example.com");
  CHECK(set_cookie("a", "b", cookie_options{}) == "a=b; Path=/; HttpOnly; Secure; SameSite=Lax");
}

TEST_CASE("clear_cookie expires the cookie with the same path") {
  cookie_options o;
  o.path = "/auth";
  o.max_age = 99;
  o.same_site = same_site::strict;
  CHECK(clear_cookie("refreshToken", o) ==
        "refreshToken=; Path=/auth; Max-Age=0; HttpOnly; Secure; SameSite=Strict; "
        "Expires=Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST_CASE("set_cookie refuses what RFC 6265 does not allow") {
  cookie_options o;
  CHECK_THROWS_AS(set_cookie("", "v", o), std::invalid_argument);
  CHECK_THROWS_AS(set_cookie("a b", "v", o), std::invalid_argument);
  CHECK_THROWS_AS(set_cookie("a=b", "v", o), std::invalid_argument);
  CHECK_THROWS_AS(set_cookie("a", "v;x=y", o), std::invalid_argument);
  CHECK_THROWS_AS(set_cookie("a", "v\r\nSet-Cookie: x", o), std::invalid_argument);
  o.path = "/a;Domain=evil";
  CHECK_THROWS_AS(set_cookie("a", "v", o), std::invalid_argument);
}

TEST_CASE("same_site parses case-insensitively and prints canonically") {
  CHECK(parse_same_site("none") == same_site::none);
  CHECK(parse_same_site("LAX") == same_site::lax);
  CHECK(parse_same_site("Strict") == same_site::strict);
  CHECK_FALSE(parse_same_site("nonee"));
  CHECK(to_string(same_site::lax) == "Lax");
}
