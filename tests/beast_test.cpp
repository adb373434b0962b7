// beast.hpp: the Bearer token of a Boost.Beast request, verified in one call.
#include "tokenauth/beast.hpp"

#include <catch2/catch.hpp>

#include <boost/beast/http/string_body.hpp>
#include <string>

namespace http = boost::beast::http;
using tokenauth::claim_set;
using tokenauth::errc;

namespace {

const tokenauth::hmac_key key(std::string(32, 'k'));
const tokenauth::hmac_key other_key(std::string(32, 'o'));

http::request<http::string_body> request_with(const std::string& authorization) {
  http::request<http::string_body> req{http::verb::get, "/getuser", 11};
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  return req;
}

}  // namespace

TEST_CASE("a valid Bearer token gives its claims") {
  const tokenauth::verifier verifier(key);
  const auto req =
      request_with("Bearer " + tokenauth::signer(key).sign(claim_set().set("id", "7")));
  const tokenauth::verify_result claims = tokenauth::beast::verify_bearer(verifier, req);
  REQUIRE(claims);
  CHECK(claims->string("id") == "7");

  // The scheme is case-insensitive (RFC 6750 §2.1); a header-only request works too.
  http::request_header<> header;
  header.set(http::field::authorization,
             "bearer " + tokenauth::signer(key).sign(claim_set().set("id", "8")));
  const auto from_header = tokenauth::beast::verify_bearer(verifier, header);
  REQUIRE(from_header);
  CHECK(from_header->string("id") == "8");
}

TEST_CASE("no Bearer token is token_missing") {
  const tokenauth::verifier verifier(key);
  CHECK(tokenauth::beast::verify_bearer(verifier, request_with("")).error() == errc::token_missing);
  CHECK(tokenauth::beast::verify_bearer(verifier, request_with("Basic dXNlcjpwdw==")).error() ==
        errc::token_missing);
  CHECK(tokenauth::beast::verify_bearer(verifier, request_with("Bearer ")).error() ==
        errc::token_missing);
  CHECK(tokenauth::beast::verify_bearer(verifier, request_with("")).error().message() ==
        "jwt must be provided");
}

TEST_CASE("a bad Bearer token is the verifier's error") {
  const tokenauth::verifier verifier(key);
  const std::string forged = tokenauth::signer(other_key).sign(claim_set().set("id", "7"));
  CHECK(tokenauth::beast::verify_bearer(verifier, request_with("Bearer " + forged)).error() ==
        errc::invalid_signature);
  CHECK(tokenauth::beast::verify_bearer(verifier, request_with("Bearer x.y.z")).error() ==
        errc::malformed);

  tokenauth::signer_options expired;
  expired.ttl = 60;
  expired.clock = [] { return tokenauth::unix_seconds{1'000'000}; };
  const std::string old = tokenauth::signer(key, expired).sign(claim_set().set("id", "7"));
  CHECK(tokenauth::beast::verify_bearer(verifier, request_with("Bearer " + old)).error() ==
        errc::expired);
}

TEST_CASE("through a verified-token cache: a hit still checks expiry") {
  tokenauth::unix_seconds now = 1'000'000;
  auto clock = [&now] { return now; };
  tokenauth::verify_options vo;
  vo.clock = clock;
  const tokenauth::verifier verifier(key, vo);
  tokenauth::verify_cache_options co;
  co.clock = clock;
  const tokenauth::verify_cache cache(co);
  tokenauth::signer_options so;
  so.ttl = 60;
  so.clock = clock;
  const auto req =
      request_with("Bearer " + tokenauth::signer(key, so).sign(claim_set().set("id", "9")));

  for (int i = 0; i < 3; ++i) {
    const auto claims = tokenauth::beast::verify_bearer(verifier, cache, req);
    REQUIRE(claims);
    CHECK(claims->string("id") == "9");
  }
  CHECK(cache.stats().hits == 2);
  CHECK(cache.stats().misses == 1);
  CHECK(tokenauth::beast::verify_bearer(verifier, cache, request_with("")).error() ==
        errc::token_missing);
  now += 60;
  CHECK(tokenauth::beast::verify_bearer(verifier, cache, req).error() == errc::expired);
}
