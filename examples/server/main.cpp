// tokenauth example server: configuration, stores, the app and the HTTP transport, wired up.
#include <boost/asio/ip/address.hpp>
#include <boost/system/system_error.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "access_log.hpp"
#include "admin_server.hpp"
#include "app.hpp"
#include "config.hpp"
#include "server.hpp"
#include "stores.hpp"

using namespace tokenauth_server;

static std::string read_dotenv() {
  std::ifstream in(".env");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Prints "tokenauth-server: <what> (<fix>)" and returns the exit status of a failed start.
static int fail(const std::string& what, const std::string& fix) {
  std::fprintf(stderr, "tokenauth-server: %s (%s)\n", what.c_str(), fix.c_str());
  return 1;
}

int main(int argc, char** argv) {
  auto env = [](const std::string& key) -> std::optional<std::string> {
    const char* v = std::getenv(key.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  config_outcome parsed = parse_config({argv + 1, argv + argc}, env, read_dotenv());
  if (!parsed.cfg) {
    std::fputs((parsed.message + "\n").c_str(), parsed.exit_code ? stderr : stdout);
    return parsed.exit_code;
  }
  const config& cfg = *parsed.cfg;
  // Each start-up failure names the setting that fixes it.
  boost::system::error_code bad_host;
  boost::asio::ip::make_address(cfg.host, bad_host);
  if (bad_host)
    return fail("cannot listen on '" + cfg.host + "': not an IP address",
                "set --host or HOST to an address such as 127.0.0.1, 0.0.0.0 or ::");
  std::shared_ptr<tokenauth::refresh_store> store;
  try {
    store = make_refresh_store(cfg.store);
  } catch (const std::exception& e) {
    return fail(std::string("refresh store: ") + e.what(), "check --store or STORE");
  }
  std::shared_ptr<user_store> users;
  try {
    users = make_user_store(cfg.users);
  } catch (const std::exception& e) {
    return fail(e.what(), cfg.users.rfind("mysql", 0) == 0
                              ? "check --users or USERS_DB, or the DB_* settings"
                              : "check --users or USERS_DB");
  }
  try {
    // Metrics off (--admin-listen ""): nothing counts, and the library has no observer to call.
    metrics stats(route_names());
    metrics* const counted = cfg.admin_listen.empty() ? nullptr : &stats;
    app application(cfg, std::move(store), std::move(users), tokenauth::system_clock_now, counted);
    access_log log(cfg.access_log ? stdout : nullptr, cfg.access_log_format);
    std::unique_ptr<server> srv;
    try {
      srv = std::make_unique<server>(cfg, application, log, counted);
    } catch (const boost::system::system_error& e) {
      // e.what() would append Boost's source location; the code's message is what a person needs.
      return fail(
          "cannot listen on " + cfg.host + ":" + std::to_string(cfg.port) + ": " +
              e.code().message(),
          "choose another port with --port or PORT, or another address with --host or HOST");
    }
    // After the public port: a busy public port is the error to report first.
    std::unique_ptr<admin_server> admin;  // null: --admin-listen "" (metrics off)
    if (!cfg.admin_listen.empty()) {
      try {
        admin = std::make_unique<admin_server>(*parse_listen_address(cfg.admin_listen), stats);
      } catch (const boost::system::system_error& e) {
        return fail("cannot listen on " + cfg.admin_listen + " for metrics: " + e.code().message(),
                    "choose another --admin-listen or ADMIN_LISTEN, or \"\" to turn metrics off");
      }
    }
    srv->stop_on_signals();
    srv->on_hangup([&application] {
      const auto [ok, message] = application.reload_keys();
      std::fprintf(stderr, "tokenauth-server: %s%s\n",
                   ok ? "keys reloaded: " : "key reload failed: ", message.c_str());
    });
    std::fputs(banner(cfg, srv->port(), redact_store(cfg.store)).c_str(), stdout);
    std::fflush(stdout);
    srv->run();
    application.stop_workers();
    std::puts("tokenauth-server: stopped");
  } catch (const boost::system::system_error& e) {
    std::fprintf(stderr, "tokenauth-server: %s\n", e.code().message().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tokenauth-server: %s\n", e.what());
    return 1;
  }
}
