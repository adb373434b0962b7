// The demo page served at GET /: examples/server/demo.html, embedded at build time (CMake
// writes it into a generated .cpp), so the binary needs no files at run time.
#pragma once

#include <string_view>

namespace tokenauth_server {
extern const std::string_view demo_page_html;
}
