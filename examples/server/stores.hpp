// Builds the refresh store a `--store` spec names: memory | sqlite:PATH | redis://... .
// Throws std::runtime_error for a spec it cannot use (a down Redis is not an error: the store
// reconnects by itself and requests answer 503 meanwhile).
#pragma once

#include <memory>
#include <string>

namespace tokenauth {
class refresh_store;
}

namespace tokenauth_server {

std::shared_ptr<tokenauth::refresh_store> make_refresh_store(const std::string& spec);

// The spec with any password replaced by ***, for the banner.
std::string redact_store(const std::string& spec);

}  // namespace tokenauth_server
