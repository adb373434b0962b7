// The resource service's routes, without the transport: GET /orders answers the orders of the
// Bearer token's user, GET /healthz says whether verification keys are held. Tokens are verified
// with the issuer's public keys through a JWKS client and a verified-token cache.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenauth/jwks_client.hpp"
#include "tokenauth/verify_cache.hpp"

namespace resource_service {

struct response {
  unsigned status = 200;
  std::string body;  // JSON
  std::vector<std::pair<std::string, std::string>> headers;
};

class orders_api {
 public:
  explicit orders_api(const tokenauth::jwks_client& keys) : keys_(keys) {}

  // authorization: the Authorization header's value (empty when absent). Thread-safe.
  response handle(std::string_view method, std::string_view target,
                  std::string_view authorization) const;

  tokenauth::verify_cache_stats cache_stats() const { return cache_.stats(); }

 private:
  response orders(std::string_view authorization) const;
  response health() const;

  const tokenauth::jwks_client& keys_;
  tokenauth::verify_cache cache_;
};

}  // namespace resource_service
