// The memory user store: rows by id plus two case-folded unique indexes, under one mutex.
#include <map>
#include <mutex>
#include <unordered_map>

#include "users.hpp"

namespace tokenauth_server {
namespace {

// ASCII case folding, as SQLite's NOCASE does: the unique indexes compare through it.
std::string fold(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

class memory_user_store final : public user_store {
 public:
  tokenauth::result<create_status> create(user& u) override {
    std::string email = fold(u.email), nick = fold(u.nick);
    std::lock_guard lock(mutex_);
    if (by_email_.count(email)) return create_status::email_taken;
    if (by_nick_.count(nick)) return create_status::nick_taken;
    const std::int64_t id = ++last_id_;
    u.id = std::to_string(id);
    rows_.emplace(id, u);
    by_email_.emplace(std::move(email), id);
    by_nick_.emplace(std::move(nick), id);
    return create_status::created;
  }

  tokenauth::result<std::optional<user>> find_by_email(std::string_view email) override {
    const std::string key = fold(email);
    std::lock_guard lock(mutex_);
    auto it = by_email_.find(key);
    if (it == by_email_.end()) return std::optional<user>();
    return std::optional<user>(rows_.at(it->second));
  }

  tokenauth::result<std::optional<user>> find_by_id(std::string_view id) override {
    const auto row = parse_user_id(id);
    if (!row) return std::optional<user>();
    std::lock_guard lock(mutex_);
    auto it = rows_.find(*row);
    if (it == rows_.end()) return std::optional<user>();
    return std::optional<user>(it->second);
  }

  user_limits limits() const override { return default_user_limits; }
  std::string_view name() const noexcept override { return "memory"; }

 private:
  std::mutex mutex_;
  std::int64_t last_id_ = 0;
  std::map<std::int64_t, user> rows_;
  std::unordered_map<std::string, std::int64_t> by_email_, by_nick_;
};

}  // namespace

std::shared_ptr<user_store> make_memory_user_store() {
  return std::make_shared<memory_user_store>();
}

}  // namespace tokenauth_server
