// The route functions: each turns a request into a response, free of networking. Which path and
// method reach which function, on which thread, after which CORS and CSRF checks, is the router's
// business (router.cpp); a handler only checks what its own route needs (the Bearer token, the
// refresh cookie, the body). Thread-safe; exceptions are the router's to turn into a 500.
#pragma once

#include "message.hpp"

namespace tokenauth_server {

struct services;

namespace handlers {

// Accounts and the refresh cookie: POST /auth/join, /auth/login, /auth/reissuance, /auth/logout.
response join(const request& req, services& s);
response login(const request& req, services& s);
response reissue(const request& req, services& s);
response logout(const request& req, services& s);

// The Bearer token's user: GET /getuser, /getnumber.
response get_user(const request& req, services& s);
response get_number(const request& req, services& s);

// The caller's sessions: GET /auth/sessions, POST /auth/sessions/revoke, /auth/logout-all.
response list_sessions(const request& req, services& s);
response revoke_session(const request& req, services& s);
response logout_all(const request& req, services& s);

// The demo page (GET /) and its stolen-token simulation (POST /auth/demo/steal).
response demo_page(const request& req, services& s);
response demo_steal(const request& req, services& s);

// GET /.well-known/jwks.json, /healthz, /readyz.
response jwks(const request& req, services& s);
response healthz(const request& req, services& s);
response readyz(const request& req, services& s);

}  // namespace handlers
}  // namespace tokenauth_server
