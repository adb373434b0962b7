// Test fixture: a throwaway PKI made with OpenSSL's C API at test time (no openssl CLI needed):
// a CA, and server certificates it signs for given names and addresses, valid or expired.
// Everything is P-256; PEM text out, so tests write files or load contexts as they need.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "tokenauth/detail/openssl.hpp"

namespace tokenauth::test {

using x509_ptr = std::unique_ptr<X509, detail::openssl_deleter<X509, X509_free>>;
using x509_extension_ptr =
    std::unique_ptr<X509_EXTENSION, detail::openssl_deleter<X509_EXTENSION, X509_EXTENSION_free>>;

// A key and the certificate for it, as OpenSSL objects and PEM.
struct certified_key {
  detail::pkey_ptr key;
  x509_ptr cert;
  std::string key_pem() const {
    const detail::bio_ptr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    return read_all(bio.get());
  }
  std::string cert_pem() const {
    const detail::bio_ptr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert.get());
    return read_all(bio.get());
  }

 private:
  static std::string read_all(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
  }
};

namespace pki_detail {

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test_pki: ") + what);
}

inline void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  const x509_extension_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  check(ext && X509_add_ext(cert, ext.get(), -1) == 1, "X509_add_ext");
}

// A certificate for `subject_key` named `cn`, valid from now+from_s to now+until_s seconds,
// signed by `issuer` (self-signed when null).
inline certified_key make(const std::string& cn, long from_s, long until_s,
                          const certified_key* issuer, bool ca, const std::string& san) {
  static long serial = 1;
  certified_key out;
  out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  check(out.key != nullptr, "keygen");
  out.cert.reset(X509_new());
  X509* c = out.cert.get();
  check(X509_set_version(c, X509_VERSION_3) == 1, "version");
  ASN1_INTEGER_set(X509_get_serialNumber(c), ++serial);
  check(X509_gmtime_adj(X509_getm_notBefore(c), from_s) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(c), until_s) != nullptr, "notAfter");
  check(X509_set_pubkey(c, out.key.get()) == 1, "pubkey");
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : c;
  check(X509_set_issuer_name(c, X509_get_subject_name(issuer_cert)) == 1, "issuer");
  if (ca) {
    add_extension(c, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(c, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(c, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(c, issuer_cert, NID_ext_key_usage, "serverAuth");
    add_extension(c, issuer_cert, NID_subject_alt_name, san);
  }
  EVP_PKEY* signing_key = issuer ? issuer->key.get() : out.key.get();
  check(X509_sign(c, signing_key, EVP_sha256()) > 0, "sign");
  return out;
}

}  // namespace pki_detail

// A self-signed CA valid for a day.
inline certified_key make_ca(const std::string& cn) {
  return pki_detail::make(cn, -60, 86400, nullptr, true, {});
}

// A server certificate signed by `ca` for the subjectAltName `san` (e.g.
// "DNS:localhost,IP:127.0.0.1"), valid for a day, or expired yesterday.
inline certified_key make_server_cert(const certified_key& ca, const std::string& san,
                                      bool expired = false) {
  return expired ? pki_detail::make("test server", -2 * 86400, -86400, &ca, false, san)
                 : pki_detail::make("test server", -60, 86400, &ca, false, san);
}

}  // namespace tokenauth::test
