// Authorization and Cookie header parsing: never a crash, and what comes out is always a view
// into the input that satisfies the documented grammar.
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "tokenauth/http.hpp"

namespace http = tokenauth::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto inside = [&](std::string_view v) {
    return v.data() >= input.data() && v.data() + v.size() <= input.data() + input.size();
  };
  if (const auto token = http::bearer_token(input)) {
    FUZZ_CHECK(!token->empty() && inside(*token));
    for (char c : *token) FUZZ_CHECK(c != ' ' && c != '\t' && c != ';' && c != ',');
  }
  for (std::string_view name : {"refreshToken", "a", ""}) {
    if (const auto value = http::cookie_value(input, name)) {
      FUZZ_CHECK(inside(*value));
      FUZZ_CHECK(http::is_cookie_value(*value));
      // A value found can always be sent back in a Set-Cookie header.
      if (!name.empty()) FUZZ_CHECK(!http::set_cookie(name, *value, {}).empty());
    }
  }
  return 0;
}
