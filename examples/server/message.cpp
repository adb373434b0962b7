#include "message.hpp"

#include <nlohmann/json.hpp>

namespace tokenauth_server {

std::string_view request_path(std::string_view target) noexcept {
  return target.substr(0, target.find_first_of("?#"));
}

response error_response(unsigned status, std::string_view message) {
  response r;
  r.status = status;
  r.body = nlohmann::json{{"ok", false}, {"status", status}, {"message", message}}.dump();
  return r;
}

}  // namespace tokenauth_server
