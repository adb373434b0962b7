// A response in its HTTP/1.1 wire form, for the transport to write.
//
// Written by hand into one string whose capacity the connection reuses, rather than built as a
// Beast http::response and written by Beast's serializer: measured side by side (benchmarks/
// load.sh's GET /getnumber scenario, 1 I/O thread, 64 connections, the same binary switching
// between the two writers, three alternating rounds, medians, idle 2-core machine), the Beast
// writer served 50,857 req/s at 19.5 us of server CPU per request against 74,773 req/s at
// 13.3 us for this one (-32% throughput, +47% CPU). The Beast message allocates each field and
// runs a composed write per response.
#pragma once

#include <string>

#include "message.hpp"

namespace tokenauth_server {

// Appends the HTTP/1.1 wire form of res to out.
void serialize(const response& res, bool keep_alive, std::string& out);

}  // namespace tokenauth_server
