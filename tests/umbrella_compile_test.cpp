// tokenauth.hpp: the umbrella header compiles on its own and gives the whole core API.
#include "tokenauth/tokenauth.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

TEST_CASE("the umbrella header is enough to sign, verify and rotate") {
  const tokenauth::hmac_key key(std::string(32, 'k'));
  const auto claims = tokenauth::verifier(key).verify(
      tokenauth::signer(key).sign(tokenauth::claim_set().set("id", "1")));
  REQUIRE(claims);
  CHECK(claims->string("id") == "1");

  const tokenauth::refresh_service refresh(std::make_shared<tokenauth::memory_store>());
  const auto issued = refresh.issue("1");
  REQUIRE(issued);
  const auto rotated = refresh.rotate(issued->token);
  REQUIRE(rotated);
  CHECK(rotated->user_id == "1");
  CHECK(tokenauth::http::bearer_token("Bearer abc") == "abc");
  CHECK(std::string(TOKENAUTH_VERSION_STRING).size() >= 5);
}
