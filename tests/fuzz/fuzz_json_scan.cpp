// Differential: the verify path's JSON scanner must accept exactly the objects nlohmann/json
// accepts (duplicate top-level names are rejected by policy) and read the same top-level values.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>

#include "fuzz_check.hpp"
#include "tokenauth/detail/json_scan.hpp"

using nlohmann::json;
using namespace tokenauth::detail;

namespace {

// Numbers are compared as doubles, which is how the claims reader uses them.
bool same(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  if (a.type() != b.type() || a.size() != b.size()) return false;
  if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it)
      if (!b.contains(it.key()) || !same(it.value(), b[it.key()])) return false;
    return true;
  }
  if (a.is_array()) {
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // A raw NUL byte is never valid JSON, but nlohmann reads it as the end of its input.
  if (text.find('\0') != std::string_view::npos) {
    FUZZ_CHECK(json_scanner(text).scan_object([](const json_value&, const json_value&) {}) !=
               tokenauth::errc{});
    return 0;
  }
  json dom;
  bool object = false;
  try {
    dom = json::parse(text);
    object = dom.is_object() && text.substr(0, 3) != "\xEF\xBB\xBF";  // nlohmann skips a BOM
  } catch (const json::exception&) {
  }
  json seen = json::object();
  std::multiset<std::string> names;
  const tokenauth::errc e =
      json_scanner(text).scan_object([&](const json_value& key, const json_value& value) {
        const std::string name = json_unescape(key.raw);
        names.insert(name);
        if (value.type == json_type::string) {
          seen[name] = json_unescape(value.raw);
        } else if (value.type == json_type::number) {
          double d = 0;
          FUZZ_CHECK(json_number_to_double(value.raw, d));
          seen[name] = d;
        } else {
          seen[name] =
              json::parse(value.raw);  // containers and literals: nlohmann must accept them
        }
      });
  if (e == tokenauth::errc{}) {
    FUZZ_CHECK(object);
    FUZZ_CHECK(names.size() == dom.size());  // no duplicates slipped through
    FUZZ_CHECK(same(dom, seen));
  } else if (e != tokenauth::errc::duplicate_claim) {
    FUZZ_CHECK(!object);
  } else {
    FUZZ_CHECK(object);  // a duplicate is the only reason to refuse what nlohmann accepts
  }
  return 0;
}
