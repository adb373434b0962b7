// tokenauth example server: configuration, stores, the app and the HTTP transport, wired up.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "access_log.hpp"
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
  try {
    app application(cfg, make_refresh_store(cfg.store), make_user_store(cfg.users));
    access_log log(cfg.access_log ? stdout : nullptr);
    server srv(cfg, application, log);
    srv.stop_on_signals();
    std::fputs(banner(cfg, srv.port(), redact_store(cfg.store)).c_str(), stdout);
    std::fflush(stdout);
    srv.run();
    application.stop_workers();
    std::puts("tokenauth-server: stopped");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tokenauth-server: %s\n", e.what());
    return 1;
  }
}
