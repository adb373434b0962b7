// Runs the example server in-process on a free loopback port, with a clock the test moves, over
// the memory store or a real Redis (tests/support/redis_server.hpp). Helpers speak the HTTP
// contract of docs/design.md.
#pragma once

#include <unistd.h>
#include <atomic>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "../support/redis_server.hpp"
#include "access_log.hpp"
#include "app.hpp"
#include "config.hpp"
#include "http_client.hpp"
#include "server.hpp"
#include "tokenauth/memory_store.hpp"
#include "tokenauth/redis_store.hpp"

namespace test_server {

using tokenauth_server::config;

inline config test_config() {
  config c;
  c.port = 0;
  c.threads = 2;
  c.bcrypt_cost = 4;  // the cheapest cost: tests check behaviour, not hashing time
  c.bcrypt_threads = 2;
  c.access_log = false;
  c.jwt_secret = "test-secret-test-secret-test-secret-0123456789";
  // Every request comes from 127.0.0.1: login throttling and the per-address share of the
  // password queue are off here, and on in throttle_test, which tests them.
  c.login_rate_account = 0;
  c.login_rate_address = 0;
  c.bcrypt_queue_per_address = c.bcrypt_queue;
  return c;
}

// One Redis per test process, started on first use.
inline tokenauth::test::redis_server& shared_redis() {
  static tokenauth::test::redis_server redis;
  return redis;
}

inline std::shared_ptr<tokenauth::refresh_store> make_store(const std::string& kind) {
  if (kind == "memory") return std::make_shared<tokenauth::memory_store>();
  tokenauth::redis_options o;
  o.host = "127.0.0.1";
  o.port = shared_redis().port();
  static std::atomic<int> n{0};  // a fresh key space per server
  o.key_prefix = "server-test:" + std::to_string(::getpid()) + ":" + std::to_string(n++) + ":";
  return std::make_shared<tokenauth::redis_store>(o);
}

class fixture {
 public:
  // Users in a fresh SQLite file unless `users` names another store.
  explicit fixture(std::shared_ptr<tokenauth::refresh_store> store, config cfg = test_config(),
                   std::FILE* log_file = nullptr,
                   std::shared_ptr<tokenauth_server::user_store> users = nullptr,
                   tokenauth_server::metrics* stats = nullptr)
      : cfg_(std::move(cfg)),
        db_path_("/tmp/tokenauth-server-test-" + std::to_string(::getpid()) + "-" +
                 std::to_string(counter()++) + ".db") {
    std::remove(db_path_.c_str());
    if (!users) users = tokenauth_server::make_sqlite_user_store(db_path_);
    app_.emplace(
        cfg_, std::move(store), std::move(users),
        [this] { return tokenauth::system_clock_now() + offset_.load(); }, stats);
    log_.emplace(log_file, cfg_.access_log_format);
    server_.emplace(cfg_, *app_, *log_, stats);
    runner_ = std::thread([this] { server_->run(); });
  }
  // Redis runs put store calls on the store pool (as the server does by default); memory inline.
  explicit fixture(const std::string& kind, config cfg = test_config())
      : fixture(make_store(kind), with_store_threads(std::move(cfg), kind == "memory" ? 0 : 2)) {}

  ~fixture() {
    server_->stop();
    runner_.join();
    app_->stop_workers();
    server_.reset();
    log_.reset();
    app_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db_path_ + suffix).c_str());
  }

  std::uint16_t port() const { return server_->port(); }
  void advance(tokenauth::unix_seconds s) { offset_ += s; }
  tokenauth_server::app& application() { return *app_; }

  test_http::reply request(std::string_view method, std::string_view target,
                           const test_http::header_list& headers = {}, std::string_view body = {}) {
    return test_http::request(port(), method, target, headers, body);
  }

 private:
  static config with_store_threads(config c, unsigned n) {
    c.store_threads = n;
    return c;
  }

  static std::atomic<int>& counter() {
    static std::atomic<int> n{0};
    return n;
  }

  config cfg_;
  std::string db_path_;
  std::atomic<tokenauth::unix_seconds> offset_{0};
  std::optional<tokenauth_server::app> app_;
  std::optional<tokenauth_server::access_log> log_;
  std::optional<tokenauth_server::server> server_;
  std::thread runner_;
};

inline nlohmann::json body_json(const test_http::reply& r) {
  return nlohmann::json::parse(r.body);
}

// The value of the refreshToken Set-Cookie of a reply, or nullopt when none was set.
inline std::optional<std::string> refresh_cookie(const test_http::reply& r) {
  for (const auto& c : r.all("set-cookie")) {
    if (c.rfind("refreshToken=", 0) != 0) continue;
    return c.substr(13, c.find(';') - 13);
  }
  return std::nullopt;
}

// A POST as the API's clients send it: the body declared as JSON (the server refuses others).
inline test_http::reply post(fixture& f, std::string_view path, test_http::header_list headers = {},
                             std::string_view body = {}) {
  headers.emplace_back("Content-Type", "application/json");
  return f.request("POST", path, headers, body);
}

inline test_http::reply join(fixture& f, const std::string& email, const std::string& nick,
                             const std::string& password = "correct horse") {
  nlohmann::json body{
      {"email", email}, {"nick", nick}, {"password", password}, {"name", nick + " Name"}};
  return post(f, "/auth/join", {}, body.dump());
}

inline test_http::reply login(fixture& f, const std::string& email,
                              const std::string& password = "correct horse") {
  nlohmann::json body{{"email", email}, {"password", password}};
  return post(f, "/auth/login", {}, body.dump());
}

struct session {
  std::string access;
  std::string cookie;
};

// Joins and logs in a fresh user.
inline session new_session(fixture& f, const std::string& nick) {
  join(f, nick + "@example.com", nick);
  auto r = login(f, nick + "@example.com");
  return {body_json(r)["data"]["accessToken"].get<std::string>(), refresh_cookie(r).value_or("")};
}

inline test_http::reply reissue(fixture& f, const std::optional<std::string>& access,
                                const std::optional<std::string>& cookie) {
  test_http::header_list h;
  if (access) h.emplace_back("Authorization", "Bearer " + *access);
  if (cookie) h.emplace_back("Cookie", "refreshToken=" + *cookie);
  return post(f, "/auth/reissuance", h);
}

inline test_http::reply get(fixture& f, const std::string& path, const std::string& access) {
  return f.request("GET", path, {{"Authorization", "Bearer " + access}});
}

}  // namespace test_server
