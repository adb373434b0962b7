#include "password.hpp"

#include <crypt.h>
#include <openssl/crypto.h>

#include <cstring>
#include <memory>

namespace tokenauth_server {

namespace bcrypt {
namespace {

// crypt_data is ~32 KiB: one per thread, reused.
crypt_data& scratch() {
  thread_local auto data = std::make_unique<crypt_data>();
  return *data;
}

bool is_bcrypt(std::string_view h) {
  return h.size() == 60 &&
         (h.rfind("$2a$", 0) == 0 || h.rfind("$2b$", 0) == 0 || h.rfind("$2y$", 0) == 0);
}

// bcrypt reads a C string of at most 72 bytes; anything else would be silently truncated.
bool usable_password(std::string_view p) {
  return p.size() <= 72 && p.find('\0') == std::string_view::npos;
}

}  // namespace

std::optional<std::string> hash(std::string_view password, int cost) {
  if (!usable_password(password)) return std::nullopt;
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, setting,
                        sizeof setting))
    return std::nullopt;
  crypt_data& data = scratch();
  std::memset(&data, 0, sizeof data);
  const std::string phrase(password);
  const char* out = crypt_rn(phrase.c_str(), setting, &data, sizeof data);
  if (!out || out[0] == '*') return std::nullopt;
  std::string result(out);
  OPENSSL_cleanse(&data, sizeof data);
  return result;
}

namespace {

// Hashes password with setting; true when the result equals `expected` (compared in constant
// time). An unusable password still pays for the hash, so it takes as long as a wrong one.
bool run(std::string_view password, const std::string& setting, std::string_view expected) {
  const bool usable = usable_password(password);
  const std::string phrase(usable ? password : std::string_view("x"));
  crypt_data& data = scratch();
  std::memset(&data, 0, sizeof data);
  const char* out = crypt_rn(phrase.c_str(), setting.c_str(), &data, sizeof data);
  const bool ok = usable && out && !expected.empty() && std::strlen(out) == expected.size() &&
                  CRYPTO_memcmp(out, expected.data(), expected.size()) == 0;
  OPENSSL_cleanse(&data, sizeof data);
  return ok;
}

}  // namespace

bool verify(std::string_view password, std::string_view stored) {
  if (!is_bcrypt(stored)) return false;
  return run(password, std::string(stored), stored);
}

std::optional<int> cost_of(std::string_view h) {
  if (!is_bcrypt(h) || h[6] != '$') return std::nullopt;
  const char tens = h[4], ones = h[5];
  if (tens < '0' || tens > '3' || ones < '0' || ones > '9') return std::nullopt;
  const int cost = (tens - '0') * 10 + (ones - '0');
  if (cost < 4 || cost > 31) return std::nullopt;
  return cost;
}

std::vector<std::string> work_plan(std::string_view stored, std::string_view reference) {
  const std::optional<int> c = cost_of(stored), big_c = cost_of(reference);
  if (!c) return {std::string(reference)};
  std::vector<std::string> plan{std::string(stored)};
  if (!big_c) return plan;
  const std::string_view salt = reference.substr(7, 22);
  for (int k = *c; k < *big_c; ++k) {
    const char cost[3] = {static_cast<char>('0' + k / 10), static_cast<char>('0' + k % 10), '\0'};
    plan.push_back("$2b$" + std::string(cost) + "$" + std::string(salt));
  }
  return plan;
}

bool verify_evenly(std::string_view password, std::string_view stored, std::string_view reference) {
  const std::vector<std::string> plan = work_plan(stored, reference);
  const bool bcrypt_stored = cost_of(stored).has_value();
  bool ok = false;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const bool match = run(password, plan[i], i == 0 && bcrypt_stored ? stored : "");
    if (i == 0) ok = match && bcrypt_stored;
  }
  return ok;
}

}  // namespace bcrypt
}  // namespace tokenauth_server
