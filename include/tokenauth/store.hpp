// The refresh_store interface behind refresh_service (memory, SQLite, Redis). Each method is ONE
// atomic operation in its backend, so servers sharing a store never interleave a decision; stores
// hold only SHA-256 digests of tokens; backend failures are errc::store_unavailable values.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tokenauth/clock.hpp"
#include "tokenauth/error.hpp"
#include "tokenauth/result.hpp"

namespace tokenauth {

// SHA-256 of a whole refresh token string; the only form in which a token is ever stored.
using token_digest = std::array<unsigned char, 32>;

// One session (family) as shown on an "active sessions" screen.
struct session_info {
  std::string family_id;
  unix_seconds created = 0;
  unix_seconds last_used = 0;
  unix_seconds expires_at = 0;  // when the session ends unless used: min(current token, family)
};

// A family id is 32 base64url characters: 8 derived from SHA-256(user id) (the user's tag), then 24
// random. The tag lets the Redis store keep a user's families and index under one hash slot.
inline constexpr std::size_t family_id_size = 32;
inline constexpr std::size_t family_tag_size = 8;

// How many index entries beyond the cap one create_family may examine: the bound on a login's
// work, whatever the user's history (see refresh_store::create_family).
inline constexpr std::size_t index_prune_budget = 64;

// Records of a family stay this long after it ends (expires, or is revoked), so a late
// presentation reports "expired"/"revoked" rather than "unknown"; then they may be swept.
inline constexpr unix_seconds expired_record_retention = 86400;

// store::create_family input: a new family with its first token (generation 0).
struct new_family {
  std::string_view family_id;  // begins with detail::user_tag(user_id)
  std::string_view user_id;
  token_digest digest;
  unix_seconds now;
  unix_seconds token_expires_at;   // sliding expiry of the first token (<= family_expires_at)
  unix_seconds family_expires_at;  // absolute end of the session
  std::size_t max_families = 0;    // 0 = unlimited; else revoke the user's oldest live families
};

// store::rotate input.
struct rotate_request {
  std::string_view family_id;  // taken from the presented token; must match the digest's family
  token_digest presented;
  token_digest successor;  // stored as generation current+1 only when the result is `rotated`
  unix_seconds now;
  unix_seconds token_ttl;  // successor expires at min(now + token_ttl, family expiry)
  unix_seconds grace;      // 0 disables the grace window
};

enum class rotate_status {
  rotated,       // presented was current: successor stored, presented becomes "previous"
  grace_replay,  // presented is the previous token, rotated out less than `grace` seconds ago
};

struct rotate_outcome {
  rotate_status status;
  std::string user_id;
  unix_seconds expires_at;  // of the successor, or of the current token on grace replay
};

// The contract each store implements (tests/store_contract.hpp checks it for every store).
// All methods are thread-safe and atomic with respect to every other call on the same backend,
// from this or any other process. Any backend failure (unreachable, timeout, busy, read-only)
// yields errc::store_unavailable and leaves the records as they were, except that a Redis timeout
// leaves the outcome unknown (the script may still run).
class refresh_store {
 public:
  virtual ~refresh_store() = default;

  // Atomically: insert the family and its first token; then, when max_families > 0, revoke the
  // user's oldest live (unrevoked, unexpired) families until at most max_families remain.
  // Records whose retention is over may be swept. Errors: store_unavailable.
  //
  // Bounded work: each store keeps a per-user index of families in creation order and a per-user
  // watermark (every family created before it counts as revoked). A call examines at most
  // index_prune_budget of the oldest index entries and at most max_families + index_prune_budget
  // of the newest, dropping ended ones from the index; when the max_families-th newest live
  // family is found, the watermark moves up to it, which revokes every older family at once. So
  // a login costs O(max_families + budget) however many sessions the user has had or still has.
  // The one case in which a call does not apply the cap in full: more than index_prune_budget
  // ended entries among the newest (expired ones; in Redis also logged-out ones, which a logout
  // cannot drop from the index because it does not know the user). Each call drops at least
  // index_prune_budget of them, so the cap applies within a few logins.
  [[nodiscard]] virtual std::error_code create_family(const new_family& f) = 0;

  // Atomically decides and applies one rotation, checking in this order:
  //   digest not a token of family_id (or records swept)  -> refresh_token_unknown
  //   family revoked                                       -> refresh_family_revoked
  //   now >= family expiry or now >= current token expiry -> refresh_token_expired
  //   presented is the current token                       -> store successor, previous :=
  //                                                           presented, rotated_at := now,
  //                                                           last_used := now; `rotated`
  //   presented is the previous token, now < rotated_at + grace -> `grace_replay` (no write)
  //   otherwise (older ancestor, or previous after grace)  -> revoke family;
  //                                                           refresh_reuse_detected
  // Of N concurrent calls with the same current token exactly one returns `rotated`.
  virtual result<rotate_outcome> rotate(const rotate_request& r) = 0;

  // Atomically marks the family revoked. With `digest`, only if it is one of the family's tokens
  // (logout by token). Revoking a revoked family succeeds. Errors: refresh_token_unknown (no such
  // family or digest), store_unavailable.
  [[nodiscard]] virtual std::error_code revoke_family(std::string_view family_id,
                                                      const token_digest* digest,
                                                      unix_seconds now) = 0;

  // Atomically revokes every family of the user (by moving the watermark: O(1)); succeeds when
  // there is none.
  [[nodiscard]] virtual std::error_code revoke_user(std::string_view user_id, unix_seconds now) = 0;

  // The user's live families (not revoked, not expired), oldest first. Examines the index entries
  // above the watermark: with a cap, at most about max_families + index_prune_budget.
  virtual result<std::vector<session_info>> sessions(std::string_view user_id,
                                                     unix_seconds now) = 0;

  // The cheapest call that must reach the backend, for readiness checks: {} when it answered,
  // store_unavailable when not. The default lists the sessions of an empty user id (none).
  [[nodiscard]] virtual std::error_code ping() {
    const auto r = sessions({}, 0);
    return r ? std::error_code{} : r.error();
  }

  // A short, fixed name of the kind of store ("memory", "sqlite", "redis"), for metrics labels.
  virtual std::string_view name() const noexcept { return "custom"; }
};

}  // namespace tokenauth
