// /healthz and /readyz over the real transport: ready with working stores; 503 naming the store
// that fails (a wrapper that fails on demand, and a Redis store whose server is not there).
#include <catch2/catch.hpp>

#include "server_fixture.hpp"

using namespace test_server;

namespace {

// A memory refresh store whose calls fail with store_unavailable while `down` is set.
class switchable_store final : public tokenauth::refresh_store {
 public:
  std::atomic<bool> down{false};

  std::error_code create_family(const tokenauth::new_family& f) override {
    if (down) return tokenauth::errc::store_unavailable;
    return inner_.create_family(f);
  }
  tokenauth::result<tokenauth::rotate_outcome> rotate(const tokenauth::rotate_request& r) override {
    if (down) return tokenauth::errc::store_unavailable;
    return inner_.rotate(r);
  }
  std::error_code revoke_family(std::string_view family, const tokenauth::token_digest* d,
                                tokenauth::unix_seconds now) override {
    if (down) return tokenauth::errc::store_unavailable;
    return inner_.revoke_family(family, d, now);
  }
  std::error_code revoke_user(std::string_view user, tokenauth::unix_seconds now) override {
    if (down) return tokenauth::errc::store_unavailable;
    return inner_.revoke_user(user, now);
  }
  tokenauth::result<std::vector<tokenauth::session_info>> sessions(
      std::string_view user, tokenauth::unix_seconds now) override {
    ++session_calls;
    if (down) return tokenauth::errc::store_unavailable;
    return inner_.sessions(user, now);
  }
  std::atomic<int> session_calls{0};

 private:
  tokenauth::memory_store inner_;
};

// A memory user store whose lookups fail while `down` is set.
class switchable_users final : public tokenauth_server::user_store {
 public:
  std::atomic<bool> down{false};
  std::atomic<int> lookups{0};

  tokenauth::result<tokenauth_server::create_status> create(tokenauth_server::user& u) override {
    if (down) return tokenauth::errc::store_unavailable;
    return inner_->create(u);
  }
  tokenauth::result<std::optional<tokenauth_server::user>> find_by_email(
      std::string_view email) override {
    if (down) return tokenauth::errc::store_unavailable;
    return inner_->find_by_email(email);
  }
  tokenauth::result<std::optional<tokenauth_server::user>> find_by_id(
      std::string_view id) override {
    ++lookups;
    if (down) return tokenauth::errc::store_unavailable;
    return inner_->find_by_id(id);
  }
  tokenauth_server::user_limits limits() const override { return inner_->limits(); }

 private:
  std::shared_ptr<tokenauth_server::user_store> inner_ = tokenauth_server::make_memory_user_store();
};

// A loopback port nothing listens on: bound, then closed.
std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("healthz answers 200 while the process serves, whatever the stores do") {
  auto store = std::make_shared<switchable_store>();
  auto users = std::make_shared<switchable_users>();
  fixture f(store, test_config(), nullptr, users);
  store->down = true;
  users->down = true;
  auto r = f.request("GET", "/healthz");
  CHECK(r.status == 200);
  CHECK(body_json(r) == nlohmann::json{{"ok", true}});
  CHECK(store->session_calls == 0);  // liveness never touches a store
  CHECK(users->lookups == 0);
  CHECK(f.request("POST", "/healthz").status == 405);
}

TEST_CASE("readyz is 200 only when both stores answer, else 503 naming the failed store") {
  auto store = std::make_shared<switchable_store>();
  auto users = std::make_shared<switchable_users>();
  fixture f(store, test_config(), nullptr, users);

  auto ready = f.request("GET", "/readyz");
  CHECK(ready.status == 200);
  CHECK(body_json(ready)["ok"] == true);
  CHECK(body_json(ready)["checks"] == nlohmann::json{{"refreshStore", "ok"}, {"userStore", "ok"}});
  CHECK(store->session_calls == 1);  // each store was really asked
  CHECK(users->lookups == 1);

  store->down = true;
  auto r = f.request("GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(body_json(r)["ok"] == false);
  CHECK(body_json(r)["message"] == "Not ready: refresh store (custom) not answering");
  CHECK(body_json(r)["checks"]["refreshStore"] == "unavailable");
  CHECK(body_json(r)["checks"]["userStore"] == "ok");

  users->down = true;
  r = f.request("GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(body_json(r)["message"] ==
        "Not ready: refresh store (custom) and user store (custom) not answering");

  store->down = false;
  r = f.request("GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(body_json(r)["message"] == "Not ready: user store (custom) not answering");
  CHECK(body_json(r)["checks"] ==
        nlohmann::json{{"refreshStore", "ok"}, {"userStore", "unavailable"}});

  users->down = false;
  CHECK(f.request("GET", "/readyz").status == 200);  // ready again once the store is back
}

TEST_CASE("readyz with a Redis refresh store whose server is down is 503 naming it") {
  tokenauth::redis_options o;
  o.host = "127.0.0.1";
  o.port = closed_port();
  config cfg = test_config();
  cfg.store_threads = 1;  // store routes on the store pool, as the server runs Redis
  fixture f(std::make_shared<tokenauth::redis_store>(o), cfg);
  auto r = f.request("GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(body_json(r)["checks"]["refreshStore"] == "unavailable");
  CHECK(body_json(r)["checks"]["userStore"] == "ok");  // the SQLite user store is fine
  CHECK(body_json(r)["message"] == "Not ready: refresh store (redis) not answering");
}
