// Liveness and readiness answers. /healthz says only that the process serves requests. /readyz
// asks each store a cheap question that must reach the store (refresh_store::ping(); a user id no
// row has) and answers 200 only when both came back without error within the budget; otherwise
// 503 naming what failed, by role and kind ("refresh store (redis)"). A store call cannot be
// interrupted, so the budget bounds the answer only as far as the store's own timeouts do; a ping
// slower than the budget counts as failed, since a store that slow is not serving requests either.
#pragma once

#include <chrono>

#include "app.hpp"
#include "users.hpp"

namespace tokenauth {
class refresh_service;
}

namespace tokenauth_server {

inline constexpr std::chrono::milliseconds readiness_budget{2000};

response health_response();

response readiness_response(const tokenauth::refresh_service& refresh, user_store& users,
                            std::chrono::milliseconds budget = readiness_budget);

}  // namespace tokenauth_server
