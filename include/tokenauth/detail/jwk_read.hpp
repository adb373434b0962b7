// Reading and writing the members of one JWK (RFC 7517, RFC 7518 §6, RFC 8037 §2) and its RFC 7638
// thumbprint: the work behind jwk.hpp's parse_jwk, parse_jwks, to_jwk and jwk_thumbprint.
// Internal: not API.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenauth/algorithm.hpp"
#include "tokenauth/base64url.hpp"
#include "tokenauth/detail/openssl.hpp"
#include "tokenauth/detail/sha256.hpp"
#include "tokenauth/error.hpp"
#include "tokenauth/keys.hpp"
#include "tokenauth/result.hpp"

namespace tokenauth::detail {

using param_bld_ptr =
    std::unique_ptr<OSSL_PARAM_BLD, openssl_deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using param_ptr = std::unique_ptr<OSSL_PARAM, openssl_deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using secret_bignum_ptr = std::unique_ptr<BIGNUM, openssl_deleter<BIGNUM, BN_clear_free>>;

// Decoded key material, wiped when it goes (private members pass through here).
struct key_bytes {
  std::string bytes;
  key_bytes() = default;
  explicit key_bytes(std::string b) : bytes(std::move(b)) {}
  key_bytes(key_bytes&&) = default;
  key_bytes& operator=(key_bytes&&) = default;
  ~key_bytes() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
  const unsigned char* data() const noexcept {
    return reinterpret_cast<const unsigned char*>(bytes.data());
  }
  std::size_t size() const noexcept { return bytes.size(); }
};

// The result of reading one JWK: a key, or the error code and a reason.
struct jwk_read {
  std::optional<key> k;
  errc code{};
  std::string reason;
};

inline jwk_read jwk_refused(errc code, std::string reason) {
  return {std::nullopt, code, std::move(reason)};
}

// Typed access to a JWK's members; the first bad member is remembered in `error`.
class jwk_members {
 public:
  explicit jwk_members(const nlohmann::json& j) : j_(j) {}

  // The string member `name`; nullptr when absent or (recording an error) not a string.
  const std::string* string(const char* name) {
    const auto it = j_.find(name);
    if (it == j_.end()) return nullptr;
    if (!it->is_string()) {
      bad(std::string(name) + " is not a string");
      return nullptr;
    }
    return it->get_ptr<const std::string*>();
  }

  // The base64url member `name` decoded; nullopt when absent or invalid (recording an error).
  // With `size`, the decoded length must be exactly that (RFC 7518 §6.2.1.2, RFC 8037 §2).
  std::optional<key_bytes> bytes(const char* name, std::size_t size = 0) {
    const std::string* text = string(name);
    if (!text) {
      if (error.empty()) bad(std::string(name) + " is missing");
      return std::nullopt;
    }
    auto decoded = base64url::decode(*text);
    if (!decoded || decoded->empty()) {
      bad(std::string(name) + " is not base64url");
      return std::nullopt;
    }
    key_bytes out(std::move(*decoded));
    if (size != 0 && out.size() != size) {
      bad(std::string(name) + " has " + std::to_string(out.size()) + " bytes, not " +
          std::to_string(size));
      return std::nullopt;
    }
    return out;
  }

  bool has(const char* name) const { return j_.contains(name); }

  std::string error;

 private:
  void bad(std::string what) {
    if (error.empty()) error = std::move(what);
  }

  const nlohmann::json& j_;
};

// Collects OSSL_PARAMs and builds an EVP_PKEY of `type` from them (EVP_PKEY_fromdata), then
// checks it: a private key must match its public part, a public key must be well formed.
class pkey_builder {
 public:
  pkey_builder() : bld_(OSSL_PARAM_BLD_new()) {
    if (!bld_) throw std::bad_alloc();
  }

  void number(const char* name, const key_bytes& b) {
    // A secure BIGNUM: the builder then puts the value in the block OSSL_PARAM_free wipes.
    secret_bignum_ptr bn(BN_secure_new());
    if (!bn || !BN_bin2bn(b.data(), static_cast<int>(b.size()), bn.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld_.get(), name, bn.get()))
      throw std::bad_alloc();
    numbers_.push_back(std::move(bn));  // the builder reads it in to_param()
  }
  void octets(const char* name, std::string b) {
    octets_.emplace_back(std::move(b));
    const key_bytes& kept = octets_.back();
    if (!OSSL_PARAM_BLD_push_octet_string(bld_.get(), name, kept.data(), kept.size()))
      throw std::bad_alloc();
  }
  void text(const char* name, const char* value) {
    if (!OSSL_PARAM_BLD_push_utf8_string(bld_.get(), name, value, 0)) throw std::bad_alloc();
  }

  pkey_ptr build(const char* type, bool is_private) {
    const param_ptr params(OSSL_PARAM_BLD_to_param(bld_.get()));
    const pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    if (!params || !ctx) throw std::bad_alloc();
    EVP_PKEY* raw = nullptr;
    const int selection = is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
    const bool made = EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
                      EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) == 1;
    pkey_ptr pkey(raw);
    if (made && !(is_private ? pairwise_valid(pkey.get()) : public_valid(pkey.get()))) pkey.reset();
    ERR_clear_error();
    return pkey;
  }

 private:
  static bool pairwise_valid(EVP_PKEY* pkey) {
    const pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    if (!check) throw std::bad_alloc();
    return EVP_PKEY_pairwise_check(check.get()) == 1;
  }

  // OpenSSL's public check of an RSA key runs Miller-Rabin with random bases on n, so a
  // malformed n can pass one parse and fail the next: a key would flicker in and out of a JWKS
  // across refreshes. RSA public keys get a deterministic check instead (n and e odd,
  // 1 < e < n; the size is checked when the key is made); EC and OKP keep OpenSSL's, which is
  // deterministic (point on the curve, in the right subgroup).
  static bool public_valid(EVP_PKEY* pkey) {
    if (EVP_PKEY_is_a(pkey, "RSA")) {
      BIGNUM* raw_n = nullptr;
      BIGNUM* raw_e = nullptr;
      const bool got = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &raw_n) == 1 &&
                       EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &raw_e) == 1;
      const bignum_ptr n(raw_n), e(raw_e);
      return got && BN_is_odd(n.get()) && BN_is_odd(e.get()) && !BN_is_one(e.get()) &&
             BN_cmp(e.get(), n.get()) < 0;
    }
    const pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    if (!check) throw std::bad_alloc();
    return EVP_PKEY_public_check(check.get()) == 1;
  }

  param_bld_ptr bld_;
  std::vector<secret_bignum_ptr> numbers_;
  std::deque<key_bytes> octets_;  // a deque never moves its elements: the pointers stay valid
};

struct curve_info {
  const char* crv;    // JWK name
  const char* group;  // OpenSSL group or key type name
  std::size_t size;   // bytes of a coordinate or of an OKP key
  algorithm alg;      // the only algorithm it serves
  bool ec;            // EC (x, y) or OKP (x)
};

inline constexpr curve_info curves[] = {
    {"P-256", "prime256v1", 32, algorithm::es256, true},
    {"P-384", "secp384r1", 48, algorithm::es384, true},
    {"P-521", "secp521r1", 66, algorithm::es512, true},
    {"Ed25519", "ED25519", 32, algorithm::eddsa, false},
    {"Ed448", "ED448", 57, algorithm::eddsa, false},
};

inline const curve_info* find_curve(std::string_view crv, bool ec) {
  for (const curve_info& c : curves)
    if (c.crv == crv && c.ec == ec) return &c;
  return nullptr;
}

inline std::string in_quotes(std::string_view s) {
  return '"' + std::string(s) + '"';
}

// rsa_algorithm: jwk_options::rsa_algorithm, the algorithm of an RSA JWK without "alg".
inline jwk_read read_jwk(const nlohmann::json& j, std::optional<algorithm> rsa_algorithm) {
  if (!j.is_object()) return jwk_refused(errc::key_invalid, "not a JSON object");
  jwk_members m(j);
  const std::string* kty = m.string("kty");
  m.string("kid");  // must be a string when present
  const std::string* use = m.string("use");
  const std::string* alg_name = m.string("alg");
  if (!kty && m.error.empty()) return jwk_refused(errc::key_invalid, "kty is missing");
  if (!m.error.empty()) return jwk_refused(errc::key_invalid, m.error);

  if (use && *use != "sig") return jwk_refused(errc::key_unsuitable, "use is " + in_quotes(*use));
  if (const auto ops = j.find("key_ops"); ops != j.end()) {
    bool allowed = false;
    if (!ops->is_array()) return jwk_refused(errc::key_invalid, "key_ops is not an array");
    for (const auto& op : *ops) {
      if (!op.is_string()) return jwk_refused(errc::key_invalid, "key_ops has a non-string");
      allowed = allowed || op == "verify" || op == "sign";
    }
    if (!allowed)
      return jwk_refused(errc::key_unsuitable, "key_ops allows neither sign nor verify");
  }
  std::optional<algorithm> alg;
  if (alg_name) {
    alg = algorithm_from_string(*alg_name);
    if (!alg) return jwk_refused(errc::key_unsuitable, "unsupported alg " + in_quotes(*alg_name));
  }

  key_type type;
  if (*kty == "RSA")
    type = key_type::rsa;
  else if (*kty == "EC")
    type = key_type::ec;
  else if (*kty == "OKP")
    type = key_type::okp;
  else if (*kty == "oct")
    type = key_type::oct;
  else
    return jwk_refused(errc::key_unsuitable, "unsupported kty " + in_quotes(*kty));
  if (alg && key_type_of(*alg) != type)
    return jwk_refused(errc::key_unsuitable,
                       "alg " + std::string(to_string(*alg)) + " does not suit kty " + *kty);

  if (type == key_type::oct) {
    if (!alg) return jwk_refused(errc::key_unsuitable, "oct key without alg");
    const auto k = m.bytes("k");
    if (!k) return jwk_refused(errc::key_invalid, m.error);
    auto made = key::hmac(k->bytes, *alg);
    if (!made)
      return jwk_refused(
          made.error() == errc::key_too_short ? errc::key_too_short : errc::key_invalid,
          made.error().message());
    return {std::move(*made), errc{}, {}};
  }

  const bool is_private = m.has("d");
  pkey_builder b;
  const char* evp_type = nullptr;
  if (type == key_type::rsa) {
    if (!alg) alg = rsa_algorithm;
    if (!alg)
      return jwk_refused(errc::key_unsuitable,
                         "RSA key without alg (RS* and PS* both fit; see "
                         "jwk_options::rsa_algorithm)");
    if (m.has("oth")) return jwk_refused(errc::key_unsuitable, "multi-prime RSA (oth)");
    evp_type = "RSA";
    static constexpr std::pair<const char*, const char*> members[] = {
        {"n", OSSL_PKEY_PARAM_RSA_N},          {"e", OSSL_PKEY_PARAM_RSA_E},
        {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
        {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
    for (const auto& [name, param] : members) {
      if (!is_private && name == std::string_view("d")) break;
      const auto v = m.bytes(name);
      if (!v) return jwk_refused(errc::key_invalid, m.error);
      b.number(param, *v);
    }
  } else {
    const bool ec = type == key_type::ec;
    const std::string* crv = m.string("crv");
    if (!crv) return jwk_refused(errc::key_invalid, m.error.empty() ? "crv is missing" : m.error);
    const curve_info* c = find_curve(*crv, ec);
    if (!c) return jwk_refused(errc::key_unsuitable, "unsupported crv " + in_quotes(*crv));
    if (alg && *alg != c->alg)
      return jwk_refused(errc::key_unsuitable,
                         "alg " + std::string(to_string(*alg)) + " does not suit crv " + *crv);
    alg = c->alg;
    const auto x = m.bytes("x", c->size);
    const auto y = ec ? m.bytes("y", c->size) : std::nullopt;
    const auto d = is_private ? m.bytes("d", c->size) : std::nullopt;
    if (!x || (ec && !y) || (is_private && !d)) return jwk_refused(errc::key_invalid, m.error);
    if (ec) {
      evp_type = "EC";
      b.text(OSSL_PKEY_PARAM_GROUP_NAME, c->group);
      b.octets(OSSL_PKEY_PARAM_PUB_KEY, '\x04' + x->bytes + y->bytes);  // uncompressed point
      if (d) b.number(OSSL_PKEY_PARAM_PRIV_KEY, *d);
    } else {
      evp_type = c->group;
      b.octets(OSSL_PKEY_PARAM_PUB_KEY, x->bytes);
      if (d) b.octets(OSSL_PKEY_PARAM_PRIV_KEY, d->bytes);
    }
  }

  const pkey_ptr pkey = b.build(evp_type, is_private);
  if (!pkey)
    return jwk_refused(errc::key_invalid, is_private ? "private key does not match its public part"
                                                     : "not a valid public key");
  auto made = key::from_evp_pkey(pkey.get(), *alg);
  if (!made) return jwk_refused(errc::key_unsuitable, made.error().message());
  return {std::move(*made), errc{}, {}};
}

inline std::string b64_bignum(const EVP_PKEY* pkey, const char* name, std::size_t pad = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) throw_openssl("tokenauth: key parameter");
  const bignum_ptr bn(raw);
  std::string bytes(pad ? pad : static_cast<std::size_t>(BN_num_bytes(bn.get())), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()),
                   static_cast<int>(bytes.size())) < 0)
    throw_openssl("tokenauth: key parameter");
  return base64url::encode(bytes);
}

// The members RFC 7638 §3.2 requires for k's key type; nlohmann::json keeps them sorted, so
// dump() is the thumbprint's input exactly.
inline nlohmann::json required_members(const key& k) {
  const EVP_PKEY* pkey = k.evp_pkey();
  if (!pkey) throw std::invalid_argument("tokenauth: an HMAC key has no public JWK");
  nlohmann::json j;
  switch (k.type()) {
    case key_type::rsa:
      j["kty"] = "RSA";
      j["n"] = b64_bignum(pkey, OSSL_PKEY_PARAM_RSA_N);
      j["e"] = b64_bignum(pkey, OSSL_PKEY_PARAM_RSA_E);
      break;
    case key_type::ec: {
      const algorithm alg = k.alg();
      for (const curve_info& c : curves)
        if (c.ec && c.alg == alg) {
          j["kty"] = "EC";
          j["crv"] = c.crv;
          j["x"] = b64_bignum(pkey, OSSL_PKEY_PARAM_EC_PUB_X, c.size);
          j["y"] = b64_bignum(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, c.size);
        }
      break;
    }
    case key_type::okp: {
      const bool ed448 = EVP_PKEY_is_a(pkey, "ED448");
      std::string x(ed448 ? 57 : 32, '\0');
      std::size_t len = x.size();
      if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(x.data()), &len) !=
              1 ||
          len != x.size())
        throw_openssl("tokenauth: key parameter");
      j["kty"] = "OKP";
      j["crv"] = ed448 ? "Ed448" : "Ed25519";
      j["x"] = base64url::encode(x);
      break;
    }
    case key_type::oct:
      break;
  }
  return j;
}

inline std::string thumbprint(const nlohmann::json& required) {
  const sha256_digest d = sha256(required.dump());
  return base64url::encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

inline nlohmann::json public_jwk(const key& k, std::string_view kid) {
  nlohmann::json j = required_members(k);
  j["kid"] = kid.empty() ? thumbprint(j) : std::string(kid);
  j["alg"] = std::string(to_string(k.alg()));
  j["use"] = "sig";
  return j;
}

}  // namespace tokenauth::detail
