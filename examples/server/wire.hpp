// A response in its HTTP/1.1 wire form, for the transport to write.
//
// Written by hand into one string whose capacity the connection reuses, rather than built as a
// Beast http::response and written by Beast's serializer: measured side by side (benchmarks/
// load.sh's GET /getnumber scenario, 1 I/O thread, 64 connections, the same binary switching
// between the two writers, three alternating 10 s rounds, medians), the Beast writer took
// 23.0 us of server CPU per request against 17.5 us for this one (+31%; rates 2514 and
// 2493 req/s on a machine at load average ~20, where the rate follows the CPU share the server
// gets, not its cost). The Beast message allocates each field and runs a composed write per
// response.
#pragma once

#include <string>

#include "message.hpp"

namespace tokenauth_server {

// Appends the HTTP/1.1 wire form of res to out.
void serialize(const response& res, bool keep_alive, std::string& out);

}  // namespace tokenauth_server
