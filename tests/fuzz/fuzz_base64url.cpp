// base64url: decode accepts only canonical text (decode then encode gives the input back), and
// encode always produces text that decodes to the original bytes.
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "tokenauth/base64url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (const auto decoded = tokenauth::base64url::decode(input)) {
    FUZZ_CHECK(decoded->size() == tokenauth::base64url::decoded_size(size));
    FUZZ_CHECK(tokenauth::base64url::encode(*decoded) == input);
  }
  FUZZ_CHECK(tokenauth::base64url::decode(tokenauth::base64url::encode(input)) ==
             std::string(input));
  return 0;
}
