// TLS to one server (`ssl: true` on a server): the OpenSSL client context built from its
// settings (verification against ca_file or the system's CAs, a client certificate, ALPN,
// global.tls's ciphers and minimum version), and the sessions it keeps for resumption, one per
// SNI name. Built once with the runtime and shared by every worker (SSL_new on a shared SSL_CTX
// is thread-safe; the session cache has its own lock).
#pragma once

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "proxy/config.h"
#include "proxy/tls_context.h"

namespace tandem::proxy {

class TlsClientContext {
 public:
  // nullptr + *error when the CA file, the certificate or a setting does not load.
  static std::unique_ptr<TlsClientContext> build(const Server::Tls& tls,
                                                 const TlsDefaults& defaults, std::string* error);
  ~TlsClientContext();

  // A client connection state on `fd` for `sni` (empty: no SNI), resuming the last session
  // with that name when there is one; the certificate must carry verifyhost or `sni` when
  // verification is on.
  SslPtr connect(int fd, std::string_view sni) const;
  // Sessions kept so far (for tests and the stats).
  size_t cachedSessions() const;

 private:
  TlsClientContext() = default;
  static int onNewSession(SSL* ssl, SSL_SESSION* session);
  void keep(const std::string& sni, SSL_SESSION* session);

  SslCtxPtr ctx_;
  Server::Tls settings_;
  mutable std::mutex mutex_;
  std::map<std::string, SSL_SESSION*> sessions_;  // owned; by SNI ("" without)
};

}  // namespace tandem::proxy
