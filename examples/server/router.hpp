// The route table and what every request passes through before and after its handler: method
// and path matching (404, 405 with Allow), the CORS preflight and headers (with Vary: Origin), the
// origin and Content-Type checks that guard against CSRF, and the choice of thread: the I/O
// thread, the store pool or the password pool (with each client address's share of its queue).
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "message.hpp"

namespace tokenauth_server {

struct services;

// The routes as logs and metrics name them: each distinct path of the route table, never a raw
// request path, so their number stays bounded. route_index() is a path's place in route_names(),
// or -1 when no route has that path ("unmatched").
const std::vector<std::string_view>& route_names();
int route_index(std::string_view path) noexcept;
inline constexpr std::string_view unmatched_route = "unmatched";

using resume_fn = std::function<void(response)>;

// Returns the response, or nullopt when the route was handed to a worker pool; then `resume` is
// called exactly once, on a pool thread, with the response. Never throws.
std::optional<response> dispatch(const request& req, const resume_fn& resume, services& s);

}  // namespace tokenauth_server
