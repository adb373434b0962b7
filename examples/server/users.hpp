// The user accounts the example server logs in: a small interface and its SQLite implementation,
// whose `users` table matches the existing one (id, name, email unique, password = bcrypt hash,
// nick unique, createdAt, updatedAt). Thread-safe; storage failures are errc::store_unavailable.
#pragma once

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

enum class create_status { created, email_taken, nick_taken };

class user_store {
 public:
  virtual ~user_store() = default;
  // Inserts u (id is assigned and written back). Email and nick compare case-insensitively.
  virtual tokenauth::result<create_status> create(user& u) = 0;
  virtual tokenauth::result<std::optional<user>> find_by_email(std::string_view email) = 0;
  virtual tokenauth::result<std::optional<user>> find_by_id(std::string_view id) = 0;
};

// Opens or creates the database file and the table. Throws std::runtime_error when it cannot.
std::shared_ptr<user_store> make_sqlite_user_store(const std::string& path);

}  // namespace tokenauth_server
