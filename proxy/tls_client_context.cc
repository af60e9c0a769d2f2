#include "proxy/tls_client_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace tandem::proxy {

namespace {
// The context a connection's SSL belongs to, for the new-session callback.
int contextIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
// Sessions kept per server: one per SNI name, a bounded few (names come from requests).
constexpr size_t kMaxSessions = 64;

}  // namespace

std::unique_ptr<TlsClientContext> TlsClientContext::build(const Server::Tls& tls,
                                                          const TlsDefaults& defaults,
                                                          std::string* error) {
  std::unique_ptr<TlsClientContext> c(new TlsClientContext());
  c->settings_ = tls;
  c->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = c->ctx_.get();
  if (!ctx) {
    *error = "TLS: " + opensslError();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, tlsVersionNumber(defaults.minVersion));
  if (SSL_CTX_set_cipher_list(ctx, defaults.ciphers.c_str()) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, defaults.ciphersuites.c_str()) != 1) {
    *error = "TLS ciphers: " + opensslError();
    return nullptr;
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  if (tls.verify) {
    int ok = tls.caFile.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                : SSL_CTX_load_verify_locations(ctx, tls.caFile.c_str(), nullptr);
    if (ok != 1) {
      *error = "ca_file " + tls.caFile + ": " + opensslError();
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!tls.certificate.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, tls.certificate.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls.certificate.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      *error = "crt " + tls.certificate + ": " + opensslError();
      return nullptr;
    }
  }
  if (!tls.alpn.empty()) {
    std::string wire;
    for (const auto& p : tls.alpn) {
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
    }
    SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned int>(wire.size()));
  }
  // Resumption: the sessions (TLS 1.3 tickets arrive after the handshake) come to
  // onNewSession, which keeps the newest per name; OpenSSL's own cache stays out of it.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &TlsClientContext::onNewSession);
  return c;
}

TlsClientContext::~TlsClientContext() {
  for (auto& [name, session] : sessions_) SSL_SESSION_free(session);
}

SslPtr TlsClientContext::connect(int fd, std::string_view sni) const {
  SslPtr ssl(SSL_new(ctx_.get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) return nullptr;
  SSL_set_connect_state(ssl.get());
  SSL_set_ex_data(ssl.get(), contextIndex(), const_cast<TlsClientContext*>(this));
  std::string name(sni);
  if (!name.empty()) SSL_set_tlsext_host_name(ssl.get(), name.c_str());
  if (settings_.verify) {
    const std::string& host = settings_.verifyHost.empty() ? name : settings_.verifyHost;
    // Checked in the handshake (RFC 6125 rules: SAN DNS names, wildcards in the left label).
    if (!host.empty() && SSL_set1_host(ssl.get(), host.c_str()) != 1) return nullptr;
    SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sessions_.find(name);
    // A copy each time: the connection marks the session it uses not resumable if it is freed
    // without a TLS shutdown, and the kept one must outlive it.
    if (it != sessions_.end())
      if (SSL_SESSION* copy = SSL_SESSION_dup(it->second)) {
        SSL_set_session(ssl.get(), copy);
        SSL_SESSION_free(copy);
      }
  }
  return ssl;
}

size_t TlsClientContext::cachedSessions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_.size();
}

int TlsClientContext::onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<TlsClientContext*>(SSL_get_ex_data(ssl, contextIndex()));
  if (!self) return 0;
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  // A copy: OpenSSL marks the connection's own session not resumable when that connection is
  // freed without a TLS shutdown (a pooled server connection dropped, a cut exchange).
  if (SSL_SESSION* copy = SSL_SESSION_dup(session)) self->keep(name ? name : "", copy);
  return 0;  // the original stays the connection's
}

void TlsClientContext::keep(const std::string& sni, SSL_SESSION* session) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sessions_.find(sni);
  if (it != sessions_.end()) {
    SSL_SESSION_free(it->second);
    it->second = session;
    return;
  }
  if (sessions_.size() >= kMaxSessions) {
    SSL_SESSION_free(sessions_.begin()->second);
    sessions_.erase(sessions_.begin());
  }
  sessions_.emplace(sni, session);
}

}  // namespace tandem::proxy
