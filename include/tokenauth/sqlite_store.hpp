// refresh_store in an SQLite file (tokenauth::sqlite): versioned schema, WAL, one BEGIN IMMEDIATE
// transaction per call, so connections and processes sharing a file stay consistent. Thread-safe;
// any SQLite failure (busy past the timeout, read-only, I/O) is store_unavailable, rolled back.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenauth/store.hpp"

namespace tokenauth {

class sqlite_store final : public refresh_store {
 public:
  inline static constexpr int schema_version = 2;  // version 1 files are upgraded on open

  // Opens or creates the database at `path` (":memory:" works for a private store). Throws
  // std::system_error(errc::store_unavailable) when it cannot be opened or created, or when its
  // schema is newer than this library's.
  explicit sqlite_store(std::string path,
                        std::chrono::milliseconds busy_timeout = std::chrono::seconds(5));
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  [[nodiscard]] std::error_code create_family(const new_family& f) override;
  result<rotate_outcome> rotate(const rotate_request& r) override;
  [[nodiscard]] std::error_code revoke_family(std::string_view family_id,
                                              const token_digest* digest,
                                              unix_seconds now) override;
  [[nodiscard]] std::error_code revoke_user(std::string_view user_id, unix_seconds now) override;
  result<std::vector<session_info>> sessions(std::string_view user_id, unix_seconds now) override;
  std::string_view name() const noexcept override { return "sqlite"; }

  // SQLite virtual-machine steps run by this connection's statements so far: a measure of the
  // work done, for tests of bounded work per call.
  std::uint64_t vm_steps() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tokenauth
