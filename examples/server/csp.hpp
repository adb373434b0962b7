// The demo page's Content-Security-Policy. Its inline script and style are allowed by their
// SHA-256 hash sources (CSP Level 3), computed from the embedded page, so the policy needs no
// 'unsafe-inline' and cannot drift from the page.
#pragma once

#include <string>

namespace tokenauth_server {

std::string demo_page_csp();

}  // namespace tokenauth_server
