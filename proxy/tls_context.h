// TLS termination on a `bind` with `crt:` (HAProxy's `bind ... ssl crt`): one OpenSSL server
// context per certificate file, the first one the default, the others chosen by SNI (exact or
// wildcard names from the certificate's SAN DNS entries, else its CN). `global.tls` sets the
// ciphers, TLS 1.3 ciphersuites, minimum version and session tickets; `alpn` the protocols
// offered (HTTP frontends default to http/1.1). Built once at start and shared by every worker
// thread (SSL_new on a shared SSL_CTX is thread-safe).
#pragma once

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "proxy/config.h"
#include "proxy/tls_ocsp.h"

namespace tandem::proxy {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

// The oldest error on OpenSSL's (thread-local) queue, in words; the queue is cleared.
std::string opensslError();
// global.tls.min_version ("TLSv1.0" ... "TLSv1.3") as OpenSSL's version number.
int tlsVersionNumber(const std::string& name);

// A certificate, its chain and its key, parsed and checked (the key matches): what
// `set ssl cert` stages and `commit ssl cert` puts in place.
struct CertificateMaterial {
  static std::unique_ptr<CertificateMaterial> parse(const std::string& pem, std::string* error);
  ~CertificateMaterial();
  X509* certificate = nullptr;
  STACK_OF(X509) * chain = nullptr;
  EVP_PKEY* key = nullptr;
};

class TlsContext {
 public:
  // nullptr + *error when a certificate or a setting does not load.
  static std::unique_ptr<TlsContext> build(const Bind& bind, const TlsDefaults& defaults, Mode mode,
                                           std::string* error);
  // A new server-side connection state on `fd` (the handshake runs inside the first reads).
  SslPtr accept(int fd) const;
  // The certificates' OCSP staples (`set ssl ocsp-response` finds its certificate here).
  const std::vector<std::unique_ptr<OcspStaple>>& staples() const { return staples_; }
  // Whether `file` is one of this bind's certificates.
  bool serves(const std::string& file) const;
  // Puts `material` in place of `file`'s certificate for the handshakes that start from now
  // on (connections open keep theirs); its names replace the old ones for SNI, its sessions
  // are its own, its OCSP staple starts empty.
  bool replaceCertificate(const std::string& file, const CertificateMaterial& material,
                          std::string* error);

 private:
  // The certificate is chosen from the hello's SNI before anything else is decided: the session
  // a client offers is then judged against the certificate it would resume under.
  static int onClientHello(SSL* ssl, int* alert, void* arg);
  // A ticket resumes only under the certificate it was issued with.
  static SSL_TICKET_RETURN onTicket(SSL* ssl, SSL_SESSION* session, const unsigned char* keyName,
                                    size_t keyNameLength, SSL_TICKET_STATUS status, void* arg);
  static int onAlpn(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                    const unsigned char* in, unsigned int inlen, void* arg);
  SSL_CTX* forName(const std::string& host) const;
  // Mutual TLS on one certificate's context: ca_file, crl_file, verify.
  static bool requestClientCertificates(SSL_CTX* c, const Bind& bind, std::string* error);

  std::vector<SslCtxPtr> contexts_;  // [0] is the default certificate
  std::vector<std::string> files_;   // each context's crt file
  // Readers (every handshake: SSL_new, the SNI choice, ticket checks) share it; replacing a
  // certificate takes it alone (OpenSSL copies a context's certificate into each SSL).
  mutable std::shared_mutex lock_;
  std::vector<std::unique_ptr<OcspStaple>> staples_;         // one per certificate
  std::map<const SSL_CTX*, std::string> sessionIdContexts_;  // each certificate's SHA-256
  std::map<std::string, SSL_CTX*> exact_;                    // "www.example.com"
  std::map<std::string, SSL_CTX*> wildcard_;                 // "example.com" for "*.example.com"
  std::vector<unsigned char> alpn_;                          // wire format, in preference order
};

}  // namespace tandem::proxy
