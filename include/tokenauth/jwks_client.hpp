// A JWKS client (RFC 7517 §5): keeps the public keys of one issuer, fetched from its JWKS URL, and
// verifies tokens with them. For a service that verifies tokens another service signs: it holds
// no secret, keeps working while the issuer rotates keys, and rides out short issuer outages.
//
// Link tokenauth::jwks (Boost.Beast, Asio and OpenSSL's TLS stay inside the compiled library).
//
// Behaviour (docs/api.md, "JWKS client"; limits in docs/security.md):
// - HTTPS with certificate and hostname verification against the system CA store, or only the
//   CAs of `ca_file`. Plain http:// is refused unless `allow_http` is set. Redirects are not
//   followed.
// - A fetched set stays fresh for the response's Cache-Control max-age clamped to
//   [min_max_age, max_max_age] (default_max_age without one). A background thread refetches when
//   three quarters of that time have passed (conditionally, with If-None-Match), and every
//   `retry_interval` after a failure.
// - A token whose kid the set lacks, or a request arriving while no usable set is held, causes at
//   most one fetch per `refetch_interval`; requests arriving meanwhile wait for that fetch (bounded
//   by `fetch_timeout`), later ones fail with errc::unknown_kid without reaching the issuer.
// - When fetches fail, the last good set keeps verifying until `max_stale` after it stopped
//   being fresh; then verification fails closed with errc::keys_unavailable.
// - A fetch is bounded in time (`fetch_timeout`, from name resolution to the last body byte,
//   except that the system resolver keeps its own timeout) and in size (`max_response_size`).
//   Symmetric ("oct") keys in a JWKS are never used: an issuer publishes public keys only.
// - Key sets swap atomically; verify() takes no lock unless it has to fetch. Keys unchanged by a
//   refresh keep their key::id(), so verify_cache entries survive refreshes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenauth/jwk.hpp"
#include "tokenauth/jwt.hpp"
#include "tokenauth/verify_cache.hpp"

namespace tokenauth {

// The asymmetric algorithms: what a JWKS client accepts unless told otherwise. Each key still
// verifies only its own algorithm.
inline std::vector<algorithm> asymmetric_algorithms() {
  return {algorithm::rs256, algorithm::rs384, algorithm::rs512, algorithm::ps256, algorithm::ps384,
          algorithm::ps512, algorithm::es256, algorithm::es384, algorithm::es512, algorithm::eddsa};
}

struct jwks_client_options {
  using duration = std::chrono::milliseconds;
  using steady_clock_fn = std::function<std::chrono::steady_clock::time_point()>;

  std::string url;          // https://host[:port]/path; http:// only with allow_http
  std::string ca_file;      // PEM CA certificates to trust instead of the system store
  bool allow_http = false;  // plain HTTP: for loopback tests and sidecars, never across a network
  verify_options verify = default_verify();  // for every verifier built from a fetched set
  jwk_options jwk{};                         // how the set's JWKs are read

  duration default_max_age = std::chrono::minutes(5);  // freshness without Cache-Control max-age
  duration min_max_age = std::chrono::seconds(60);     // max-age is clamped into [min, max]
  duration max_max_age = std::chrono::hours(24);
  duration refetch_interval = std::chrono::seconds(30);  // fetches caused by requests, at most
  duration retry_interval = std::chrono::seconds(10);    // background retry after a failure
  duration max_stale = std::chrono::hours(1);  // last good set used this long past its freshness
  duration fetch_timeout = std::chrono::seconds(5);
  std::size_t max_response_size = 256 * 1024;  // bytes of body; headers are limited to 16 KiB
  bool background_refresh = true;              // off: fetches happen only on demand or refresh()
  steady_clock_fn clock = std::chrono::steady_clock::now;  // freshness and rate limits (tests)

  static verify_options default_verify() {
    verify_options v;
    v.algorithms = asymmetric_algorithms();
    return v;
  }
};

// Counters since construction, and the state of the current set.
struct jwks_client_stats {
  std::uint64_t fetches = 0;         // requests sent to the issuer
  std::uint64_t fetch_failures = 0;  // of which failed (network, TLS, HTTP status, bad JWKS)
  std::uint64_t not_modified = 0;    // of which answered 304
  std::uint64_t demand_fetches = 0;  // fetches caused by an unknown kid or a missing set
  std::uint64_t demand_limited = 0;  // unknown kids refused because refetch_interval had not passed
  std::size_t keys = 0;              // keys in the current set
  bool usable = false;     // verify() has a set to use now (fresh, or stale within bounds)
  std::string last_error;  // why the last fetch failed; empty once one succeeds
  std::vector<skipped_jwk> skipped;        // entries of the current set that are not used, and why
  std::chrono::milliseconds fresh_for{0};  // the clamped max-age of the current set
};

class jwks_client {
 public:
  // Starts the background thread (which fetches at once), unless background_refresh is off.
  // Throws std::invalid_argument for an unusable configuration: a URL that is not http(s)://
  // host[:port][/path], http:// without allow_http, an unreadable ca_file, bounds out of order.
  explicit jwks_client(jwks_client_options options);
  // Stops the background thread; waits for a fetch in progress (at most fetch_timeout).
  ~jwks_client();
  jwks_client(const jwks_client&) = delete;
  jwks_client& operator=(const jwks_client&) = delete;

  // Fetches the set now, in this thread. Empty on success (200 with a usable set, or 304), else
  // why it failed (the previous set is kept), e.g. "https://id.example/jwks.json: TLS handshake:
  // certificate verify failed (certificate has expired)".
  std::string refresh();

  // The verifier of the current set, or nullptr when there is none or it is stale beyond
  // max_stale. Never fetches; for callers that run their own cache or checks.
  std::shared_ptr<const verifier> current() const;

  // Verifies with the current set, fetching as described above when the token's kid is unknown
  // or no usable set is held (then errc::keys_unavailable when the fetch fails too).
  verify_result verify(std::string_view token) const;
  // The same through a verified-token cache.
  verify_result verify(std::string_view token, const verify_cache& cache) const;

  jwks_client_stats stats() const;

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tokenauth
