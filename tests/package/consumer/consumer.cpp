// Uses an installed tokenauth: signs a token, verifies it, and checks that a token signed with
// another key is refused; when built with the compiled stores (TOKENAUTH_CONSUMER_SQLITE/_REDIS),
// also uses them so their link dependencies must resolve. Exit 0 on success.
#include <iostream>
#include <string>

#include <tokenauth/hmac.hpp>
#include <tokenauth/jwt.hpp>
#ifdef TOKENAUTH_CONSUMER_SQLITE
#include <tokenauth/sqlite_store.hpp>
#endif
#ifdef TOKENAUTH_CONSUMER_REDIS
#include <tokenauth/redis_store.hpp>
#endif

int main() {
  const tokenauth::hmac_key key("consumer-secret-0123456789-abcdefghij");
  const tokenauth::signer signer(key);
  const std::string token =
      signer.sign(tokenauth::claim_set().set("id", "1").set("nick", "consumer"));

  const tokenauth::verifier verifier(key);
  const auto verified = verifier.verify(token);
  if (!verified) {
    std::cerr << "consumer: own token not verified: " << verified.error().message() << '\n';
    return 1;
  }
  if (verified->string("nick") != "consumer" || verified->string("id") != "1") {
    std::cerr << "consumer: own token verified with the wrong claims: nick="
              << verified->string("nick").value_or("<missing>") << '\n';
    return 1;
  }

  const tokenauth::signer other(tokenauth::hmac_key("another-secret-0123456789-abcdefghij"));
  const auto forged = verifier.verify(other.sign(tokenauth::claim_set().set("id", "1")));
  if (forged || forged.error() != tokenauth::errc::invalid_signature) {
    std::cerr << "consumer: token signed with another key was not refused as invalid signature\n";
    return 1;
  }
#ifdef TOKENAUTH_CONSUMER_SQLITE
  tokenauth::sqlite_store sqlite(":memory:");
  const auto sessions = sqlite.sessions("nobody", 0);
  if (!sessions || !sessions->empty()) {
    std::cerr << "consumer: a new SQLite store is not empty\n";
    return 1;
  }
#endif
#ifdef TOKENAUTH_CONSUMER_REDIS
  const auto options = tokenauth::redis_options::from_url("redis://127.0.0.1:6399/2");
  if (!options || options->port != 6399 || options->db != 2) {
    std::cerr << "consumer: redis_options::from_url failed\n";
    return 1;
  }
  const tokenauth::redis_store redis(*options);  // connects lazily: no server needed here
#endif
  std::cout << "consumer: signed and verified a token with the installed tokenauth\n";
  return 0;
}
