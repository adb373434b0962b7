// A small strict JSON scanner for the verify hot path: validates one JSON object (RFC 8259,
// UTF-8 per RFC 3629) without building a DOM or allocating, and reports each top-level member
// as views into the input. It accepts exactly the objects nlohmann::json accepts, except that
// duplicate top-level names are rejected (RFC 7515 §4 / RFC 7519 §4 allow a parser to reject
// them; taking the last one would let two parsers see different claims). Internal: not API.
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenauth/error.hpp"

namespace tokenauth::detail {

enum class json_type : unsigned char { string, number, object, array, boolean, null };

struct json_value {
  json_type type = json_type::null;
  std::string_view raw;  // strings: the text between the quotes, escapes intact; else the literal
  bool escaped = false;  // strings only: raw contains backslash escapes
};

// Length of the well-formed multi-byte UTF-8 sequence at s (RFC 3629 §4: no overlongs, no
// surrogates, at most U+10FFFF), or 0. `left` bytes are readable.
inline std::size_t utf8_sequence_length(const unsigned char* s, std::size_t left) noexcept {
  auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
    return i < left && s[i] >= lo && s[i] <= hi;
  };
  const unsigned char c = s[0];
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c == 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c == 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

// Appends the code point as UTF-8.
inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads 4 hex digits at p (caller guarantees 4 bytes). Returns -1 if any is not hex.
inline long read_hex4(const char* p) noexcept {
  long v = 0;
  for (int i = 0; i < 4; ++i) {
    const int d = hex_digit(p[i]);
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

// Decodes the escapes of a string the scanner has already validated.
inline std::string json_unescape(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        auto cp = static_cast<std::uint32_t>(read_hex4(raw.data() + i + 1));
        i += 4;
        if (cp >= 0xd800 && cp <= 0xdbff) {  // validated: a low surrogate escape follows
          const auto lo = static_cast<std::uint32_t>(read_hex4(raw.data() + i + 3));
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          i += 6;
        }
        append_utf8(out, cp);
        break;
      }
      default:
        out += e;
        break;  // '"', '\\', '/'
    }
  }
  return out;
}

// True when the validated JSON string `v` equals `expected` after unescaping.
inline bool json_string_equals(const json_value& v, std::string_view expected) {
  return v.escaped ? json_unescape(v.raw) == expected : v.raw == expected;
}

// Converts a validated JSON number. False when it does not fit a double (overflow); nlohmann
// rejects those too, while underflow quietly becomes 0 or a subnormal in both.
inline bool json_number_to_double(std::string_view raw, double& out) noexcept {
  const char* const first = raw.data();
  const char* const last = first + raw.size();
  // Fast path: short integers, the usual NumericDate.
  if (raw.size() <= 16) {
    const char* p = first;
    const bool negative = *p == '-';
    if (negative) ++p;
    std::int64_t v = 0;
    for (; p != last && *p >= '0' && *p <= '9'; ++p) v = v * 10 + (*p - '0');
    if (p == last) {
      out = static_cast<double>(negative ? -v : v);
      return true;
    }
  }
  const auto [ptr, ec] = std::from_chars(first, last, out);
  if (ec == std::errc() && ptr == last) return std::isfinite(out);
  if (ec != std::errc::result_out_of_range) return false;
  // Out of range: decide overflow vs underflow from the decimal magnitude.
  const char* p = first + (*first == '-');
  long magnitude = 0;
  bool seen_nonzero = false;
  for (; p != last && *p >= '0' && *p <= '9'; ++p) {
    if (*p != '0') seen_nonzero = true;
    if (seen_nonzero) ++magnitude;
  }
  if (p != last && *p == '.') {
    for (++p; p != last && *p >= '0' && *p <= '9'; ++p) {
      if (seen_nonzero) continue;
      if (*p != '0')
        seen_nonzero = true;
      else
        --magnitude;
    }
  }
  if (p != last && (*p == 'e' || *p == 'E')) {
    ++p;
    const bool neg = *p == '-';
    if (*p == '-' || *p == '+') ++p;
    long e = 0;
    for (; p != last; ++p) e = e < 100000 ? e * 10 + (*p - '0') : e;
    magnitude += neg ? -e : e;
  }
  if (magnitude > 0) return false;
  out = 0.0;
  return true;
}

class json_scanner {
 public:
  explicit json_scanner(std::string_view text) noexcept
      : p_(text.data()), end_(text.data() + text.size()) {}

  // Scans the whole input as one JSON object, calling on_member(key, value) for each top-level
  // member (key is a json_value of type string). Returns errc{} on success, invalid_utf8,
  // duplicate_claim, or invalid_token for anything else that is not a single JSON object.
  template <class OnMember>
  errc scan_object(OnMember&& on_member) {
    skip_ws();
    if (p_ == end_ || *p_ != '{') return fail(errc::invalid_token);
    ++p_;
    skip_ws();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return finish();
    }
    for (;;) {
      json_value key;
      skip_ws();
      if (p_ == end_ || *p_ != '"' || !scan_string(key)) return fail(errc::invalid_token);
      duplicate_ = duplicate_ || is_duplicate(key);  // reported once the text proved valid JSON
      skip_ws();
      if (p_ == end_ || *p_ != ':') return fail(errc::invalid_token);
      ++p_;
      json_value value;
      if (!scan_value(value)) return fail(errc::invalid_token);
      on_member(key, value);
      skip_ws();
      if (p_ == end_) return fail(errc::invalid_token);
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ != '}') return fail(errc::invalid_token);
      ++p_;
      return finish();
    }
  }

 private:
  errc finish() {
    skip_ws();
    if (p_ != end_) return fail(errc::invalid_token);
    return duplicate_ ? errc::duplicate_claim : errc{};
  }
  errc fail(errc e) const noexcept { return bad_utf8_ ? errc::invalid_utf8 : e; }

  void skip_ws() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  bool literal(std::string_view word) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word)
      return false;
    p_ += word.size();
    return true;
  }

  // One value, nested containers included, without recursion (an 8 KiB token could otherwise
  // nest deep enough to exhaust the stack). Strings report their contents; other values,
  // containers included, report their whole text.
  bool scan_value(json_value& v) {
    skip_ws();
    if (p_ == end_) return false;
    const char* const start = p_;
    std::string stack;  // '{' or '[' per open container; no allocation below 16 levels (SSO)
    for (;;) {
      skip_ws();
      if (p_ == end_) return false;
      const char c = *p_;
      if (c == '{' || c == '[') {
        ++p_;
        skip_ws();
        if (p_ != end_ && *p_ == (c == '{' ? '}' : ']')) {
          ++p_;  // empty container: a complete value
        } else {
          stack += c;
          if (c == '{' && !scan_member_name()) return false;
          continue;
        }
      } else if (!scan_scalar(v)) {
        return false;
      }
      // A value just ended: close finished containers, or step to the next element.
      for (;;) {
        if (stack.empty()) {
          if (*start == '"') return true;  // v already holds the string
          if (*start == '{' || *start == '[') {
            v.type = *start == '{' ? json_type::object : json_type::array;
            v.escaped = false;
          }
          v.raw = std::string_view(start, static_cast<std::size_t>(p_ - start));
          return true;
        }
        skip_ws();
        if (p_ == end_) return false;
        if (*p_ == ',') {
          ++p_;
          if (stack.back() == '{' && !scan_member_name()) return false;
          break;
        }
        if (*p_ != (stack.back() == '{' ? '}' : ']')) return false;
        ++p_;
        stack.pop_back();
      }
    }
  }

  // `"name" :` inside a nested object.
  bool scan_member_name() {
    json_value name;
    skip_ws();
    if (p_ == end_ || *p_ != '"' || !scan_string(name)) return false;
    skip_ws();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    return true;
  }

  bool scan_scalar(json_value& v) noexcept {
    switch (*p_) {
      case '"':
        return scan_string(v);
      case 't':
      case 'f':
        v.type = json_type::boolean;
        return literal("true") || literal("false");
      case 'n':
        v.type = json_type::null;
        return literal("null");
      default:
        v.type = json_type::number;
        return scan_number();
    }
  }

  bool scan_number() noexcept {
    const char* const start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return false;
    }
    const bool fraction_or_exponent = p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E');
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    // Only fractions, exponents and very long integers can overflow a double (which nlohmann
    // rejects); plain integers, the common case, need no conversion here.
    const std::string_view text(start, static_cast<std::size_t>(p_ - start));
    if (!fraction_or_exponent && text.size() < 300) return true;
    double ignored;
    return json_number_to_double(text, ignored);
  }

  // At an opening quote. Validates escapes (including surrogate pairs) and UTF-8.
  bool scan_string(json_value& v) noexcept {
    ++p_;
    const char* const start = p_;
    bool escaped = false;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        v.type = json_type::string;
        v.raw = std::string_view(start, static_cast<std::size_t>(p_ - start));
        v.escaped = escaped;
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        escaped = true;
        if (!scan_escape()) return false;
      } else if (c < 0x80) {
        ++p_;
      } else if (!scan_utf8()) {
        bad_utf8_ = true;
        return false;
      }
    }
    return false;
  }

  bool scan_escape() noexcept {
    if (end_ - p_ < 2) return false;
    switch (p_[1]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        p_ += 2;
        return true;
      case 'u':
        break;
      default:
        return false;
    }
    if (end_ - p_ < 6) return false;
    const long cp = read_hex4(p_ + 2);
    if (cp < 0 || (cp >= 0xdc00 && cp <= 0xdfff)) return false;  // lone low surrogate
    p_ += 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {  // a high surrogate needs its low half
      if (end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u') return false;
      const long lo = read_hex4(p_ + 2);
      if (lo < 0xdc00 || lo > 0xdfff) return false;
      p_ += 6;
    }
    return true;
  }

  bool scan_utf8() noexcept {
    const std::size_t n = utf8_sequence_length(reinterpret_cast<const unsigned char*>(p_),
                                               static_cast<std::size_t>(end_ - p_));
    p_ += n;
    return n != 0;
  }

  // Top-level names seen so far. Plain names are compared as views; once a name with escapes
  // appears (or there are many), all names are compared decoded.
  bool is_duplicate(const json_value& key) {
    if (!slow_ && !key.escaped && seen_count_ < seen_.size()) {
      for (std::size_t i = 0; i < seen_count_; ++i)
        if (seen_[i] == key.raw) return true;
      seen_[seen_count_++] = key.raw;
      return false;
    }
    if (!slow_) {
      slow_ = true;
      for (std::size_t i = 0; i < seen_count_; ++i) decoded_.emplace_back(seen_[i]);
    }
    std::string name = key.escaped ? json_unescape(key.raw) : std::string(key.raw);
    for (const auto& s : decoded_)
      if (s == name) return true;
    decoded_.push_back(std::move(name));
    return false;
  }

  const char* p_;
  const char* end_;
  bool bad_utf8_ = false;
  bool duplicate_ = false;
  bool slow_ = false;
  std::array<std::string_view, 16> seen_{};
  std::size_t seen_count_ = 0;
  std::vector<std::string> decoded_;
};

}  // namespace tokenauth::detail
