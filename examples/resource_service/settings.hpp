// The resource service's settings: command-line flags, each with an environment variable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace resource_service {

struct settings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8081;
  std::string jwks_url = "http://127.0.0.1:8080/.well-known/jwks.json";
  std::string ca_file;      // PEM CAs for an https:// JWKS URL on a private PKI
  bool allow_http = false;  // implied for a loopback http:// URL
  std::string issuer;       // when set, tokens must carry this iss
  unsigned threads = 0;     // 0: one per core
  // JWKS client tuning (defaults: those of tokenauth::jwks_client_options).
  std::optional<std::chrono::milliseconds> min_max_age, refetch_interval, max_stale, retry_interval;
};

// The settings, or (exit_code, message) when the arguments ask for help or are wrong.
struct settings_outcome {
  std::optional<settings> values;
  int exit_code = 0;
  std::string message;
};

using env_fn = std::function<std::optional<std::string>(const std::string&)>;

settings_outcome parse_settings(const std::vector<std::string>& args, const env_fn& env);

}  // namespace resource_service
