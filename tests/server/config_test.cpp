// The example server's configuration: precedence flags > environment > .env > defaults.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "config.hpp"
#include "stores.hpp"
#include "tokenauth/redis_store.hpp"

using namespace tokenauth_server;

namespace {

const std::string secret = "0123456789abcdef0123456789abcdef";

config_outcome parse(const std::vector<std::string>& args,
                     std::map<std::string, std::string> env = {}, const std::string& dotenv = {}) {
  if (!env.count("JWT_SECRET")) env["JWT_SECRET"] = secret;
  return parse_config(
      args,
      [env](const std::string& k) -> std::optional<std::string> {
        auto it = env.find(k);
        return it == env.end() ? std::nullopt : std::optional(it->second);
      },
      dotenv);
}

}  // namespace

TEST_CASE("defaults match the contract") {
  auto o = parse({});
  REQUIRE(o.cfg);
  CHECK(o.cfg->host == "127.0.0.1");
  CHECK(o.cfg->port == 8080);
  CHECK(o.cfg->threads >= 1);
  CHECK(o.cfg->access_ttl == 900);
  CHECK(o.cfg->refresh_ttl == 14 * 86400);
  CHECK(o.cfg->store == "memory");
  CHECK(o.cfg->users == "sqlite:./tokenauth-users.db");
  CHECK(o.cfg->cors_origins == std::vector<std::string>{"http://localhost:3000"});
  CHECK(o.cfg->cookie_same_site == tokenauth::http::same_site::none);
  CHECK(o.cfg->cookie_secure);
  CHECK(o.cfg->bcrypt_cost == 12);
  CHECK(o.cfg->header_limit == 8192);
  CHECK(o.cfg->body_limit == 65536);
  CHECK(o.cfg->jwt_secret == secret);
  CHECK_FALSE(o.cfg->jwt_secret_generated);
}

TEST_CASE("flags override the environment, which overrides .env") {
  auto o = parse({"--port", "9000", "--access-ttl=5s"}, {{"PORT", "7000"}, {"REFRESH_TTL", "1h"}},
                 "PORT=6000\nREFRESH_TTL=2h\nBCRYPT_COST=10\n# comment\nexport THREADS='3'\n");
  REQUIRE(o.cfg);
  CHECK(o.cfg->port == 9000);
  CHECK(o.cfg->access_ttl == 5);
  CHECK(o.cfg->refresh_ttl == 3600);
  CHECK(o.cfg->bcrypt_cost == 10);
  CHECK(o.cfg->threads == 3);
}

TEST_CASE("durations accept seconds, minutes, hours and days") {
  CHECK(parse_duration("90") == 90);
  CHECK(parse_duration("5s") == 5);
  CHECK(parse_duration("15m") == 900);
  CHECK(parse_duration("1h") == 3600);
  CHECK(parse_duration("14d") == 1209600);
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("d"));
  CHECK_FALSE(parse_duration("-5s"));
  CHECK_FALSE(parse_duration("5w"));
  CHECK_FALSE(parse_duration("99999999999d"));
  CHECK(format_duration(1209600) == "14d");
  CHECK(format_duration(900) == "15m");
}

TEST_CASE("cors origins repeat, and '*' is refused") {
  auto o = parse({"--cors-origin", "https://a.example", "--cors-origin=https://b.example/"},
                 {{"CORS_ORIGINS", "https://env.example"}});
  REQUIRE(o.cfg);
  CHECK(o.cfg->cors_origins == std::vector<std::string>{"https://a.example", "https://b.example"});
  auto env = parse({}, {{"CORS_ORIGINS", "https://x.example, https://y.example"}});
  REQUIRE(env.cfg);
  CHECK(env.cfg->cors_origins.size() == 2);
  auto star = parse({"--cors-origin", "*"});
  CHECK_FALSE(star.cfg);
  CHECK(star.message.find("'*'") != std::string::npos);
}

TEST_CASE("JWT_SECRET: generated with a warning when absent, refused when short, never a flag") {
  auto gen = parse({}, {{"JWT_SECRET", ""}});
  REQUIRE(gen.cfg);
  CHECK(gen.cfg->jwt_secret_generated);
  CHECK(gen.cfg->jwt_secret.size() >= 32);
  CHECK(banner(*gen.cfg, 8080, "memory").find("will not survive a restart") != std::string::npos);

  auto short_secret = parse({}, {{"JWT_SECRET", "too short"}});
  CHECK_FALSE(short_secret.cfg);
  CHECK(short_secret.exit_code == 2);
  CHECK(short_secret.message.find("at least 32") != std::string::npos);

  auto from_dotenv = parse({}, {{"JWT_SECRET", ""}}, "JWT_SECRET=\"" + secret + "x\"\n");
  REQUIRE(from_dotenv.cfg);  // empty in the environment: .env is used
  CHECK(from_dotenv.cfg->jwt_secret == secret + "x");

  CHECK_FALSE(parse({"--jwt-secret", secret}).cfg);
}

TEST_CASE("REDIS_HOST and REDIS_PORT select Redis unless a store is named") {
  auto o = parse({}, {}, "REDIS_HOST=10.0.0.5\nREDIS_PORT=6380\n");
  REQUIRE(o.cfg);
  CHECK(o.cfg->store == "redis://10.0.0.5:6380");
  auto named = parse({"--store", "memory"}, {{"REDIS_HOST", "h"}});
  REQUIRE(named.cfg);
  CHECK(named.cfg->store == "memory");
}

TEST_CASE("public-origin takes one origin, max-sessions-per-user a bounded count") {
  auto d = parse({});
  REQUIRE(d.cfg);
  CHECK(d.cfg->public_origin.empty());
  CHECK(d.cfg->max_sessions_per_user == 100);
  auto o = parse({"--public-origin", "https://auth.example:8443/", "--max-sessions-per-user=5"});
  REQUIRE(o.cfg);
  CHECK(o.cfg->public_origin == "https://auth.example:8443");
  CHECK(o.cfg->max_sessions_per_user == 5);
  auto env = parse({}, {{"PUBLIC_ORIGIN", "http://a.example"}, {"MAX_SESSIONS_PER_USER", "7"}});
  REQUIRE(env.cfg);
  CHECK(env.cfg->public_origin == "http://a.example");
  CHECK(env.cfg->max_sessions_per_user == 7);
  const std::pair<std::vector<std::string>, std::string> bad[] = {
      {{"--public-origin", "auth.example"}, "public-origin must look like https://host[:port]"},
      {{"--public-origin", "https://a.example/path"}, "public-origin must look like"},
      {{"--public-origin", "https://"}, "public-origin must look like"},
      {{"--cors-origin", "https://a.example/app"}, "cors-origin must look like"},
      {{"--max-sessions-per-user", "0"}, "max-sessions-per-user must be a whole number from 1"},
      {{"--max-sessions-per-user", "many"}, "max-sessions-per-user must be a whole number"},
  };
  for (const auto& [args, message] : bad) {
    auto r = parse(args);
    CHECK_FALSE(r.cfg);
    CHECK(r.exit_code == 2);
    CHECK(r.message.find(message) != std::string::npos);
  }
}

TEST_CASE("REDIS_PASSWORD and REDIS_HOST survive the trip through the redis:// URL") {
  const std::string password = "p@ss:w/o%rd#?x y&=";
  auto o = parse({}, {{"REDIS_HOST", "redis.internal"}, {"REDIS_PASSWORD", password}});
  REQUIRE(o.cfg);
  auto options = tokenauth::redis_options::from_url(o.cfg->store);
  REQUIRE(options);
  CHECK(options->password == password);
  CHECK(options->host == "redis.internal");
  CHECK(options->port == 6379);
  CHECK(redact_store(o.cfg->store) == "redis://:***@redis.internal:6379");

  auto v6 = parse({}, {{"REDIS_HOST", "::1"}, {"REDIS_PORT", "6390"}, {"REDIS_PASSWORD", "@"}});
  REQUIRE(v6.cfg);
  auto v6_options = tokenauth::redis_options::from_url(v6.cfg->store);
  REQUIRE(v6_options);
  CHECK(v6_options->host == "::1");
  CHECK(v6_options->port == 6390);
  CHECK(v6_options->password == "@");

  auto bad_host = parse({}, {{"REDIS_HOST", "evil@host/x"}});
  CHECK_FALSE(bad_host.cfg);
  CHECK(bad_host.message.find("REDIS_HOST must be a host name or an IP address") !=
        std::string::npos);
  auto bad_port = parse({}, {{"REDIS_HOST", "h"}, {"REDIS_PORT", "6379/1"}});
  CHECK_FALSE(bad_port.cfg);
  CHECK(bad_port.message.find("REDIS_PORT must be a whole number from 1 to 65535") !=
        std::string::npos);
}

TEST_CASE("cookie-name: any cookie name, and a __Host- or __Secure- one must stay Secure") {
  auto d = parse({});
  REQUIRE(d.cfg);
  CHECK(d.cfg->cookie_name == "refreshToken");
  CHECK(banner(*d.cfg, 8080, "memory").find("refreshToken; Path=/auth; HttpOnly; Secure") !=
        std::string::npos);
  auto host = parse({"--cookie-name", "__Host-refresh"});
  REQUIRE(host.cfg);
  CHECK(host.cfg->cookie_name == "__Host-refresh");
  CHECK(banner(*host.cfg, 8080, "memory").find("__Host-refresh; Path=/; HttpOnly; Secure") !=
        std::string::npos);
  auto env = parse({}, {{"COOKIE_NAME", "rt"}});
  REQUIRE(env.cfg);
  CHECK(env.cfg->cookie_name == "rt");
  for (const char* name : {"__Host-refresh", "__Secure-refresh"}) {
    auto insecure = parse({"--cookie-name", name, "--cookie-secure", "false"});
    CHECK_FALSE(insecure.cfg);
    CHECK(insecure.exit_code == 2);
    CHECK(insecure.message.find("needs --cookie-secure true") != std::string::npos);
  }
  for (const char* name : {"", "a b", "a;b", "a=b"}) {
    auto bad = parse({"--cookie-name", name});
    CHECK_FALSE(bad.cfg);
    CHECK(bad.message.find("cookie-name must be a cookie name") != std::string::npos);
  }
}

TEST_CASE("login throttling settings: rates, the per-address queue share, trusted proxies") {
  auto d = parse({});
  REQUIRE(d.cfg);
  CHECK(d.cfg->login_rate_account == 10);
  CHECK(d.cfg->login_rate_address == 60);
  CHECK(d.cfg->bcrypt_queue_per_address == 8);
  CHECK(d.cfg->trust_proxy.empty());
  auto o =
      parse({"--login-rate-account", "3", "--login-rate-address=0", "--bcrypt-queue-per-address",
             "2", "--trust-proxy", "10.0.0.1", "--trust-proxy=::1, 10.0.0.2"},
            {{"TRUST_PROXY", "192.0.2.1"}});
  REQUIRE(o.cfg);
  CHECK(o.cfg->login_rate_account == 3);
  CHECK(o.cfg->login_rate_address == 0);
  CHECK(o.cfg->bcrypt_queue_per_address == 2);
  CHECK(o.cfg->trust_proxy == std::vector<std::string>{"10.0.0.1", "::1", "10.0.0.2"});
  auto env = parse({}, {{"TRUST_PROXY", "192.0.2.1,192.0.2.2"},
                        {"LOGIN_RATE_ACCOUNT", "7"},
                        {"LOGIN_RATE_ADDRESS", "70"},
                        {"BCRYPT_QUEUE_PER_ADDRESS", "5"}});
  REQUIRE(env.cfg);
  CHECK(env.cfg->trust_proxy == std::vector<std::string>{"192.0.2.1", "192.0.2.2"});
  CHECK(env.cfg->login_rate_account == 7);
  CHECK(env.cfg->login_rate_address == 70);
  CHECK(env.cfg->bcrypt_queue_per_address == 5);
  const std::pair<std::vector<std::string>, std::string> bad[] = {
      {{"--trust-proxy", "proxy.internal"},
       "trust-proxy must be an IP address, got 'proxy.internal'"},
      {{"--trust-proxy", "10.0.0.0/8"}, "trust-proxy must be an IP address"},
      {{"--login-rate-account", "-1"},
       "login-rate-account must be a whole number from 0 to 100000"},
      {{"--login-rate-address", "lots"}, "login-rate-address must be a whole number"},
      {{"--bcrypt-queue-per-address", "0"},
       "bcrypt-queue-per-address must be a whole number from 1"},
  };
  for (const auto& [args, message] : bad) {
    auto r = parse(args);
    CHECK_FALSE(r.cfg);
    CHECK(r.exit_code == 2);
    CHECK(r.message.find(message) != std::string::npos);
  }
}

TEST_CASE("connection settings: idle timeout, and max-connections from RLIMIT_NOFILE") {
  auto d = parse({});
  REQUIRE(d.cfg);
  CHECK(d.cfg->idle_timeout == 5);
  CHECK(d.cfg->read_timeout == 15);
  rlimit nofile{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &nofile) == 0);
  CHECK(d.cfg->max_connections == default_max_connections(nofile.rlim_cur));
  CHECK(default_max_connections(1024) == 960);
  CHECK(default_max_connections(65536) == 65472);
  CHECK(default_max_connections(70) == 16);  // never fewer than 16
  CHECK(default_max_connections(0) == 16);
  auto o = parse({"--idle-timeout", "2", "--max-connections=500"},
                 {{"IDLE_TIMEOUT", "9"}, {"MAX_CONNECTIONS", "7"}});
  REQUIRE(o.cfg);
  CHECK(o.cfg->idle_timeout == 2);
  CHECK(o.cfg->max_connections == 500);
  auto env = parse({}, {{"IDLE_TIMEOUT", "9"}, {"MAX_CONNECTIONS", "7"}});
  REQUIRE(env.cfg);
  CHECK(env.cfg->idle_timeout == 9);
  CHECK(env.cfg->max_connections == 7);
  const std::pair<std::vector<std::string>, std::string> bad[] = {
      {{"--idle-timeout", "0"}, "idle-timeout must be a whole number from 1 to 3600, got '0'"},
      {{"--idle-timeout", "5s"}, "idle-timeout must be a whole number"},
      {{"--max-connections", "0"}, "max-connections must be a whole number from 1"},
      {{"--max-connections", "many"}, "max-connections must be a whole number"},
  };
  for (const auto& [args, message] : bad) {
    auto r = parse(args);
    CHECK_FALSE(r.cfg);
    CHECK(r.exit_code == 2);
    CHECK(r.message.find(message) != std::string::npos);
  }
}

TEST_CASE("bad values and unknown flags give a clear message and exit code 2") {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--port", "70000"},
                                                                {"--access-ttl", "soon"},
                                                                {"--store", "mysql://x"},
                                                                {"--cookie-samesite", "sometimes"},
                                                                {"--bcrypt-cost", "3"},
                                                                {"--nope", "1"},
                                                                {"--port"},
                                                                {"stray"}}) {
    auto o = parse(args);
    CHECK_FALSE(o.cfg);
    CHECK(o.exit_code == 2);
    CHECK_FALSE(o.message.empty());
  }
  auto bad_env = parse({}, {{"PORT", "x"}});
  CHECK_FALSE(bad_env.cfg);
  CHECK(bad_env.message.rfind("PORT:", 0) == 0);
}

TEST_CASE("the --help text lists every flag with its environment twin") {
  auto o = parse({"--help"});
  CHECK_FALSE(o.cfg);
  CHECK(o.exit_code == 0);
  for (const char* s :
       {"--host", "--port", "--threads", "--access-ttl", "--refresh-ttl", "--refresh-grace",
        "--store", "--users", "--cors-origin", "--cookie-samesite", "--cookie-secure",
        "--bcrypt-cost", "[PORT]", "JWT_SECRET"})
    CHECK(o.message.find(s) != std::string::npos);
}

TEST_CASE("jwt-alg and the key sources: HS256 by default, one private key for the others") {
  auto o = parse({});
  REQUIRE(o.cfg);
  CHECK(o.cfg->jwt_alg == tokenauth::algorithm::hs256);
  CHECK(o.cfg->jwt_key_file.empty());

  auto file = parse({"--jwt-alg", "ES256", "--jwt-key-file", "/keys/signing.pem"});
  REQUIRE(file.cfg);
  CHECK(file.cfg->jwt_alg == tokenauth::algorithm::es256);
  CHECK(file.cfg->jwt_key_file == "/keys/signing.pem");
  CHECK_THAT(banner(*file.cfg, 8080, "memory"),
             Catch::Contains("access tokens: ES256, key from /keys/signing.pem"));

  auto env = parse({}, {{"JWT_ALG", "EdDSA"}, {"JWT_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----"}});
  REQUIRE(env.cfg);
  CHECK(env.cfg->jwt_alg == tokenauth::algorithm::eddsa);
  CHECK(env.cfg->jwt_private_key == "-----BEGIN PRIVATE KEY-----");
  CHECK_THAT(banner(*env.cfg, 8080, "memory"), !Catch::Contains("BEGIN"));

  auto dir = parse({"--jwt-alg=RS256"}, {}, "JWT_KEYS_DIR=/etc/tokenauth/keys\n");
  REQUIRE(dir.cfg);
  CHECK(dir.cfg->jwt_keys_dir == "/etc/tokenauth/keys");
  CHECK_THAT(banner(*dir.cfg, 8080, "memory"), Catch::Contains("SIGHUP reloads"));

  // An asymmetric algorithm does not warn about a missing JWT_SECRET: tokens survive restarts.
  auto no_secret = parse({"--jwt-alg", "EdDSA", "--jwt-key-file", "k.pem"}, {{"JWT_SECRET", ""}});
  REQUIRE(no_secret.cfg);
  CHECK(no_secret.cfg->notes.empty());
}

TEST_CASE("jwt-alg and key sources: every bad value and combination is named") {
  auto refused = [](const config_outcome& o) {
    CHECK_FALSE(o.cfg);
    CHECK(o.exit_code == 2);
    return o.message;
  };
  CHECK(refused(parse({"--jwt-alg", "none"})) ==
        "--jwt-alg: jwt-alg must be HS256, ES256, EdDSA or RS256, got 'none'");
  CHECK(refused(parse({"--jwt-alg", "ES384"})) ==
        "--jwt-alg: jwt-alg must be HS256, ES256, EdDSA or RS256, got 'ES384'");
  CHECK(refused(parse({}, {{"JWT_ALG", "hs256"}})) ==
        "JWT_ALG: jwt-alg must be HS256, ES256, EdDSA or RS256, got 'hs256'");
  CHECK(refused(parse({"--jwt-key-file="})) == "--jwt-key-file: jwt-key-file must not be empty");
  CHECK(refused(parse({"--jwt-keys-dir="})) == "--jwt-keys-dir: jwt-keys-dir must not be empty");
  CHECK(refused(parse({"--jwt-alg", "ES256"})) ==
        "jwt-alg ES256 needs a private key: --jwt-key-file PATH, JWT_PRIVATE_KEY or "
        "--jwt-keys-dir DIR");
  CHECK(refused(parse({"--jwt-key-file", "k.pem"})) ==
        "jwt-key-file needs --jwt-alg ES256, EdDSA or RS256 (HS256 signs with JWT_SECRET)");
  CHECK(refused(parse({"--jwt-keys-dir", "keys"})) ==
        "jwt-keys-dir needs --jwt-alg ES256, EdDSA or RS256 (HS256 signs with JWT_SECRET)");
  CHECK(refused(parse({}, {{"JWT_PRIVATE_KEY", "pem"}})) ==
        "JWT_PRIVATE_KEY needs --jwt-alg ES256, EdDSA or RS256 (HS256 signs with JWT_SECRET)");
  CHECK(refused(parse({"--jwt-alg", "EdDSA", "--jwt-key-file", "k.pem", "--jwt-keys-dir", "d"})) ==
        "set only one of --jwt-key-file, JWT_PRIVATE_KEY and --jwt-keys-dir");
  CHECK(refused(parse({"--jwt-alg", "EdDSA", "--jwt-key-file", "k.pem"},
                      {{"JWT_PRIVATE_KEY", "pem"}})) ==
        "set only one of --jwt-key-file, JWT_PRIVATE_KEY and --jwt-keys-dir");
  CHECK_THAT(refused(parse({"--jwt-private-key", "pem"})),
             Catch::StartsWith("JWT_PRIVATE_KEY is read from the environment or .env only"));
}

TEST_CASE("the command line: --flag=, repeats, no abbreviations, and unknown values never echoed") {
  auto empty = parse({"--admin-listen="});
  REQUIRE(empty.cfg);
  CHECK(empty.cfg->admin_listen.empty());
  auto separate = parse({"--admin-listen", ""});
  REQUIRE(separate.cfg);
  CHECK(separate.cfg->admin_listen.empty());

  auto repeated = parse({"--port", "7000", "--port=7001"});
  REQUIRE(repeated.cfg);
  CHECK(repeated.cfg->port == 7001);  // the last one wins

  auto negative = parse({"--refresh-grace", "-5s"});
  CHECK(negative.message ==
        "--refresh-grace: refresh-grace must be a duration like 90, 5s, 15m, 1h or 14d, got '-5s'");

  auto refused = [](const config_outcome& o) {
    CHECK_FALSE(o.cfg);
    CHECK(o.exit_code == 2);
    return o.message;
  };
  CHECK(refused(parse({"--po", "9000"})) == "unknown flag --po (see --help)");
  CHECK(refused(parse({"-p", "9000"})) == "unknown flag -p (see --help)");
  CHECK(refused(parse({"--port"})) == "--port needs a value");
  CHECK(refused(parse({"--port", "9000", "stray"})) == "unexpected argument 'stray' (see --help)");
  CHECK_THAT(refused(parse({"--help=yes"})), Catch::Contains("--help"));
  // A mistyped secret flag must not print the secret.
  CHECK(refused(parse({"--jwt-secre=" + secret})) == "unknown flag --jwt-secre (see --help)");
  CHECK(refused(parse({"--jwt-secret=" + secret})) ==
        "JWT_SECRET is read from the environment or .env only, never from a flag");

  auto help = parse({"--port", "9000", "-h"});
  CHECK_FALSE(help.cfg);
  CHECK(help.exit_code == 0);
  CHECK(help.message == help_text());
  CHECK(help.message.find(" \n") == std::string::npos);  // no trailing blanks from the wrapping
}

TEST_CASE("boolean settings take true, 1, yes, on and their opposites, and nothing else") {
  auto on = parse({"--cookie-secure", "yes", "--demo=on"}, {{"ACCESS_LOG", "1"}});
  REQUIRE(on.cfg);
  CHECK(on.cfg->cookie_secure);
  CHECK(on.cfg->demo);
  CHECK(on.cfg->access_log);
  auto off = parse({"--access-log=off", "--demo", "false"}, {{"COOKIE_SECURE", "0"}});
  REQUIRE(off.cfg);
  CHECK_FALSE(off.cfg->access_log);
  CHECK_FALSE(off.cfg->demo);
  CHECK_FALSE(off.cfg->cookie_secure);
  CHECK(parse({"--cookie-secure", "maybe"}).message ==
        "--cookie-secure: cookie-secure must be true or false, got 'maybe'");
  CHECK(parse({}, {{"ACCESS_LOG", "TRUE"}}).message ==
        "ACCESS_LOG: access-log must be true or false, got 'TRUE'");
}

namespace {

// For each line of `text` that starts with `prefix`: what follows it, up to one of `ends`.
std::vector<std::string> line_starts(const std::string& text, const std::string& prefix,
                                     const char* ends) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(prefix, 0) == 0)
      out.push_back(
          line.substr(prefix.size(), line.find_first_of(ends, prefix.size()) - prefix.size()));
  return out;
}

}  // namespace

TEST_CASE("docs/server.md lists every flag and environment variable of --help, and no other flag") {
  std::ifstream in(TOKENAUTH_SERVER_DOC);
  REQUIRE(in);
  const std::string doc{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const std::string help = help_text();
  const auto help_flags = line_starts(help, "  --", " \n");
  CHECK(help_flags.size() >= 30);
  for (const auto& flag : help_flags) {
    INFO("--" << flag << " has no row in docs/server.md");
    CHECK(doc.find("| `--" + flag + "` |") != std::string::npos);
  }
  std::size_t twins = 0;  // each flag's help ends in " [ENVIRONMENT_TWIN]"
  for (std::size_t open = help.find(" ["); open != std::string::npos;
       open = help.find(" [", open + 1)) {
    const std::string env = help.substr(open + 2, help.find(']', open) - open - 2);
    if (env.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != std::string::npos) continue;
    ++twins;
    INFO(env << " is not in docs/server.md");
    CHECK(doc.find("`" + env + "`") != std::string::npos);
  }
  CHECK(twins == help_flags.size());
  // The other way: a flag row in the table that --help does not know is a stale row.
  const auto doc_flags = line_starts(doc, "| `--", "`");
  for (const auto& flag : doc_flags) {
    INFO("docs/server.md has a row for --" << flag << ", which --help does not list");
    CHECK(std::count(help_flags.begin(), help_flags.end(), flag) == 1);
  }
  CHECK(doc_flags.size() == help_flags.size());
}
