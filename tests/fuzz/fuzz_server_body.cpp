// The example server's JSON body handling for join and login, through app::handle (no sockets).
// The first input byte picks the route; the rest is the body. Invariants: an answer always comes
// (inline, or once from the password pool), its status is one the contract allows, its body is
// a JSON object, and no password hash ever appears in it.
#include <nlohmann/json.hpp>

#include <unistd.h>
#include <cstdint>
#include <cstdio>
#include <future>
#include <memory>
#include <string>

#include "app.hpp"
#include "config.hpp"
#include "fuzz_check.hpp"
#include "tokenauth/memory_store.hpp"

namespace {

// One app for the whole run; its users database is removed at exit.
struct server_under_test {
  tokenauth_server::config cfg;
  std::string db = "/tmp/tokenauth-fuzz-users-" + std::to_string(::getpid()) + ".db";
  std::unique_ptr<tokenauth_server::app> app;

  server_under_test() {
    cfg.bcrypt_cost = 4;  // the cheapest cost: the target checks handling, not hashing
    cfg.bcrypt_threads = 1;
    cfg.access_log = false;
    cfg.login_rate_account = 0;  // every input is the same client: exercise the body, not 429
    cfg.login_rate_address = 0;
    cfg.jwt_secret = "fuzz-secret-fuzz-secret-fuzz-secret-0123";
    app = std::make_unique<tokenauth_server::app>(cfg, std::make_shared<tokenauth::memory_store>(),
                                                  tokenauth_server::make_sqlite_user_store(db));
  }
  ~server_under_test() {
    app->stop_workers();
    app.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
  }
};

tokenauth_server::app& server_app() {
  static server_under_test s;
  return *s.app;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool join = data[0] & 1;
  tokenauth_server::request req;
  req.method = "POST";
  req.target = join ? "/auth/join" : "/auth/login";
  req.content_type = "application/json";
  req.body = std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::promise<tokenauth_server::response> later;
  auto inline_response = server_app().handle(
      req, [&](tokenauth_server::response r) { later.set_value(std::move(r)); });
  const tokenauth_server::response res =
      inline_response ? std::move(*inline_response) : later.get_future().get();

  const unsigned allowed[] = {200, 201, 400, 401, 409, 413, 429, 503};
  bool known = false;
  for (unsigned s : allowed) known = known || res.status == s;
  FUZZ_CHECK(known);
  const auto body = nlohmann::json::parse(res.body, nullptr, false);
  FUZZ_CHECK(body.is_object());
  FUZZ_CHECK(res.body.find("$2b$") == std::string::npos);
  return 0;
}
