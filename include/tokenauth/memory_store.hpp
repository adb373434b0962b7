// In-process refresh_store (header-only; the embedded default). One mutex makes every method
// atomic and thread-safe; state is lost when the process exits. Records are swept once their
// retention ends (an amortised O(1) full sweep), so memory stays bounded under churn. Per-user
// work is bounded by the cap, not by history (see refresh_store::create_family): each user has an
// index ordered by creation and a watermark below which every family counts as revoked.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenauth/store.hpp"

namespace tokenauth {

class memory_store final : public refresh_store {
 public:
  memory_store() = default;
  std::string_view name() const noexcept override { return "memory"; }

  [[nodiscard]] std::error_code create_family(const new_family& f) override {
    std::lock_guard<std::mutex> lock(mutex_);
    maybe_sweep(f.now);
    auto [it, inserted] = families_.try_emplace(std::string(f.family_id));
    if (!inserted) return errc::store_unavailable;  // 144 random bits collided: treat as failure
    auto [u, fresh] = users_.try_emplace(std::string(f.user_id));
    user& owner = u->second;
    if (fresh) owner.name = &u->first;
    family& fam = it->second;
    fam.id = it->first;
    fam.owner = &owner;
    fam.seq = ++owner.last_seq;
    fam.created = fam.last_used = f.now;
    fam.expires_at = f.family_expires_at;
    fam.token_expires_at = f.token_expires_at;
    fam.purge_at = fam.dead_at() + expired_record_retention;
    fam.digests.push_back(f.digest);
    tokens_.emplace(f.digest, token_ref{&fam, 0});
    ++owner.refs;
    owner.index.emplace(fam.seq, &fam);
    fam.listed = true;

    // The oldest entries first: most of the ended ones are there, and all below the watermark.
    auto e = owner.index.begin();
    for (std::size_t n = 0; n < index_prune_budget && e != owner.index.end(); ++n) {
      ++index_entries_examined_;
      e = e->second->live(f.now) ? std::next(e) : unlist(owner, e, f.now);
    }
    // Then the newest (ended ones dropped there too): the max_families-th live one becomes the
    // watermark.
    std::size_t live = 0, examined = 0;
    for (auto r = owner.index.end();
         r != owner.index.begin() && examined < f.max_families + index_prune_budget; ++examined) {
      ++index_entries_examined_;
      auto cur = std::prev(r);
      if (cur->second->seq < owner.watermark) break;
      if (!cur->second->live(f.now)) {
        r = unlist(owner, cur, f.now);
        continue;
      }
      if (++live == f.max_families) {
        owner.watermark = cur->second->seq;
        break;
      }
      r = cur;
    }
    return {};
  }

  result<rotate_outcome> rotate(const rotate_request& r) override {
    std::lock_guard<std::mutex> lock(mutex_);
    maybe_sweep(r.now);
    const auto t = tokens_.find(r.presented);
    if (t == tokens_.end() || t->second.fam->id != r.family_id) return errc::refresh_token_unknown;
    family& fam = *t->second.fam;
    const std::uint64_t gen = t->second.gen;
    if (fam.revoked_now()) return errc::refresh_family_revoked;
    if (r.now >= fam.dead_at()) return errc::refresh_token_expired;
    const std::uint64_t current = fam.digests.size() - 1;
    if (gen == current) {
      fam.token_expires_at = std::min(r.now + r.token_ttl, fam.expires_at);
      fam.rotated_at = fam.last_used = r.now;
      fam.purge_at = fam.dead_at() + expired_record_retention;
      fam.digests.push_back(r.successor);
      tokens_.emplace(r.successor, token_ref{&fam, current + 1});
      return rotate_outcome{rotate_status::rotated, *fam.owner->name, fam.token_expires_at};
    }
    if (gen + 1 == current && r.now < fam.rotated_at + r.grace)
      return rotate_outcome{rotate_status::grace_replay, *fam.owner->name, fam.token_expires_at};
    revoke(fam, r.now);
    return errc::refresh_reuse_detected;
  }

  [[nodiscard]] std::error_code revoke_family(std::string_view family_id,
                                              const token_digest* digest,
                                              unix_seconds now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    maybe_sweep(now);
    const auto it = families_.find(std::string(family_id));
    if (it == families_.end()) return errc::refresh_token_unknown;
    if (digest) {
      const auto t = tokens_.find(*digest);
      if (t == tokens_.end() || t->second.fam != &it->second) return errc::refresh_token_unknown;
    }
    revoke(it->second, now);
    return {};
  }

  [[nodiscard]] std::error_code revoke_user(std::string_view user_id, unix_seconds now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    maybe_sweep(now);
    const auto it = users_.find(std::string(user_id));
    if (it != users_.end()) it->second.watermark = it->second.last_seq + 1;  // O(1), however many
    return {};
  }

  result<std::vector<session_info>> sessions(std::string_view user_id, unix_seconds now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<session_info> out;
    const auto it = users_.find(std::string(user_id));
    if (it == users_.end()) return out;
    const user& owner = it->second;
    for (auto e = owner.index.lower_bound(owner.watermark); e != owner.index.end(); ++e) {
      ++index_entries_examined_;
      const family* fam = e->second;
      if (fam->live(now)) out.push_back({fam->id, fam->created, fam->last_used, fam->dead_at()});
    }
    return out;
  }

  // Number of families held (live or awaiting sweep); for tests of bounded memory.
  std::size_t family_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return families_.size();
  }

  // Per-user index entries looked at so far by create_family and sessions; for tests of bounded
  // work per call.
  std::uint64_t index_entries_examined() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return index_entries_examined_;
  }

 private:
  struct family;
  struct user {
    const std::string* name = nullptr;       // the users_ key (node-based map: stable)
    std::map<std::uint64_t, family*> index;  // listed families by creation sequence
    std::uint64_t last_seq = 0;
    std::uint64_t watermark = 0;  // families with seq below it are revoked
    std::size_t refs = 0;         // families (listed or not) that point here
  };
  struct family {
    std::string id;
    user* owner = nullptr;
    std::uint64_t seq = 0;
    unix_seconds created = 0, last_used = 0, expires_at = 0, token_expires_at = 0, rotated_at = 0;
    unix_seconds purge_at = 0;  // swept from then on
    bool revoked = false;
    bool listed = false;                // in owner->index
    std::vector<token_digest> digests;  // index = generation; back() is the current token

    unix_seconds dead_at() const noexcept { return std::min(expires_at, token_expires_at); }
    bool revoked_now() const noexcept { return revoked || seq < owner->watermark; }
    bool live(unix_seconds now) const noexcept { return !revoked_now() && now < dead_at(); }
  };
  struct token_ref {
    family* fam;  // unordered_map nodes are stable, so the pointer survives rehashing
    std::uint64_t gen;
  };
  struct digest_hash {  // digests are uniform: any 8 bytes are a good hash
    std::size_t operator()(const token_digest& d) const noexcept {
      std::size_t h;
      std::memcpy(&h, d.data(), sizeof h);
      return h;
    }
  };
  using index_iter = std::map<std::uint64_t, family*>::iterator;

  static void revoke(family& fam, unix_seconds now) {
    fam.revoked = true;
    fam.purge_at = std::min(fam.purge_at, now + expired_record_retention);
    if (fam.listed) {
      fam.owner->index.erase(fam.seq);
      fam.listed = false;
    }
  }

  // Drops an ended entry from the index; one below the watermark is marked revoked now, so its
  // records are swept after the retention rather than at their natural end.
  static index_iter unlist(user& owner, index_iter e, unix_seconds now) {
    family& fam = *e->second;
    if (fam.seq < owner.watermark && !fam.revoked) {
      fam.revoked = true;
      fam.purge_at = std::min(fam.purge_at, now + expired_record_retention);
    }
    fam.listed = false;
    return owner.index.erase(e);
  }

  // A full sweep every max(1024, size) mutations: amortised O(1), memory at most ~2x the live set.
  void maybe_sweep(unix_seconds now) {
    if (++ops_since_sweep_ < std::max<std::size_t>(1024, families_.size())) return;
    ops_since_sweep_ = 0;
    for (auto it = families_.begin(); it != families_.end();) {
      family& fam = it->second;
      if (now < fam.purge_at) {
        ++it;
        continue;
      }
      for (const auto& d : fam.digests) tokens_.erase(d);
      user& owner = *fam.owner;
      if (fam.listed) owner.index.erase(fam.seq);
      if (--owner.refs == 0) users_.erase(users_.find(*owner.name));
      it = families_.erase(it);
    }
  }

  mutable std::mutex mutex_;
  std::unordered_map<std::string, family> families_;
  std::unordered_map<token_digest, token_ref, digest_hash> tokens_;
  std::unordered_map<std::string, user> users_;
  std::size_t ops_since_sweep_ = 0;
  mutable std::uint64_t index_entries_examined_ = 0;
};

}  // namespace tokenauth
