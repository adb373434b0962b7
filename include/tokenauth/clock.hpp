// The injectable clock shared by JWT signing/verification and the refresh service.
// Time is whole seconds since the Unix epoch, the unit of JWT NumericDate and of store TTLs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace tokenauth {

using unix_seconds = std::int64_t;

// Any callable returning the current time; tests inject a fixed or stepping clock.
using clock_fn = std::function<unix_seconds()>;

inline unix_seconds system_clock_now() noexcept {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace tokenauth
