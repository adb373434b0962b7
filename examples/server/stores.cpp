#include "stores.hpp"

#include <stdexcept>

#include "mysql_users.hpp"
#include "tokenauth/memory_store.hpp"
#include "tokenauth/redis_store.hpp"
#include "tokenauth/sqlite_store.hpp"

namespace tokenauth_server {

std::shared_ptr<tokenauth::refresh_store> make_refresh_store(const std::string& spec) {
  if (spec == "memory") return std::make_shared<tokenauth::memory_store>();
  if (spec.rfind("sqlite:", 0) == 0)
    return std::make_shared<tokenauth::sqlite_store>(spec.substr(7));
  if (spec.rfind("redis://", 0) == 0 || spec.rfind("redis-cluster://", 0) == 0 ||
      spec.rfind("redis-sentinel://", 0) == 0) {
    auto options = tokenauth::redis_options::from_url(spec);
    if (!options)
      throw std::runtime_error("cannot use store '" + redact_store(spec) +
                               "': " + options.error().message());
    return std::make_shared<tokenauth::redis_store>(*options);
  }
  throw std::runtime_error("unknown store '" + redact_store(spec) + "'");
}

std::shared_ptr<user_store> make_user_store(const std::string& spec) {
  if (spec == "memory") return make_memory_user_store();
  if (spec.rfind("sqlite:", 0) == 0 && spec.size() > 7)
    return make_sqlite_user_store(spec.substr(7));
  if (is_mysql_url(spec)) {
    std::string error;
    auto options = parse_mysql_url(spec, error);
    if (!options)
      throw std::runtime_error("cannot use users '" + redact_store(spec) + "': " + error);
    return make_mysql_user_store(*options);
  }
  throw std::runtime_error("unknown users '" + redact_store(spec) + "'");
}

std::string redact_store(const std::string& spec) {
  const std::size_t scheme = spec.find("://");
  const std::size_t at = spec.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return spec;
  const std::size_t colon = spec.find(':', scheme + 3);
  const std::size_t keep = colon != std::string::npos && colon < at ? colon + 1 : scheme + 3;
  return spec.substr(0, keep) + "***" + spec.substr(at);
}

}  // namespace tokenauth_server
