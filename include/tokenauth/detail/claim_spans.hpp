// Where the members of a verified payload sit inside jwt.hpp's claims (offsets into its own copy of
// the payload, so a claims object can be copied and moved freely). Internal: not API.
#pragma once

#include <cstdint>

#include "tokenauth/detail/json_scan.hpp"

namespace tokenauth::detail {

// Where a piece of JSON text sits inside the claims' own payload copy.
struct text_span {
  std::uint32_t offset = 0;
  std::uint32_t size = 0;
  bool escaped = false;
  bool present = false;

  static text_span of(const json_value& v, const char* base) noexcept {
    return {static_cast<std::uint32_t>(v.raw.data() - base),
            static_cast<std::uint32_t>(v.raw.size()), v.escaped, true};
  }
};

struct member_span {
  text_span key;
  text_span value;
  json_type type = json_type::null;

  static member_span of(const json_value& key, const json_value& value, const char* base) noexcept {
    return {text_span::of(key, base), text_span::of(value, base), value.type};
  }
};

}  // namespace tokenauth::detail
