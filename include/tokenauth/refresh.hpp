// Rotating refresh tokens with reuse detection (RFC 9700 §4.14.2) over a
// refresh_store. refresh_service is immutable and thread-safe; each rotation is one atomic store
// call; errors are values, and garbage input is refresh_token_unknown, never a throw.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "tokenauth/base64url.hpp"
#include "tokenauth/clock.hpp"
#include "tokenauth/detail/family_id.hpp"
#include "tokenauth/detail/random_pool.hpp"
#include "tokenauth/detail/refresh_token_format.hpp"
#include "tokenauth/detail/sha256.hpp"
#include "tokenauth/error.hpp"
#include "tokenauth/observer.hpp"
#include "tokenauth/result.hpp"
#include "tokenauth/store.hpp"

namespace tokenauth {

// Fills n bytes with CSPRNG output; returns false on failure.
using random_fn = std::function<bool(unsigned char* out, std::size_t n)>;

// OpenSSL RAND_bytes, drawn 4 KiB at a time per thread (detail/random_pool.hpp): thread-safe,
// fork-safe, and the default random_fn.
inline bool openssl_random(unsigned char* out, std::size_t n) noexcept {
  return detail::pooled_random_bytes(out, n);
}

struct refresh_options {
  unix_seconds token_ttl = 14 * 86400;        // sliding idle lifetime of each token
  unix_seconds family_lifetime = 90 * 86400;  // absolute lifetime of a session (family)
  unix_seconds grace = 5;                     // seconds; 0 disables the grace window
  std::size_t max_families_per_user = 0;  // 0 = unlimited; else the oldest family is revoked first
  clock_fn clock = system_clock_now;
  random_fn random = openssl_random;  // injectable for tests; must be a CSPRNG in production
  // Told every rotation's outcome and every store call with its duration (observer.hpp); null:
  // none.
  std::shared_ptr<tokenauth::observer> observer{};
};

struct issued_token {
  std::string token;
  std::string family_id;
  unix_seconds expires_at;
};

struct rotation {
  std::string user_id;
  std::string family_id;
  std::optional<std::string>
      token;                // the successor; nullopt = grace replay (mint an access token only)
  unix_seconds expires_at;  // of the successor (or of the current token on grace replay)
};

// The family id (session) a refresh token names, read from the token's text alone: no store call,
// and nothing about the token is proven (its secret is not checked; rotate() does that). nullopt
// for anything not shaped like a token of this library. Lets a service tell which of a user's
// sessions() a request's cookie belongs to.
inline std::optional<std::string_view> refresh_token_family(std::string_view token) noexcept {
  return detail::token_family(token);
}

class refresh_service {  // thread-safe; every decision of one rotation is one atomic store
                         // operation
 public:
  // Throws std::invalid_argument for a null store or non-positive lifetimes / negative grace.
  explicit refresh_service(std::shared_ptr<refresh_store> store, refresh_options options = {})
      : store_(std::move(store)), options_(std::move(options)) {
    if (!store_) throw std::invalid_argument("refresh_service: null store");
    if (options_.token_ttl <= 0 || options_.family_lifetime <= 0 || options_.grace < 0 ||
        !options_.clock || !options_.random)
      throw std::invalid_argument("refresh_service: invalid options");
  }

  // Starts a new family (one per login/device). Errors: std::errc::invalid_argument for an empty
  // user id, store_unavailable.
  result<issued_token> issue(std::string_view user_id) const {
    if (user_id.empty()) return std::make_error_code(std::errc::invalid_argument);
    std::string family = detail::user_tag(user_id);
    unsigned char raw[(family_id_size - family_tag_size) * 3 / 4];
    if (!options_.random(raw, sizeof raw)) return errc::store_unavailable;
    family.resize(family_id_size);
    base64url::encode_into(raw, sizeof raw, family.data() + family_tag_size);
    auto token = make_token(family);
    if (!token) return errc::store_unavailable;
    const unix_seconds now = options_.clock();
    const unix_seconds family_expires = now + options_.family_lifetime;
    const unix_seconds expires = std::min(now + options_.token_ttl, family_expires);
    const new_family f{family,  user_id,        detail::sha256(*token),        now,
                       expires, family_expires, options_.max_families_per_user};
    if (auto ec =
            call_store(store_operation::create_family, [&] { return store_->create_family(f); }))
      return ec;
    return issued_token{std::move(*token), std::move(family), expires};
  }

  // errc::refresh_token_unknown / refresh_token_expired / refresh_family_revoked /
  // refresh_reuse_detected / store_unavailable
  result<rotation> rotate(std::string_view token) const {
    result<rotation> r = rotate_impl(token);
    if (options_.observer)
      options_.observer->rotated(
          rotation_outcome_of(r ? std::error_code{} : r.error(), r && !r->token));
    return r;
  }

  // Logout: revokes the token's family (any token the family ever had). refresh_token_unknown
  // when the token names no family or is not one of its tokens.
  [[nodiscard]] std::error_code revoke(std::string_view token) const {
    const auto family = detail::token_family(token);
    if (!family) return errc::refresh_token_unknown;
    const token_digest d = detail::sha256(token);
    const unix_seconds now = options_.clock();
    return call_store(store_operation::revoke_family,
                      [&] { return store_->revoke_family(*family, &d, now); });
  }

  [[nodiscard]] std::error_code revoke_family(std::string_view family_id) const {
    if (!detail::valid_family_id(family_id)) return errc::refresh_token_unknown;
    const unix_seconds now = options_.clock();
    return call_store(store_operation::revoke_family,
                      [&] { return store_->revoke_family(family_id, nullptr, now); });
  }

  // Log out everywhere (e.g. after a password change).
  [[nodiscard]] std::error_code revoke_user(std::string_view user_id) const {
    const unix_seconds now = options_.clock();
    return call_store(store_operation::revoke_user,
                      [&] { return store_->revoke_user(user_id, now); });
  }

  // Live sessions of the user, oldest first.
  result<std::vector<session_info>> sessions(std::string_view user_id) const {
    const unix_seconds now = options_.clock();
    return call_store(store_operation::sessions, [&] { return store_->sessions(user_id, now); });
  }

  // Whether the store answers (refresh_store::ping): for readiness checks.
  [[nodiscard]] std::error_code ping() const {
    return call_store(store_operation::ping, [&] { return store_->ping(); });
  }

  const refresh_options& options() const noexcept { return options_; }
  const refresh_store& store() const noexcept { return *store_; }

 private:
  result<rotation> rotate_impl(std::string_view token) const {
    const auto family = detail::token_family(token);
    if (!family) return errc::refresh_token_unknown;
    auto successor = make_token(*family);
    if (!successor) return errc::store_unavailable;
    const rotate_request r{*family,          detail::sha256(token), detail::sha256(*successor),
                           options_.clock(), options_.token_ttl,    options_.grace};
    auto out = call_store(store_operation::rotate, [&] { return store_->rotate(r); });
    if (!out) return out.error();
    rotation rot{std::move(out->user_id), std::string(*family), std::nullopt, out->expires_at};
    if (out->status == rotate_status::rotated) rot.token = std::move(*successor);
    return rot;
  }

  static bool store_failed(std::error_code ec) noexcept { return ec == errc::store_unavailable; }
  template <class T>
  static bool store_failed(const result<T>& r) noexcept {
    return !r && store_failed(r.error());
  }

  // Runs one store call; with an observer, timed and reported.
  template <class Call>
  auto call_store(store_operation op, Call&& call) const -> decltype(call()) {
    if (!options_.observer) return call();
    const auto start = std::chrono::steady_clock::now();
    auto out = call();
    options_.observer->store_called(
        {store_->name(), op, std::chrono::steady_clock::now() - start, !store_failed(out)});
    return out;
  }

  std::optional<std::string> make_token(std::string_view family) const {
    unsigned char secret[detail::secret_bytes];
    if (!options_.random(secret, sizeof secret)) return std::nullopt;
    std::string t;
    t.reserve(detail::token_size);
    t.append(detail::token_prefix).append(family).push_back('.');
    base64url::encode_append({reinterpret_cast<const char*>(secret), sizeof secret}, t);
    return t;
  }

  std::shared_ptr<refresh_store> store_;
  refresh_options options_;
};

}  // namespace tokenauth
