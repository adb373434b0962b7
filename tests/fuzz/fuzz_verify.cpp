// Token verification with a fixed key. Inputs starting with '!' are "header\npayload" texts that
// the target signs first, so the fuzzer also explores everything behind the signature check;
// any other input is verified as a token as it is. Invariants: no crash, no accepted token
// whose payload nlohmann rejects, and accepted claims agree with nlohmann's reading.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "tokenauth/jwt.hpp"

using namespace tokenauth;

namespace {

const hmac_key& fuzz_key() {
  static const hmac_key k(std::string(32, 'f'));
  return k;
}

const verifier& checker() {
  static const verifier v = [] {
    verify_options o;
    o.clock = [] { return unix_seconds{1'700'000'000}; };
    o.leeway = 5;
    o.algorithms = {algorithm::hs256, algorithm::hs384};
    return verifier(fuzz_key(), o);
  }();
  return v;
}

void check_accepted(const claims& c) {
  const nlohmann::json dom = nlohmann::json::parse(c.json_text());  // throws (= crash) if invalid
  FUZZ_CHECK(dom.is_object());
  FUZZ_CHECK(dom.contains("exp") && dom["exp"].is_number());
  const double exp = std::floor(dom["exp"].get<double>());
  if (std::abs(exp) < 9e18)
    FUZZ_CHECK(static_cast<double>(*c.exp()) == exp);
  else
    FUZZ_CHECK(*c.exp() == (exp > 0 ? INT64_MAX : INT64_MIN));
  if (dom.contains("sub")) FUZZ_CHECK(c.sub() == dom["sub"].get<std::string>());
  if (dom.contains("iss")) FUZZ_CHECK(c.iss() == dom["iss"].get<std::string>());
  for (auto it = dom.begin(); it != dom.end(); ++it)
    if (it.value().is_string()) FUZZ_CHECK(c.string(it.key()) == it.value().get<std::string>());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string token(input);
  if (!input.empty() && input.front() == '!') {
    input.remove_prefix(1);
    const std::size_t nl = input.find('\n');
    const std::string_view header = input.substr(0, nl);
    const std::string_view payload = nl == std::string_view::npos ? "" : input.substr(nl + 1);
    token = base64url::encode(header) + "." + base64url::encode(payload);
    unsigned char mac[max_mac_size];
    fuzz_key().compute(token, mac);
    token += "." + base64url::encode({reinterpret_cast<char*>(mac), fuzz_key().size()});
  }
  const verify_result r = checker().verify(token);
  if (r) check_accepted(*r);
  const verify_result lax = checker().verify_allow_expired(token);
  if (r) FUZZ_CHECK(lax.has_value());
  if (lax) check_accepted(*lax);
  return 0;
}
