// In-process refresh_store (header-only; the embedded default). One mutex makes every method
// atomic and thread-safe; state is lost when the process exits. Records are swept once their
// retention ends (an amortised O(1) full sweep), so memory stays bounded under churn.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
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

  std::error_code create_family(const new_family& f) override {
    std::lock_guard<std::mutex> lock(mutex_);
    maybe_sweep(f.now);
    auto [it, inserted] = families_.try_emplace(std::string(f.family_id));
    if (!inserted) return errc::store_unavailable;  // 144 random bits collided: treat as failure
    family& fam = it->second;
    fam.id = it->first;
    fam.user = std::string(f.user_id);
    fam.created = fam.last_used = f.now;
    fam.expires_at = f.family_expires_at;
    fam.token_expires_at = f.token_expires_at;
    fam.purge_at = fam.dead_at() + expired_record_retention;
    fam.digests.push_back(f.digest);
    tokens_.emplace(f.digest, token_ref{&fam, 0});

    auto& mine = users_[fam.user];
    // Revoked or ended families need no index entry any more; drop them while we are here.
    mine.erase(
        std::remove_if(mine.begin(), mine.end(), [&](const family* x) { return !x->live(f.now); }),
        mine.end());
    mine.push_back(&fam);
    if (f.max_families > 0)
      while (mine.size() > f.max_families) {
        mine.front()->revoke(f.now);
        mine.erase(mine.begin());
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
    if (fam.revoked) return errc::refresh_family_revoked;
    if (r.now >= fam.dead_at()) return errc::refresh_token_expired;
    const std::uint64_t current = fam.digests.size() - 1;
    if (gen == current) {
      fam.token_expires_at = std::min(r.now + r.token_ttl, fam.expires_at);
      fam.rotated_at = fam.last_used = r.now;
      fam.purge_at = fam.dead_at() + expired_record_retention;
      fam.digests.push_back(r.successor);
      tokens_.emplace(r.successor, token_ref{&fam, current + 1});
      return rotate_outcome{rotate_status::rotated, fam.user, fam.token_expires_at};
    }
    if (gen + 1 == current && r.now < fam.rotated_at + r.grace)
      return rotate_outcome{rotate_status::grace_replay, fam.user, fam.token_expires_at};
    fam.revoke(r.now);
    return errc::refresh_reuse_detected;
  }

  std::error_code revoke_family(std::string_view family_id, const token_digest* digest,
                                unix_seconds now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    maybe_sweep(now);
    const auto it = families_.find(std::string(family_id));
    if (it == families_.end()) return errc::refresh_token_unknown;
    if (digest) {
      const auto t = tokens_.find(*digest);
      if (t == tokens_.end() || t->second.fam != &it->second) return errc::refresh_token_unknown;
    }
    it->second.revoke(now);
    return {};
  }

  std::error_code revoke_user(std::string_view user_id, unix_seconds now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    maybe_sweep(now);
    const auto it = users_.find(std::string(user_id));
    if (it == users_.end()) return {};
    for (family* fam : it->second) fam->revoke(now);
    users_.erase(it);
    return {};
  }

  result<std::vector<session_info>> sessions(std::string_view user_id, unix_seconds now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<session_info> out;
    const auto it = users_.find(std::string(user_id));
    if (it == users_.end()) return out;
    for (const family* fam : it->second)
      if (fam->live(now)) out.push_back({fam->id, fam->created, fam->last_used, fam->dead_at()});
    return out;
  }

  // Number of families held (live or awaiting sweep); for tests of bounded memory.
  std::size_t family_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return families_.size();
  }

 private:
  struct family {
    std::string id, user;
    unix_seconds created = 0, last_used = 0, expires_at = 0, token_expires_at = 0, rotated_at = 0;
    unix_seconds purge_at = 0;  // swept from then on
    bool revoked = false;
    std::vector<token_digest> digests;  // index = generation; back() is the current token

    unix_seconds dead_at() const noexcept { return std::min(expires_at, token_expires_at); }
    bool live(unix_seconds now) const noexcept { return !revoked && now < dead_at(); }
    void revoke(unix_seconds now) noexcept {
      revoked = true;
      purge_at = std::min(purge_at, now + expired_record_retention);
    }
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
      if (auto u = users_.find(fam.user); u != users_.end()) {
        auto& v = u->second;
        v.erase(std::remove(v.begin(), v.end(), &fam), v.end());
        if (v.empty()) users_.erase(u);
      }
      it = families_.erase(it);
    }
  }

  mutable std::mutex mutex_;
  std::unordered_map<std::string, family> families_;
  std::unordered_map<token_digest, token_ref, digest_hash> tokens_;
  std::unordered_map<std::string, std::vector<family*>> users_;  // creation order
  std::size_t ops_since_sweep_ = 0;
};

}  // namespace tokenauth
