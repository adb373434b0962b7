// error.hpp: messages shared with jsonwebtoken, distinct codes, std::error_code integration.
#include "tokenauth/error.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using tokenauth::errc;

TEST_CASE("messages equal jsonwebtoken's for the shared cases") {
  CHECK(make_error_code(errc::expired).message() == "jwt expired");
  CHECK(make_error_code(errc::invalid_signature).message() == "invalid signature");
  CHECK(make_error_code(errc::malformed).message() == "jwt malformed");
  CHECK(make_error_code(errc::token_missing).message() == "jwt must be provided");
  CHECK(make_error_code(errc::invalid_algorithm).message() == "invalid algorithm");
  CHECK(make_error_code(errc::not_active).message() == "jwt not active");
  CHECK(make_error_code(errc::audience_invalid).message() == "jwt audience invalid");
  CHECK(make_error_code(errc::issuer_invalid).message() == "jwt issuer invalid");
  CHECK(make_error_code(errc::invalid_token).message() == "invalid token");
}

TEST_CASE("key and typ codes say what to fix") {
  CHECK(make_error_code(errc::key_unsuitable).message() == "key does not suit the algorithm");
  CHECK(make_error_code(errc::key_invalid).message() == "key could not be parsed");
  CHECK(make_error_code(errc::key_cannot_sign).message() == "key cannot sign: it is a public key");
  CHECK(make_error_code(errc::invalid_typ).message() == "jwt typ invalid");
}

TEST_CASE("every code has its own message and the tokenauth category") {
  std::set<std::string> messages;
  const int last = static_cast<int>(errc::keys_unavailable);
  for (int i = 1; i <= last; ++i) {
    const std::error_code ec = static_cast<errc>(i);
    CHECK(ec.category().name() == std::string("tokenauth"));
    CHECK(ec.message() != "unknown tokenauth error");
    messages.insert(ec.message());
  }
  CHECK(messages.size() == static_cast<std::size_t>(last));
  CHECK(std::error_code(static_cast<errc>(999)).message() == "unknown tokenauth error");
}

TEST_CASE("predicates and implicit conversion") {
  const std::error_code ec = errc::expired;
  CHECK(tokenauth::is_expired(ec));
  CHECK_FALSE(tokenauth::is_expired(errc::not_active));
  CHECK(tokenauth::is_store_unavailable(errc::store_unavailable));
  CHECK(ec == errc::expired);
  CHECK_FALSE(std::error_code() == errc::expired);
}
