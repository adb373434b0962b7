#include "session_ids.hpp"

#include <openssl/crypto.h>

#include <boost/asio/ip/address.hpp>

#include "tokenauth/base64url.hpp"

namespace tokenauth_server {

namespace {

constexpr std::size_t id_bytes = 16;
constexpr std::string_view key_label = "tokenauth-server session ids v1";

// k = HMAC-SHA256(JWT secret, label): a key of its own (domain separation), so the key that signs
// access tokens never MACs anything else and a session id says nothing about it.
tokenauth::hmac_key derive_key(std::string_view jwt_secret) {
  const tokenauth::hmac_key jwt_key(jwt_secret);
  unsigned char k[32];
  jwt_key.compute(key_label, k);
  tokenauth::hmac_key derived({reinterpret_cast<const char*>(k), sizeof k});
  OPENSSL_cleanse(k, sizeof k);
  return derived;
}

}  // namespace

session_ids::session_ids(std::string_view jwt_secret) : key_(derive_key(jwt_secret)) {}

std::string session_ids::of(std::string_view family_id) const {
  unsigned char mac[32];
  key_.compute(family_id, mac);
  std::string out(tokenauth::base64url::encoded_size(id_bytes), '\0');
  tokenauth::base64url::encode_into(mac, id_bytes, out.data());
  return out;
}

bool session_ids::matches(std::string_view family_id, std::string_view id) const {
  const std::string expected = of(family_id);
  return id.size() == expected.size() &&
         CRYPTO_memcmp(expected.data(), id.data(), expected.size()) == 0;
}

bool loopback_host(std::string_view host) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

}  // namespace tokenauth_server
