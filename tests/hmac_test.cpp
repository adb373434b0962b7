// hmac.hpp: RFC 4231 vectors, key length rule (RFC 7518 §3.2), constant-time verify, thread use.
#include "tokenauth/hmac.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "tokenauth/base64url.hpp"

using tokenauth::algorithm;
using tokenauth::hmac_key;

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

std::string mac_hex(const hmac_key& key, std::string_view data) {
  unsigned char out[tokenauth::max_mac_size];
  key.compute(data, out);
  return hex(out, key.size());
}

}  // namespace

TEST_CASE("RFC 4231 test case 6: key longer than the block, all three algorithms") {
  const std::string key(131, '\xaa');
  const std::string data = "Test Using Larger Than Block-Size Key - Hash Key First";
  CHECK(mac_hex(hmac_key(key, algorithm::hs256), data) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(mac_hex(hmac_key(key, algorithm::hs384), data) ==
        "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163"
        "f44952");
  CHECK(mac_hex(hmac_key(key, algorithm::hs512), data) ==
        "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d"
        "6a1e52"
        "95e64f73f63f0aec8b915a985d786598");
}

TEST_CASE("RFC 7515 A.1 signature from its 64-byte key") {
  const auto key = tokenauth::base64url::decode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  REQUIRE(key);
  unsigned char mac[32];
  hmac_key(*key).compute(
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ",
      mac);
  CHECK(tokenauth::base64url::encode({reinterpret_cast<char*>(mac), 32}) ==
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
}

TEST_CASE("keys shorter than the MAC are refused (RFC 7518 §3.2)") {
  CHECK_THROWS_AS(hmac_key(std::string(31, 'k')), std::system_error);
  CHECK_THROWS_AS(hmac_key(std::string(47, 'k'), algorithm::hs384), std::system_error);
  CHECK_THROWS_AS(hmac_key(std::string(63, 'k'), algorithm::hs512), std::system_error);
  CHECK_NOTHROW(hmac_key(std::string(32, 'k')));
  const auto r = hmac_key::make("short");
  REQUIRE_FALSE(r);
  CHECK(r.error() == tokenauth::errc::key_too_short);
  CHECK(hmac_key::make(std::string(64, 'k'), algorithm::hs512));
  try {
    hmac_key bad(std::string(16, 'k'));
    FAIL("no exception");
  } catch (const std::system_error& e) {
    CHECK(e.code() == tokenauth::errc::key_too_short);
  }
}

TEST_CASE("an HMAC key is only for HS256/384/512") {
  for (const algorithm a :
       {algorithm::rs256, algorithm::ps384, algorithm::es256, algorithm::eddsa}) {
    CHECK(hmac_key::make(std::string(64, 'k'), a).error() == tokenauth::errc::key_unsuitable);
    try {
      hmac_key bad(std::string(64, 'k'), a);
      FAIL("no exception");
    } catch (const std::system_error& e) {
      CHECK(e.code() == tokenauth::errc::key_unsuitable);
    }
  }
  CHECK(tokenauth::mac_size(algorithm::rs256) == 0);
  CHECK(tokenauth::mac_size(algorithm::hs384) == 48);
}

TEST_CASE("verify accepts the right MAC only, of the right length") {
  const hmac_key key(std::string(32, 'k'));
  unsigned char mac[32];
  key.compute("data", mac);
  CHECK(key.verify("data", mac, 32));
  CHECK_FALSE(key.verify("datA", mac, 32));
  CHECK_FALSE(key.verify("data", mac, 31));
  mac[31] ^= 1;
  CHECK_FALSE(key.verify("data", mac, 32));
  CHECK(tokenauth::to_string(algorithm::hs384) == "HS384");
}

TEST_CASE("one key shared by many threads and many keys on one thread give stable MACs") {
  const hmac_key a(std::string(32, 'a')), b(std::string(32, 'b'));
  const std::string expect_a = mac_hex(a, "payload"), expect_b = mac_hex(b, "payload");
  CHECK(expect_a != expect_b);
  std::vector<std::thread> threads;
  threads.reserve(8);
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        failures[t] += mac_hex(a, "payload") != expect_a;
        failures[t] += mac_hex(b, "payload") != expect_b;
      }
    });
  for (auto& t : threads) t.join();
  for (int f : failures) CHECK(f == 0);
}
