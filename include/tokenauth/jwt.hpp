// JSON Web Tokens (RFC 7519, compact JWS per RFC 7515, RFC 8725 practices) with any key of
// keys.hpp: HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512 and EdDSA.
// signer and verifier are immutable after construction and safe to share across threads.
// verify() reports every failure as an error code (never throws for a bad token), checks in the
// order of docs/design.md (verify order), never parses the payload before the signature holds,
// and builds no JSON DOM: registered claims come from a small strict scanner, the rest on demand.
// One heap allocation per verify (the claims' copy of the payload).
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenauth/base64url.hpp"
#include "tokenauth/clock.hpp"
#include "tokenauth/detail/claim_spans.hpp"
#include "tokenauth/detail/json_scan.hpp"
#include "tokenauth/detail/json_write.hpp"
#include "tokenauth/detail/jwt_header.hpp"
#include "tokenauth/detail/key_state.hpp"  // stack_signature_size
#include "tokenauth/error.hpp"
#include "tokenauth/keys.hpp"
#include "tokenauth/observer.hpp"
#include "tokenauth/result.hpp"

namespace tokenauth {

// ---------------------------------------------------------------------------------------------
// Signing

// Claims in the order given, written straight to JSON text (no DOM).
class claim_set {
 public:
  claim_set& set(std::string_view name, std::string_view value) {
    begin_member(name);
    detail::append_json_string(text_, value);
    return *this;
  }
  claim_set& set(std::string_view name, const char* value) {
    return set(name, std::string_view(value));
  }
  claim_set& set(std::string_view name, const std::string& value) {
    return set(name, std::string_view(value));
  }
  claim_set& set(std::string_view name, std::int64_t value) {
    begin_member(name);
    text_ += std::to_string(value);
    return *this;
  }
  claim_set& set(std::string_view name, int value) { return set(name, std::int64_t{value}); }
  claim_set& set(std::string_view name, const nlohmann::json& value) {
    begin_member(name);
    text_ += value.dump();
    return *this;
  }

  // Members written so far, without braces ("" when empty).
  std::string_view members() const noexcept { return text_; }

 private:
  void begin_member(std::string_view name) {
    if (name == "iat" || name == "exp")
      throw std::invalid_argument("tokenauth: iat and exp are set by the signer");
    if (text_.empty())
      text_.reserve(128);  // typical claims fit: one allocation
    else
      text_ += ',';
    detail::append_json_string(text_, name);
    text_ += ':';
  }

  std::string text_;
};

struct signer_options {
  unix_seconds ttl = 900;  // exp = iat + ttl
  clock_fn clock = system_clock_now;
  std::string kid{};  // written to the header when not empty
};

class signer {
 public:
  // Any key that can_sign(): an HMAC key or a private key. Throws
  // std::system_error(errc::key_cannot_sign) for a public key.
  explicit signer(key k, signer_options options = {})
      : key_(std::move(k)), options_(std::move(options)) {
    if (!key_.can_sign()) throw std::system_error(make_error_code(errc::key_cannot_sign));
    encoded_header_ = base64url::encode(detail::jwt_header(key_.alg(), options_.kid));
  }

  // The no-throw form: errc::key_cannot_sign for a public key.
  static result<signer> make(key k, signer_options options = {}) {
    if (!k.can_sign()) return errc::key_cannot_sign;
    return signer(std::move(k), std::move(options));
  }

  // Compact token for `claims` plus iat = now and exp = now + ttl.
  std::string sign(const claim_set& claims) const {
    const unix_seconds now = options_.clock();
    std::string payload;
    payload.reserve(claims.members().size() + 48);
    payload += '{';
    payload += claims.members();
    if (!claims.members().empty()) payload += ',';
    payload += R"("iat":)";
    payload += std::to_string(now);
    payload += R"(,"exp":)";
    payload += std::to_string(now + options_.ttl);
    payload += '}';
    return sign_payload(payload);
  }

  // `claims` must be an object; its own iat/exp, if any, are replaced.
  std::string sign(const nlohmann::json& claims) const {
    if (!claims.is_object()) throw std::invalid_argument("tokenauth: claims must be a JSON object");
    nlohmann::json copy = claims;
    const unix_seconds now = options_.clock();
    copy["iat"] = now;
    copy["exp"] = now + options_.ttl;
    return sign_payload(copy.dump());
  }

  // Signs an exact payload text (already a JSON object); no claims are added. For tests and
  // for callers that manage iat/exp themselves.
  std::string sign_payload(std::string_view payload) const {
    const std::size_t sig_len = key_.signature_size();
    std::string token;
    token.reserve(encoded_header_.size() + 2 + base64url::encoded_size(payload.size()) +
                  base64url::encoded_size(sig_len));
    token += encoded_header_;
    token += '.';
    base64url::encode_append(payload, token);
    unsigned char stack[detail::stack_signature_size];
    std::unique_ptr<unsigned char[]> heap;
    unsigned char* sig = stack;
    if (sig_len > sizeof stack) sig = (heap = std::make_unique<unsigned char[]>(sig_len)).get();
    key_.sign(token, sig);
    token += '.';
    base64url::encode_append(std::string_view(reinterpret_cast<const char*>(sig), sig_len), token);
    return token;
  }

  const key& signing_key() const noexcept { return key_; }

 private:
  key key_;
  signer_options options_;
  std::string encoded_header_;
};

// ---------------------------------------------------------------------------------------------
// Verification

// The verified payload. Registered claims are read at verify time; any other claim is found on
// demand in an index of the first members (or by rescanning the payload), with no DOM; json()
// builds the full DOM when wanted. Positions are offsets into its own copy: copies stay valid.
class claims {
 public:
  std::string_view json_text() const noexcept { return payload_; }
  nlohmann::json json() const { return nlohmann::json::parse(payload_); }

  // A top-level claim that is a JSON string, unescaped; nullopt when absent or not a string.
  std::optional<std::string> string(std::string_view name) const {
    const auto m = find(name);
    if (!m || m->type != detail::json_type::string) return std::nullopt;
    return text(m->value);
  }
  bool contains(std::string_view name) const { return find(name).has_value(); }

  std::optional<std::string> iss() const { return text(iss_); }
  std::optional<std::string> sub() const { return text(sub_); }
  std::optional<std::string> jti() const { return text(jti_); }
  std::optional<std::int64_t> exp() const { return whole_seconds(exp_); }
  std::optional<std::int64_t> nbf() const { return whole_seconds(nbf_); }
  std::optional<std::int64_t> iat() const { return whole_seconds(iat_); }
  std::vector<std::string> aud() const {
    std::vector<std::string> out;
    if (!aud_.present) return out;
    const std::string_view raw(payload_.data() + aud_.offset, aud_.size);
    if (raw.front() != '[') return {detail::json_unescape(raw.substr(1, raw.size() - 2))};
    for (auto& v : nlohmann::json::parse(raw)) out.push_back(v.get<std::string>());
    return out;
  }
  // The header's kid; empty when the token had none.
  const std::string& kid() const noexcept { return kid_; }

 private:
  friend class verifier;

  std::optional<std::string> text(const detail::text_span& s) const {
    if (!s.present) return std::nullopt;
    const std::string_view raw(payload_.data() + s.offset, s.size);
    return s.escaped ? detail::json_unescape(raw) : std::string(raw);
  }
  // Floor of a NumericDate, saturated to the int64 range (a double may exceed it).
  static std::optional<std::int64_t> whole_seconds(std::optional<double> v) {
    if (!v) return std::nullopt;
    constexpr double limit = 9.2e18;  // just inside ±2^63
    if (*v >= limit) return std::numeric_limits<std::int64_t>::max();
    if (*v <= -limit) return std::numeric_limits<std::int64_t>::min();
    return static_cast<std::int64_t>(std::floor(*v));
  }

  // The member named `name`, from the index made at verify time, or by rescanning the payload
  // when it had more members than the index holds.
  std::optional<detail::member_span> find(std::string_view name) const {
    auto matches = [&](const detail::text_span& key) {
      const std::string_view raw(payload_.data() + key.offset, key.size);
      return key.escaped ? detail::json_unescape(raw) == name : raw == name;
    };
    if (member_count_ <= members_.size()) {
      for (std::size_t i = 0; i < member_count_; ++i)
        if (matches(members_[i].key)) return members_[i];
      return std::nullopt;
    }
    std::optional<detail::member_span> found;
    detail::json_scanner(payload_).scan_object(
        [&](const detail::json_value& key, const detail::json_value& value) {
          const auto m = detail::member_span::of(key, value, payload_.data());
          if (!found && matches(m.key)) found = m;
        });
    return found;
  }

  std::string payload_;
  std::string kid_;
  bool has_kid_ = false;  // the header had a kid (possibly "")
  std::array<detail::member_span, 8> members_{};
  std::size_t member_count_ = 0;  // may exceed members_.size(): then only the first are indexed
  std::optional<double> exp_, nbf_, iat_;
  detail::text_span iss_, sub_, jti_, aud_;  // aud_ spans the raw value: "x" or [..]
};

using verify_result = result<claims>;

struct verify_options {
  unix_seconds leeway = 0;  // seconds of clock skew allowed for exp and nbf
  bool require_exp = true;
  std::optional<std::string> issuer{};
  std::vector<std::string> audience{};  // when not empty, the token's aud must contain one of these
  std::optional<std::string> subject{};
  // The allow-list of header algs. A token's alg must be in it AND be the selected key's own
  // algorithm (RFC 8725 §3.1); list every algorithm your keys use.
  std::vector<algorithm> algorithms{algorithm::hs256};
  // Accepted header typ values (RFC 8725 §3.11), compared case-insensitively with an optional
  // "application/" prefix on either side (RFC 7515 §4.1.9). A token without typ is accepted;
  // an empty list accepts any typ.
  std::vector<std::string> accepted_typ{"JWT", "at+jwt"};
  std::size_t max_token_size = 8192;
  clock_fn clock = system_clock_now;
  // Told the outcome of every verify() and verify_allow_expired() (observer.hpp); null: none.
  std::shared_ptr<tokenauth::observer> observer{};
};

class verifier {
 public:
  // One key: a kid in the token is ignored, the signature decides.
  explicit verifier(key k, verify_options options = {})
      : single_(std::move(k)), options_(std::move(options)) {
    remember_plain_header(&*single_);
  }
  explicit verifier(key_set keys, verify_options options = {})
      : keys_(std::move(keys)), options_(std::move(options)) {
    if (keys_.empty()) throw std::invalid_argument("tokenauth: verifier needs at least one key");
    remember_plain_header(keys_.default_key());
  }

  verify_result verify(std::string_view token) const {
    verify_result r = verify_impl(token, true);
    if (options_.observer) notify(r);
    return r;
  }

  // Every check except expiry: for reissuance, where an expired access token must still prove
  // who it was issued to.
  verify_result verify_allow_expired(std::string_view token) const {
    verify_result r = verify_impl(token, false);
    if (options_.observer) notify(r);
    return r;
  }

  claims verify_or_throw(std::string_view token) const { return verify(token).value(); }

  // The key this verifier selects for a token whose header had c.kid() (or no kid); nullptr
  // when none is configured for it.
  const key* key_for(const claims& c) const noexcept {
    if (single_) return &*single_;
    if (!c.has_kid_) return keys_.default_key();
    return keys_.find(c.kid_);
  }

  // Time (nbf, exp with leeway, by the options' clock) and iss/aud/sub checks on claims whose
  // signature already holds; errc{} when they pass.
  errc check_claims(const claims& c, bool check_exp = true) const {
    const auto now = static_cast<double>(options_.clock());
    const auto leeway = static_cast<double>(options_.leeway);
    if (c.nbf_ && now < *c.nbf_ - leeway) return errc::not_active;
    if (!c.exp_ && options_.require_exp) return errc::exp_required;
    if (check_exp && c.exp_ && now >= *c.exp_ + leeway) return errc::expired;
    if (!options_.audience.empty()) {
      const std::vector<std::string> aud = c.aud();
      bool match = false;
      for (const auto& want : options_.audience)
        for (const auto& have : aud) match = match || want == have;
      if (!match) return errc::audience_invalid;
    }
    if (options_.issuer && c.iss() != options_.issuer) return errc::issuer_invalid;
    if (options_.subject && c.sub() != options_.subject) return errc::subject_invalid;
    return errc{};
  }

  const verify_options& options() const noexcept { return options_; }

 private:
  void notify(const verify_result& r) const noexcept {
    options_.observer->verified(verify_outcome_of(r ? std::error_code{} : r.error()));
  }

  verify_result verify_impl(std::string_view token, bool check_exp) const {
    // 1. Size and shape.
    if (token.empty()) return errc::token_missing;
    if (token.size() > options_.max_token_size) return errc::token_too_large;
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
      return errc::malformed;
    const std::string_view header_b64 = token.substr(0, dot1);
    const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
    const std::string_view signature_b64 = token.substr(dot2 + 1);

    // 2. Strict base64url of all three segments. The usual header (detail::jwt_header for the
    // key a token without kid selects) passed steps 2 and 3 once at construction and is not
    // decoded again.
    claims out;
    const key* k = plain_key_ && header_b64 == plain_header_ ? &*plain_key_ : nullptr;
    std::string header_heap;
    char header_stack[512];
    char* header = header_stack;
    if (base64url::decoded_size(header_b64.size()) > sizeof header_stack) {
      header_heap.resize(base64url::decoded_size(header_b64.size()));
      header = header_heap.data();
    }
    const auto header_len =
        k ? std::optional<std::size_t>(0)
          : base64url::decode_into(header_b64, reinterpret_cast<unsigned char*>(header));
    if (!header_len) return errc::malformed;
    out.payload_.resize(base64url::decoded_size(payload_b64.size()));
    const auto payload_len =
        base64url::decode_into(payload_b64, reinterpret_cast<unsigned char*>(out.payload_.data()));
    if (!payload_len) return errc::malformed;
    out.payload_.resize(*payload_len);
    unsigned char signature_stack[detail::stack_signature_size];
    const unsigned char* signature = signature_stack;
    std::optional<std::string> signature_heap;
    std::optional<std::size_t> signature_len;
    if (base64url::decoded_size(signature_b64.size()) <= sizeof signature_stack) {
      signature_len = base64url::decode_into(signature_b64, signature_stack);
    } else {
      signature_heap = base64url::decode(signature_b64);
      if (signature_heap) {
        signature = reinterpret_cast<const unsigned char*>(signature_heap->data());
        signature_len = signature_heap->size();
      }
    }
    if (!signature_len) return errc::malformed;

    // 3. Header: alg from the accepted list, no unknown crit, an accepted typ, kid selects a
    // configured key whose own algorithm is alg. jwk, jku, x5u and x5c are never read: keys
    // come from the verifier only (RFC 8725 §3.10).
    if (!k) {
      if (const errc e = read_header(std::string_view(header, *header_len), out, k); e != errc{})
        return e;
    }

    // 4. Signature over the exact received bytes (HMAC compared in constant time).
    if (!k->verify(token.substr(0, dot2), signature, *signature_len))
      return errc::invalid_signature;

    // 5. Only now the payload.
    if (const errc e = read_claims(out); e != errc{}) return e;
    if (const errc e = check_claims(out, check_exp); e != errc{}) return e;
    return out;
  }

  errc read_header(std::string_view header, claims& out, const key*& k) const {
    std::optional<algorithm> alg;
    bool has_alg = false, has_crit = false, bad_member = false, typ_ok = true;
    detail::json_value kid;
    const errc header_error = detail::json_scanner(header).scan_object(
        [&](const detail::json_value& name, const detail::json_value& value) {
          if (detail::json_string_equals(name, "alg")) {
            has_alg = true;
            if (value.type == detail::json_type::string) alg = accepted_algorithm(value);
          } else if (detail::json_string_equals(name, "crit")) {
            has_crit = true;
          } else if (detail::json_string_equals(name, "typ")) {
            typ_ok = value.type == detail::json_type::string && accepted_typ(value);
          } else if (detail::json_string_equals(name, "kid")) {
            if (value.type == detail::json_type::string)
              kid = value;
            else
              bad_member = true;
          }
        });
    if (header_error != errc{})
      return header_error == errc::invalid_utf8      ? errc::invalid_utf8
             : header_error == errc::duplicate_claim ? errc::duplicate_claim
                                                     : errc::invalid_token;
    if (bad_member) return errc::invalid_token;
    if (!has_alg || !alg) return errc::invalid_algorithm;
    if (has_crit) return errc::unsupported_crit;  // this verifier understands no extensions
    if (!typ_ok) return errc::invalid_typ;
    k = select_key(kid, out);
    if (!k) return errc::unknown_kid;
    // The key fixes the algorithm (RFC 8725 §2.1): no HS256 with an RSA key's PEM as secret,
    // no RS/PS swap, no ES256 against a P-384 key.
    if (k->alg() != *alg) return errc::invalid_algorithm;
    return errc{};
  }

  std::optional<algorithm> accepted_algorithm(const detail::json_value& value) const {
    for (const algorithm a : options_.algorithms)
      if (detail::json_string_equals(value, to_string(a))) return a;
    return std::nullopt;
  }

  bool accepted_typ(const detail::json_value& value) const {
    if (options_.accepted_typ.empty()) return true;
    const std::string unescaped = value.escaped ? detail::json_unescape(value.raw) : std::string();
    const std::string_view typ =
        media_type(value.escaped ? std::string_view(unescaped) : value.raw);
    for (const std::string& want : options_.accepted_typ)
      if (equals_ignoring_case(typ, media_type(want))) return true;
    return false;
  }

  static bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
      if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
  }

  // A typ value without its optional "application/" prefix (RFC 7515 §4.1.9).
  static std::string_view media_type(std::string_view typ) noexcept {
    constexpr std::string_view prefix = "application/";
    if (typ.size() > prefix.size() && equals_ignoring_case(typ.substr(0, prefix.size()), prefix))
      typ.remove_prefix(prefix.size());
    return typ;
  }

  const key* select_key(const detail::json_value& kid, claims& out) const {
    if (kid.type == detail::json_type::string) {
      out.kid_ = kid.escaped ? detail::json_unescape(kid.raw) : std::string(kid.raw);
      out.has_kid_ = true;
    }
    return key_for(out);
  }

  static errc read_claims(claims& c) {
    errc type_error{};
    auto fail = [&](errc e) {
      if (type_error == errc{}) type_error = e;
    };
    const char* const base = c.payload_.data();
    auto number = [&](const detail::json_value& v, std::optional<double>& out, errc on_error) {
      double d = 0;
      if (v.type == detail::json_type::number && detail::json_number_to_double(v.raw, d))
        out = d;
      else
        fail(on_error);
    };
    auto string = [&](const detail::json_value& v, detail::text_span& out) {
      if (v.type == detail::json_type::string)
        out = detail::text_span::of(v, base);
      else
        fail(errc::invalid_token);
    };
    const errc e =
        detail::json_scanner(c.payload_)
            .scan_object([&](const detail::json_value& key, const detail::json_value& value) {
              if (c.member_count_ < c.members_.size())
                c.members_[c.member_count_] = detail::member_span::of(key, value, base);
              ++c.member_count_;
              const std::string unescaped =
                  key.escaped ? detail::json_unescape(key.raw) : std::string();
              const std::string_view name = key.escaped ? std::string_view(unescaped) : key.raw;
              if (name == "exp")
                number(value, c.exp_, errc::invalid_exp);
              else if (name == "nbf")
                number(value, c.nbf_, errc::invalid_nbf);
              else if (name == "iat")
                number(value, c.iat_, errc::invalid_iat);
              else if (name == "iss")
                string(value, c.iss_);
              else if (name == "sub")
                string(value, c.sub_);
              else if (name == "jti")
                string(value, c.jti_);
              else if (name == "aud" && !read_audience(value, base, c.aud_))
                fail(errc::audience_invalid);
            });
    return e != errc{} ? e : type_error;
  }

  // aud is a string or an array of strings. The span keeps a string's quotes so aud() can tell
  // the two forms apart. Arrays are rare, so checking one with a DOM is fine.
  static bool read_audience(const detail::json_value& v, const char* base, detail::text_span& out) {
    if (v.type == detail::json_type::array) {
      for (const auto& item : nlohmann::json::parse(v.raw))
        if (!item.is_string()) return false;
    } else if (v.type != detail::json_type::string) {
      return false;
    }
    out = detail::text_span::of(v, base);
    if (v.type == detail::json_type::string) {
      out.offset -= 1;
      out.size += 2;
    }
    return true;
  }

  // The header the signer writes for a token without kid, and the key such a token selects:
  // when the options accept that header, it skips steps 2 and 3.
  void remember_plain_header(const key* k) {
    if (!k) return;
    bool alg_ok = false;
    for (const algorithm a : options_.algorithms) alg_ok = alg_ok || a == k->alg();
    bool typ_ok = options_.accepted_typ.empty();
    for (const std::string& t : options_.accepted_typ)
      typ_ok = typ_ok || equals_ignoring_case(media_type(t), "JWT");
    if (!alg_ok || !typ_ok) return;
    plain_key_ = *k;
    plain_header_ = base64url::encode(detail::jwt_header(k->alg()));
  }

  std::optional<key> single_;
  key_set keys_;
  verify_options options_;
  std::optional<key> plain_key_;
  std::string plain_header_;
};

}  // namespace tokenauth
