#include "csp.hpp"

#include <openssl/evp.h>

#include <string_view>

#include "demo_page.hpp"

namespace tokenauth_server {

namespace {

// SHA-256 in standard base64, the form CSP hash sources use.
std::string csp_hash(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), md, &n, EVP_sha256(), nullptr);
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), md, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return "'sha256-" + out + "'";
}

// The contents of the first <tag>...</tag> in html.
std::string_view inline_block(std::string_view html, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  std::size_t b = html.find(open);
  if (b == std::string_view::npos) return {};
  b += open.size();
  std::size_t e = html.find(close, b);
  return e == std::string_view::npos ? std::string_view{} : html.substr(b, e - b);
}

}  // namespace

std::string demo_page_csp() {
  return "default-src 'none'; script-src " + csp_hash(inline_block(demo_page_html, "script")) +
         "; style-src " + csp_hash(inline_block(demo_page_html, "style")) +
         "; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
         "frame-ancestors 'none'";
}

}  // namespace tokenauth_server
