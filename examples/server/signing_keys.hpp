// The keys the server signs access tokens with, verifies them by and publishes as a JWKS.
//
// HS256 (the default) signs with JWT_SECRET and publishes nothing. ES256, EdDSA and RS256 sign
// with a PEM private key (--jwt-key-file or JWT_PRIVATE_KEY) or with the newest of the *.pem
// files of --jwt-keys-dir; each public key is published under its RFC 7638 thumbprint, which is
// also the kid of the tokens it signs.
//
// A generation of keys (signer, verifier, JWKS) is one immutable key_bundle. reload() rescans the
// directory and swaps in a new bundle with std::atomic_store; requests take the current one with
// std::atomic_load, so a reload never blocks nor fails a request, and a request finishes with the
// bundle it started with. A key gone from the directory keeps verifying, and stays published, for
// one access-token lifetime after the reload that noticed, so the tokens it signed live out their
// time.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "config.hpp"
#include "tokenauth/clock.hpp"
#include "tokenauth/jwt.hpp"
#include "tokenauth/keys.hpp"

namespace tokenauth_server {

struct key_bundle {
  tokenauth::signer signer;
  tokenauth::verifier verifier;
  std::string jwks;         // {"keys":[...]}: public members only; no keys for HS256
  std::string etag;         // strong entity tag of jwks (quoted)
  std::string signing_kid;  // empty for HS256
  std::size_t verify_keys;  // keys the verifier holds (retired ones included)
  // When a retired key's time is up: current() builds the next bundle without it.
  tokenauth::unix_seconds valid_until;
};

class signing_keys {
 public:
  // Loads the keys cfg names. Throws std::invalid_argument with a message naming the setting
  // (the key file, the directory or JWT_PRIVATE_KEY) when they cannot be used. Every bundle's
  // verifier reports to `observer` (null: none).
  signing_keys(const config& cfg, tokenauth::clock_fn clock,
               std::shared_ptr<tokenauth::observer> observer = nullptr);
  signing_keys(const signing_keys&) = delete;
  signing_keys& operator=(const signing_keys&) = delete;

  // The current bundle. Thread-safe; holding it keeps its keys alive.
  std::shared_ptr<const key_bundle> current() const;

  struct reload_outcome {
    bool ok;
    std::string message;  // for the log: what is in use now, or why the old keys stay
  };
  // Rescans --jwt-keys-dir. Any unusable file keeps the previous keys, all of them. Thread-safe.
  reload_outcome reload();

 private:
  struct retired_key {
    tokenauth::key key;  // public part
    tokenauth::unix_seconds until;
  };
  void publish(tokenauth::unix_seconds now) const;  // reload_mutex_ held

  config cfg_;
  tokenauth::clock_fn clock_;
  std::shared_ptr<tokenauth::observer> observer_;
  mutable std::mutex reload_mutex_;  // serialises reloads and retirements
  // The directory's keys at the last good scan: kid -> private key; signing_kid_ signs.
  std::map<std::string, tokenauth::key> active_;
  std::string signing_kid_;
  mutable std::map<std::string, retired_key> retired_;
  mutable std::shared_ptr<const key_bundle> bundle_;  // only through std::atomic_load/store
};

}  // namespace tokenauth_server
