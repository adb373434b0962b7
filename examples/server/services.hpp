// What the handlers share: the configuration, the signing keys, the refresh service, the user
// store, the login throttle and the worker pools. One instance per app, built by its constructor;
// the handlers and the router reach everything through it.
#pragma once

#include <memory>
#include <string>

#include "config.hpp"
#include "metrics.hpp"
#include "password.hpp"
#include "session_ids.hpp"
#include "signing_keys.hpp"
#include "throttle.hpp"
#include "tokenauth/clock.hpp"
#include "tokenauth/http.hpp"
#include "tokenauth/refresh.hpp"
#include "tokenauth/verify_cache.hpp"
#include "users.hpp"
#include "worker_pool.hpp"

namespace tokenauth_server {

struct services {
  config cfg;
  signing_keys keys;  // the signer, verifier and JWKS of the moment
  // Bearer tokens that verified: one presented again costs a SHA-256 and a lookup instead of a
  // signature check (an EdDSA/ES256 verify costs 30-120 us, the whole of an authenticated GET).
  // A key reload gives new key ids, so entries of the previous keys become misses.
  tokenauth::verify_cache verified;
  tokenauth::refresh_service refresh;
  std::shared_ptr<user_store> users;
  tokenauth::http::cookie_options cookie;
  std::string dummy_hash;  // hashed for unknown emails so they cost as much as a wrong password
  std::string page_csp;
  session_ids ids;
  bool demo;  // the demo-only routes answer (else 404)
  tokenauth::clock_fn clock;
  std::unique_ptr<login_throttle> throttle;
  address_share bcrypt_share;  // each client address's share of the password queue
  // Last members: destroyed first, while the rest is still alive.
  worker_pool password_pool;
  std::unique_ptr<worker_pool> store_pool;  // null: store calls run on the I/O thread
  metrics* stats = nullptr;                 // null: metrics off
};

}  // namespace tokenauth_server
