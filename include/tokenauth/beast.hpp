// Verifies the Bearer token of a Boost.Beast request in one call. Header-only; this is the only
// tokenauth header that includes Boost (Beast), so the core keeps no Boost dependency: include it
// only where you use Beast. Thread safety and errors are those of verifier::verify.
#pragma once

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>

#include "tokenauth/error.hpp"
#include "tokenauth/http.hpp"
#include "tokenauth/jwt.hpp"
#include "tokenauth/verify_cache.hpp"

namespace tokenauth::beast {

// The claims of the request's `Authorization: Bearer <token>`, verified by `v`. A missing
// Authorization header, another scheme or an empty token is errc::token_missing ("jwt must be
// provided"); every other failure is the verifier's (expired, invalid signature, ...).
// Works on any request or request header: http::request<Body, Fields>, parser.get(), ...
template <class Fields>
verify_result verify_bearer(const verifier& v,
                            const ::boost::beast::http::header<true, Fields>& request) {
  const auto token = http::bearer_token(request[::boost::beast::http::field::authorization]);
  if (!token) return errc::token_missing;
  return v.verify(*token);
}

// The same through a verified-token cache (verify_cache::verify): a token seen before costs a
// SHA-256 and a look-up instead of a signature check; time and iss/aud/sub checks still run.
template <class Fields>
verify_result verify_bearer(const verifier& v, const verify_cache& cache,
                            const ::boost::beast::http::header<true, Fields>& request) {
  const auto token = http::bearer_token(request[::boost::beast::http::field::authorization]);
  if (!token) return errc::token_missing;
  return cache.verify(v, *token);
}

}  // namespace tokenauth::beast
