// base64url.hpp: RFC 4648 §10 vectors (in the URL-safe alphabet) and strict decoding
// (docs/design.md, verify order, step 2).
#include "tokenauth/base64url.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace b64 = tokenauth::base64url;

TEST_CASE("encode follows RFC 4648 test vectors without padding") {
  CHECK(b64::encode("").empty());
  CHECK(b64::encode("f") == "Zg");
  CHECK(b64::encode("fo") == "Zm8");
  CHECK(b64::encode("foo") == "Zm9v");
  CHECK(b64::encode("foob") == "Zm9vYg");
  CHECK(b64::encode("fooba") == "Zm9vYmE");
  CHECK(b64::encode("foobar") == "Zm9vYmFy");
  CHECK(b64::encode("\xfb\xff") == "-_8");  // URL-safe alphabet
}

TEST_CASE("decode inverts encode for every length and byte value") {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    const auto encoded = b64::encode(bytes);
    CHECK(encoded.size() == b64::encoded_size(bytes.size()));
    const auto decoded = b64::decode(encoded);
    REQUIRE(decoded);
    CHECK(*decoded == bytes);
    bytes += static_cast<char>((i * 37 + 11) & 0xff);
  }
}

TEST_CASE("decode rejects non-canonical and foreign input") {
  CHECK_FALSE(b64::decode("Zg=="));      // padding
  CHECK_FALSE(b64::decode("Zm8="));      // padding
  CHECK_FALSE(b64::decode("+/8"));       // standard alphabet
  CHECK_FALSE(b64::decode("Zm9v Yg"));   // whitespace
  CHECK_FALSE(b64::decode("Zm9v\nYg"));  // newline
  CHECK_FALSE(b64::decode("Z"));         // impossible length (n % 4 == 1)
  CHECK_FALSE(b64::decode("Zm9vY"));     // impossible length
  CHECK_FALSE(b64::decode("Zh"));        // unused bits set (canonical is "Zg")
  CHECK_FALSE(b64::decode("Zm9"));       // unused bits set (canonical is "Zm8")
  CHECK_FALSE(b64::decode(std::string("Zm\0v", 4)));
  CHECK_FALSE(b64::decode("Zm9v\xc3\xa9"));
  CHECK(b64::decode("Zg") == std::string("f"));
  CHECK(b64::decode("") == std::string());
}

TEST_CASE("every one of the 64 last characters of a 2-byte tail decodes to at most one value") {
  // For a 3-character tail only characters whose low 2 bits are zero are canonical: 16 of 64.
  int accepted = 0;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (char c : alphabet) accepted += b64::decode(std::string("Zm") + c).has_value();
  CHECK(accepted == 16);
}
