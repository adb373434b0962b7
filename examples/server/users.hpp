// The user accounts the example server logs in: a small interface over the `users` table of the
// original app (id, name, email unique, password = bcrypt hash, nick unique, createdAt,
// updatedAt), with memory, SQLite and MySQL/MariaDB implementations. Thread-safe; storage
// failures are errc::store_unavailable.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tokenauth/result.hpp"

namespace tokenauth_server {

struct user {
  std::string id;  // decimal row id, as a string (the access token's `id` claim)
  std::string email;
  std::string nick;
  std::string name;
  std::string password_hash;  // bcrypt; never leaves the server
};

// The longest value, in characters (code points), each column stores unchanged. Join refuses
// longer input with a 400 before it reaches the store.
struct user_limits {
  std::size_t email = 0;
  std::size_t nick = 0;
  std::size_t name = 0;
};

enum class create_status {
  created,
  email_taken,
  nick_taken,
  unstorable,  // the store cannot hold a value as given (e.g. characters its charset lacks)
};

class user_store {
 public:
  virtual ~user_store() = default;
  // Inserts u (id is assigned and written back). Email and nick compare case-insensitively; when
  // both are taken, email_taken.
  virtual tokenauth::result<create_status> create(user& u) = 0;
  virtual tokenauth::result<std::optional<user>> find_by_email(std::string_view email) = 0;
  // An id that is not a decimal row id is simply not found.
  virtual tokenauth::result<std::optional<user>> find_by_id(std::string_view id) = 0;
  virtual user_limits limits() const = 0;
  // A short, fixed name of the kind of store ("memory", "sqlite", "mysql"), for messages.
  virtual std::string_view name() const noexcept { return "custom"; }
};

// The limits of the stores that do not enforce column lengths themselves (memory, SQLite).
inline constexpr user_limits default_user_limits{254, 32, 64};

// The row id `id` names: plain decimal digits, no sign, no leading zero; nullopt otherwise.
inline std::optional<std::int64_t> parse_user_id(std::string_view id) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
  if (id.empty() || ec != std::errc{} || end != id.data() + id.size() || id[0] < '1' || id[0] > '9')
    return std::nullopt;
  return v;
}

// Users in this process only; they vanish with it. For tests and trying the server out.
std::shared_ptr<user_store> make_memory_user_store();

// Opens or creates the database file and the table. Throws std::runtime_error when it cannot.
std::shared_ptr<user_store> make_sqlite_user_store(const std::string& path);

}  // namespace tokenauth_server
