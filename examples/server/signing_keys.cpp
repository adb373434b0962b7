#include "signing_keys.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "tokenauth/base64url.hpp"
#include "tokenauth/hmac.hpp"
#include "tokenauth/jwk.hpp"

namespace tokenauth_server {
namespace {

namespace fs = std::filesystem;
using tokenauth::algorithm;
using tokenauth::key;
using tokenauth::unix_seconds;

constexpr std::size_t max_pem_size = 64 * 1024;  // an RSA-8192 PKCS#8 PEM is about 6.5 KiB
constexpr unix_seconds forever = std::numeric_limits<unix_seconds>::max();

std::string key_kind(algorithm alg) {
  switch (alg) {
    case algorithm::es256:
      return "an EC P-256 key";
    case algorithm::eddsa:
      return "an Ed25519 or Ed448 key";
    default:
      return "an RSA key of at least 2048 bits";
  }
}

// A private key for alg from PEM text; `where` names its source in the error, never the text.
key private_key(std::string_view pem, algorithm alg, const std::string& where) {
  auto k = key::from_pem(pem, alg);
  if (!k && k.error() == tokenauth::errc::key_unsuitable)
    throw std::invalid_argument(where + " is not " + key_kind(alg) + ", which " +
                                std::string(tokenauth::to_string(alg)) + " needs");
  if (!k)
    throw std::invalid_argument(where +
                                " is not a PEM private key (PKCS#8 \"PRIVATE KEY\", unencrypted)");
  if (!k->can_sign())
    throw std::invalid_argument(where + " holds a public key; the server signs, so it needs the " +
                                "private key");
  return std::move(*k);
}

std::string read_pem_file(const fs::path& path, const std::string& where) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw std::invalid_argument(where + ": cannot read it: " + ec.message());
  if (size > max_pem_size)
    throw std::invalid_argument(where + " is " + std::to_string(size) +
                                " bytes, more than any PEM key (" + std::to_string(max_pem_size) +
                                ")");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) throw std::invalid_argument(where + ": cannot read it: " + std::strerror(errno));
  return text.str();
}

struct scanned {
  std::map<std::string, key> keys;  // kid -> private key
  std::string signing_kid;
};

// Every *.pem of dir, each a private key for alg; the newest file (mtime, then name) signs.
scanned scan_dir(const std::string& dir, algorithm alg) {
  struct entry {
    fs::file_time_type mtime;
    fs::path path;
  };
  std::vector<entry> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".pem") continue;
    std::error_code stat_ec;
    if (!it->is_regular_file(stat_ec)) continue;
    const auto mtime = it->last_write_time(stat_ec);
    if (stat_ec)
      throw std::invalid_argument("jwt-keys-dir: " + it->path().string() + ": " +
                                  stat_ec.message());
    files.push_back({mtime, it->path()});
  }
  if (ec) throw std::invalid_argument("jwt-keys-dir " + dir + ": " + ec.message());
  if (files.empty()) throw std::invalid_argument("jwt-keys-dir " + dir + " has no *.pem file");
  std::sort(files.begin(), files.end(), [](const entry& a, const entry& b) {
    return a.mtime != b.mtime ? a.mtime < b.mtime : a.path < b.path;
  });
  scanned out;
  for (const auto& f : files) {
    const std::string where = "jwt-keys-dir: " + f.path.string();
    key k = private_key(read_pem_file(f.path, where), alg, where);
    out.signing_kid = tokenauth::jwk_thumbprint(k);  // the last one, the newest, wins
    out.keys.insert_or_assign(out.signing_kid, std::move(k));
  }
  return out;
}

// A strong ETag: the SHA-256 of the body, base64url, quoted.
std::string etag_of(std::string_view body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(body.data(), body.size(), md, &n, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return '"' +
         tokenauth::base64url::encode(std::string_view(reinterpret_cast<const char*>(md), n)) + '"';
}

// PEM from an environment variable: a one-line value may carry its line breaks as "\n".
std::string unescape_newlines(std::string pem) {
  if (pem.find('\n') != std::string::npos) return pem;
  std::string out;
  for (std::size_t i = 0; i < pem.size(); ++i) {
    if (pem[i] == '\\' && i + 1 < pem.size() && pem[i + 1] == 'n') {
      out.push_back('\n');
      ++i;
    } else {
      out.push_back(pem[i]);
    }
  }
  return out;
}

// The signer's options by name: the access-token lifetime, the server's clock, the kid to write.
tokenauth::signer_options signing_options(const config& cfg, tokenauth::clock_fn clock,
                                          std::string kid) {
  tokenauth::signer_options o;
  o.ttl = cfg.access_ttl;
  o.clock = std::move(clock);
  o.kid = std::move(kid);
  return o;
}

}  // namespace

signing_keys::signing_keys(const config& cfg, tokenauth::clock_fn clock,
                           std::shared_ptr<tokenauth::observer> observer)
    : cfg_(cfg), clock_(std::move(clock)), observer_(std::move(observer)) {
  const algorithm alg = cfg_.jwt_alg;
  if (tokenauth::key_type_of(alg) == tokenauth::key_type::oct) {
    const key k(tokenauth::hmac_key(cfg_.jwt_secret, alg));
    tokenauth::verify_options vo;
    vo.algorithms = {alg};
    vo.clock = clock_;
    vo.observer = observer_;
    const std::string jwks = R"({"keys":[]})";
    std::atomic_store(&bundle_, std::make_shared<const key_bundle>(key_bundle{
                                    tokenauth::signer(k, signing_options(cfg_, clock_, {})),
                                    tokenauth::verifier(k, vo),
                                    jwks,
                                    etag_of(jwks),
                                    {},
                                    1,
                                    forever}));
    return;
  }
  if (!cfg_.jwt_keys_dir.empty()) {
    scanned s = scan_dir(cfg_.jwt_keys_dir, alg);
    active_ = std::move(s.keys);
    signing_kid_ = std::move(s.signing_kid);
  } else {
    key k = cfg_.jwt_key_file.empty()
                ? private_key(unescape_newlines(cfg_.jwt_private_key), alg, "JWT_PRIVATE_KEY")
                : private_key(read_pem_file(cfg_.jwt_key_file, "jwt-key-file " + cfg_.jwt_key_file),
                              alg, "jwt-key-file " + cfg_.jwt_key_file);
    signing_kid_ = tokenauth::jwk_thumbprint(k);
    active_.emplace(signing_kid_, std::move(k));
  }
  const std::lock_guard<std::mutex> lock(reload_mutex_);
  publish(clock_());
}

void signing_keys::publish(unix_seconds now) const {
  unix_seconds valid_until = forever;
  for (auto it = retired_.begin(); it != retired_.end();) {
    if (it->second.until <= now) {
      it = retired_.erase(it);
    } else {
      valid_until = std::min(valid_until, it->second.until);
      ++it;
    }
  }
  tokenauth::key_set verify_set;
  for (const auto& [kid, k] : active_) verify_set.add(kid, k.public_key());
  for (const auto& [kid, r] : retired_) verify_set.add(kid, r.key);
  tokenauth::verify_options vo;
  vo.algorithms = {cfg_.jwt_alg};
  vo.clock = clock_;
  vo.observer = observer_;
  std::string jwks = tokenauth::to_jwks(verify_set);
  std::string etag = etag_of(jwks);
  const std::size_t count = verify_set.size();
  std::atomic_store(
      &bundle_,
      std::make_shared<const key_bundle>(key_bundle{
          tokenauth::signer(active_.at(signing_kid_), signing_options(cfg_, clock_, signing_kid_)),
          tokenauth::verifier(std::move(verify_set), vo), std::move(jwks), std::move(etag),
          signing_kid_, count, valid_until}));
}

std::shared_ptr<const key_bundle> signing_keys::current() const {
  auto b = std::atomic_load(&bundle_);
  if (b->valid_until != forever && clock_() >= b->valid_until) {
    const std::lock_guard<std::mutex> lock(reload_mutex_);
    b = std::atomic_load(&bundle_);
    if (clock_() >= b->valid_until) {  // not done by another thread meanwhile
      publish(clock_());
      b = std::atomic_load(&bundle_);
    }
  }
  return b;
}

signing_keys::reload_outcome signing_keys::reload() {
  if (cfg_.jwt_keys_dir.empty())
    return {false, "nothing to reload: keys are reloaded from --jwt-keys-dir only"};
  scanned s;
  try {
    s = scan_dir(cfg_.jwt_keys_dir, cfg_.jwt_alg);
  } catch (const std::invalid_argument& e) {
    return {false, std::string(e.what()) + "; keeping the previous keys"};
  }
  const std::lock_guard<std::mutex> lock(reload_mutex_);
  const unix_seconds now = clock_();
  for (const auto& [kid, k] : active_)
    if (!s.keys.count(kid))
      retired_.insert_or_assign(kid, retired_key{k.public_key(), now + cfg_.access_ttl});
  for (const auto& [kid, k] : s.keys) retired_.erase(kid);  // back in the directory
  active_ = std::move(s.keys);
  signing_kid_ = std::move(s.signing_kid);
  publish(now);
  return {true, std::to_string(active_.size()) + " key(s) from " + cfg_.jwt_keys_dir + ", " +
                    std::to_string(retired_.size()) +
                    " retired key(s) still verifying; signing kid " + signing_kid_};
}

}  // namespace tokenauth_server
