// A response in its HTTP/1.1 wire form, for the transport to write.
#pragma once

#include <string>

#include "message.hpp"

namespace tokenauth_server {

// Appends the HTTP/1.1 wire form of res to out.
void serialize(const response& res, bool keep_alive, std::string& out);

}  // namespace tokenauth_server
