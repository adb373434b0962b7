// Every core tokenauth header in one include: keys (HMAC and public-key, JWK/JWKS), JWT signing
// and verification with the verified-token cache, refresh tokens with the in-memory store, and
// the HTTP helpers. Not included here: the compiled stores and the JWKS client
// (sqlite_store.hpp, redis_store.hpp, jwks_client.hpp: they need their link targets) and beast.hpp
// (needs Boost).
#pragma once

#include "tokenauth/algorithm.hpp"
#include "tokenauth/base64url.hpp"
#include "tokenauth/clock.hpp"
#include "tokenauth/error.hpp"
#include "tokenauth/hmac.hpp"
#include "tokenauth/http.hpp"
#include "tokenauth/jwk.hpp"
#include "tokenauth/jwt.hpp"
#include "tokenauth/keys.hpp"
#include "tokenauth/memory_store.hpp"
#include "tokenauth/observer.hpp"
#include "tokenauth/refresh.hpp"
#include "tokenauth/result.hpp"
#include "tokenauth/store.hpp"
#include "tokenauth/verify_cache.hpp"
#include "tokenauth/version.hpp"
