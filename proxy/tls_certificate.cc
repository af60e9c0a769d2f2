#include "proxy/tls_certificate.h"

#include "proxy/tls_ocsp.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "proxy/tls_context.h"

namespace tandem::proxy {
namespace {

struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
}  // namespace

std::optional<std::string> checkCertificateFile(const std::string& path) {
  std::unique_ptr<FILE, FileClose> f(std::fopen(path.c_str(), "r"));
  if (!f) return "cannot open certificate file '" + path + "': " + std::strerror(errno);
  std::unique_ptr<X509, X509Free> cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return "no PEM certificate found in '" + path + "'";
  }
  std::rewind(f.get());
  std::unique_ptr<EVP_PKEY, PkeyFree> key(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return "no private key found in '" + path +
           "' (a crt file holds the certificate chain and the key)";
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return "private key in '" + path + "' does not match its certificate";
  }
  return checkOcspFile(path);
}

std::optional<TlsDefaultsError> checkTlsDefaults(const TlsDefaults& tls) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return TlsDefaultsError{"", opensslError()};
  if (!tls.ciphers.empty() && SSL_CTX_set_cipher_list(ctx.get(), tls.ciphers.c_str()) != 1)
    return TlsDefaultsError{"ciphers", "OpenSSL accepts none of these ciphers: " + opensslError()};
  if (!tls.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx.get(), tls.ciphersuites.c_str()) != 1)
    return TlsDefaultsError{"ciphersuites",
                            "OpenSSL rejects these TLS 1.3 ciphersuites: " + opensslError()};
  return std::nullopt;
}

}  // namespace tandem::proxy
