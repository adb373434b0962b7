// Builds the refresh store a `--store` spec names (memory | sqlite:PATH | redis://...) and the
// user store a `--users` spec names (memory | sqlite:PATH | mysql://...). Throws
// std::runtime_error for a spec it cannot use. A down Redis is not an error (the store reconnects
// by itself and requests answer 503 meanwhile); MySQL must answer at start, since the server
// reads the table's shape then, and after that outages answer 503 the same way.
#pragma once

#include <memory>
#include <string>

namespace tokenauth {
class refresh_store;
}

namespace tokenauth_server {

class user_store;

std::shared_ptr<tokenauth::refresh_store> make_refresh_store(const std::string& spec);

std::shared_ptr<user_store> make_user_store(const std::string& spec);

// The spec with any password replaced by ***, for the banner.
std::string redact_store(const std::string& spec);

}  // namespace tokenauth_server
