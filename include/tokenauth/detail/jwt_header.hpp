// The protected JOSE header (RFC 7515 §4) of the tokens jwt.hpp signs. Internal: not API.
#pragma once

#include <string>
#include <string_view>

#include "tokenauth/algorithm.hpp"
#include "tokenauth/detail/json_write.hpp"

namespace tokenauth::detail {

// The JWT header as the signer writes it, built here only: the verifier's fast path compares
// received headers with this exact text, so the two cannot drift apart.
inline std::string jwt_header(algorithm alg, std::string_view kid = {}) {
  std::string header = R"({"alg":")";
  header += to_string(alg);
  header += R"(","typ":"JWT")";
  if (!kid.empty()) {
    header += R"(,"kid":)";
    append_json_string(header, kid);
  }
  header += '}';
  return header;
}

}  // namespace tokenauth::detail
