// Command-line bridge to tokenauth for the interop test (interop.mjs), which checks its tokens
// and key sets against Node's jsonwebtoken and jose.
//   jwt_tool sign KEY [--alg ALG] [--kid KID] [--now SECONDS] [--ttl SECONDS]  claims on stdin
//       prints the token; the signer adds iat = now and exp = now + ttl.
//   jwt_tool verify (KEY | --jwks FILE) [--alg ALG] [--kid KID]                token on stdin
//       prints {"id","nick","name","iat","exp","kid"} read through the typed getters, or
//       "error: <message>" and exits 1. With --jwks the verifier holds the usable keys of the
//       JWKS document in FILE (parse_jwks) and the header's kid selects one.
//   jwt_tool jwks KEY [--alg ALG] [--kid KID]
//       prints to_jwks of a key set holding KEY's public key under KID (without --kid as the
//       default key, which to_jwks publishes under its RFC 7638 thumbprint).
// KEY is the HMAC secret, or @FILE for a PEM key file: PKCS#8 private key to sign, SPKI public
// key to verify. ALG is the JWS name (HS256, RS256, PS384, ES512, EdDSA, ...), default HS256; the
// verifier accepts ALG only.
// With --kid the verifier holds a key set (KID plus a decoy key), so the header's kid must select.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tokenauth/algorithm.hpp"
#include "tokenauth/jwk.hpp"
#include "tokenauth/jwt.hpp"
#include "tokenauth/keys.hpp"

namespace {

struct arguments {
  std::string command, key, jwks_file, kid;
  tokenauth::algorithm alg = tokenauth::algorithm::hs256;
  std::optional<tokenauth::unix_seconds> now;
  tokenauth::unix_seconds ttl = 900;
};

int usage() {
  std::cerr << "usage: jwt_tool sign KEY [--alg ALG] [--kid KID] [--now SECONDS] [--ttl SECONDS]"
               " < claims\n"
               "       jwt_tool verify (KEY | --jwks FILE) [--alg ALG] [--kid KID] < token\n"
               "       jwt_tool jwks KEY [--alg ALG] [--kid KID]\n"
               "KEY: an HMAC secret, or @FILE for a PEM key (PKCS#8 private, SPKI public)\n";
  return 2;
}

std::optional<arguments> parse(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  arguments a;
  a.command = argv[1];
  if (a.command != "sign" && a.command != "verify" && a.command != "jwks") return std::nullopt;
  int i = 2;
  if (i < argc && std::string_view(argv[i]).substr(0, 2) != "--") a.key = argv[i++];
  for (; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--kid") {
      a.kid = argv[i + 1];
    } else if (flag == "--alg") {
      const auto alg = tokenauth::algorithm_from_string(argv[i + 1]);
      if (!alg) return std::nullopt;
      a.alg = *alg;
    } else if (flag == "--now" && a.command == "sign") {
      a.now = std::stoll(argv[i + 1]);
    } else if (flag == "--ttl" && a.command == "sign") {
      a.ttl = std::stoll(argv[i + 1]);
    } else if (flag == "--jwks" && a.command == "verify") {
      a.jwks_file = argv[i + 1];
    } else {
      return std::nullopt;
    }
  }
  if (i != argc) return std::nullopt;                             // a flag without its value
  if (a.key.empty() == a.jwks_file.empty()) return std::nullopt;  // exactly one key source
  return a;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The key named on the command line; throws (exit 2) when it cannot be read or does not suit alg.
tokenauth::key load_key(const arguments& a) {
  if (a.key.front() != '@') return tokenauth::key::hmac(a.key, a.alg).value();
  return tokenauth::key::from_pem(read_file(a.key.substr(1)), a.alg).value();
}

std::string read_stdin() {
  std::string in{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  while (!in.empty() && (in.back() == '\n' || in.back() == '\r')) in.pop_back();
  return in;
}

int sign(const arguments& a) {
  const auto input = nlohmann::ordered_json::parse(read_stdin());  // keeps claim order
  tokenauth::claim_set claims;
  for (const auto& [name, value] : input.items()) {
    if (value.is_string()) {
      claims.set(name, std::string_view(value.get_ref<const std::string&>()));
    } else if (value.is_number_integer()) {
      claims.set(name, value.get<std::int64_t>());
    } else {
      claims.set(name, nlohmann::json(value));
    }
  }
  tokenauth::signer_options options;
  options.ttl = a.ttl;
  options.kid = a.kid;
  if (a.now) options.clock = [now = *a.now] { return now; };
  const tokenauth::signer signer(load_key(a), std::move(options));
  std::cout << signer.sign(claims) << '\n';
  return 0;
}

template <class T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

int verify(const arguments& a) {
  const std::string token = read_stdin();
  const auto verifier = [&] {
    tokenauth::verify_options options;
    options.algorithms = {a.alg};
    if (!a.jwks_file.empty()) {
      auto parsed = tokenauth::parse_jwks(read_file(a.jwks_file));
      if (!parsed) throw std::runtime_error("JWKS: " + parsed.error().message());
      return tokenauth::verifier(std::move(parsed->keys), std::move(options));
    }
    if (a.kid.empty()) return tokenauth::verifier(load_key(a), std::move(options));
    tokenauth::key_set keys;
    keys.add(a.kid, load_key(a));
    keys.add("decoy-" + a.kid, tokenauth::hmac_key(std::string(32, 'd')));
    return tokenauth::verifier(std::move(keys), std::move(options));
  }();
  const auto result = verifier.verify(token);
  if (!result) {
    std::cout << "error: " << result.error().message() << '\n';
    return 1;
  }
  const tokenauth::claims& c = *result;
  const nlohmann::json out = {
      {"id", or_null(c.string("id"))},     {"nick", or_null(c.string("nick"))},
      {"name", or_null(c.string("name"))}, {"iat", or_null(c.iat())},
      {"exp", or_null(c.exp())},           {"kid", std::string(c.kid())}};
  std::cout << out.dump() << '\n';
  return 0;
}

int jwks(const arguments& a) {
  const tokenauth::key k = load_key(a);
  tokenauth::key_set keys;
  if (a.kid.empty())
    keys.add_default(k.public_key());
  else
    keys.add(a.kid, k.public_key());
  std::cout << tokenauth::to_jwks(keys) << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = parse(argc, argv);
  if (!args) return usage();
  try {
    if (args->command == "sign") return sign(*args);
    return args->command == "verify" ? verify(*args) : jwks(*args);
  } catch (const std::exception& e) {
    std::cerr << "jwt_tool: " << e.what() << '\n';
    return 2;
  }
}
