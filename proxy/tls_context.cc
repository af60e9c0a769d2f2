#include "proxy/tls_context.h"

#include "proxy/tls_ticket_keys.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <strings.h>

#include <algorithm>
#include <cctype>

namespace tandem::proxy {
std::string opensslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

int tlsVersionNumber(const std::string& v) {
  if (v == "TLSv1.0") return TLS1_VERSION;
  if (v == "TLSv1.1") return TLS1_1_VERSION;
  if (v == "TLSv1.3") return TLS1_3_VERSION;
  return TLS1_2_VERSION;
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// DNS names a certificate answers for: its SAN DNS entries, else its subject CN.
std::vector<std::string> certificateNames(X509* cert) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
      if (n->type != GEN_DNS) continue;
      const unsigned char* data = ASN1_STRING_get0_data(n->d.dNSName);
      names.emplace_back(reinterpret_cast<const char*>(data),
                         static_cast<size_t>(ASN1_STRING_length(n->d.dNSName)));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {
    char cn[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn)) > 0)
      names.emplace_back(cn);
  }
  return names;
}

}  // namespace

namespace {

// `verify: optional`: whatever certificate the client sends, the handshake goes on; its
// verification result stays on the connection for ACLs (ssl_c_verify) and headers.
int acceptAnyCertificate(int, X509_STORE_CTX*) {
  return 1;
}

}  // namespace

bool TlsContext::requestClientCertificates(SSL_CTX* c, const Bind& bind, std::string* error) {
  if (SSL_CTX_load_verify_locations(c, bind.caFile.c_str(), nullptr) != 1)
    return *error = "ca_file " + bind.caFile + ": " + opensslError(), false;
  // The CAs named in the CertificateRequest: a client with several certificates picks one.
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(bind.caFile.c_str()))
    SSL_CTX_set_client_CA_list(c, names);
  if (!bind.crlFile.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(c);
    X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    if (!lookup || X509_load_crl_file(lookup, bind.crlFile.c_str(), X509_FILETYPE_PEM) <= 0)
      return *error = "crl_file " + bind.crlFile + ": " + opensslError(), false;
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }
  if (bind.verify == Bind::Verify::Required)
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  else
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, acceptAnyCertificate);
  return true;
}

std::unique_ptr<TlsContext> TlsContext::build(const Bind& bind, const TlsDefaults& defaults,
                                              Mode mode, std::string* error) {
  auto tls = std::unique_ptr<TlsContext>(new TlsContext());
  std::vector<std::string> alpn = bind.alpn;
  if (alpn.empty() && mode == Mode::Http)
    alpn = bind.proto == Bind::Proto::H2 ? std::vector<std::string>{"h2"}
                                         : std::vector<std::string>{"http/1.1"};
  for (const auto& p : alpn) {
    if (p.empty() || p.size() > 255) continue;
    tls->alpn_.push_back(static_cast<unsigned char>(p.size()));
    tls->alpn_.insert(tls->alpn_.end(), p.begin(), p.end());
  }
  for (const auto& file : bind.certificates) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) return *error = opensslError(), nullptr;
    SSL_CTX* c = ctx.get();
    SSL_CTX_set_min_proto_version(c, tlsVersionNumber(defaults.minVersion));
    if (!defaults.ciphers.empty() && SSL_CTX_set_cipher_list(c, defaults.ciphers.c_str()) != 1)
      return *error = "global.tls.ciphers: " + opensslError(), nullptr;
    if (!defaults.ciphersuites.empty() &&
        SSL_CTX_set_ciphersuites(c, defaults.ciphersuites.c_str()) != 1)
      return *error = "global.tls.ciphersuites: " + opensslError(), nullptr;
    // No renegotiation (a DoS lever and a source of WANT_READ inside writes); a client that
    // leaves without close_notify is an ordinary EOF, as with plain TCP.
    uint64_t options = SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                       SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION;
    if (!defaults.tickets) options |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(c, options);
    // The same keys in every worker, before and after a reload, and on the other node.
    if (defaults.tickets && !defaults.ticketKeys.empty()) useTicketKeys(c, &defaults.ticketKeys);
    // Partial writes and a moving buffer match how streams send; released buffers keep an idle
    // TLS connection's memory near a plain one's.
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(c, file.c_str()) != 1)
      return *error = "certificate " + file + ": " + opensslError(), nullptr;
    // A session resumes only under the certificate it was made with: each context is told
    // apart by its certificate's SHA-256 (exactly SSL_MAX_SID_CTX_LENGTH bytes). One shared
    // context would let a session made for one name resume under SNI for another.
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digestLength = 0;
    if (X509_digest(SSL_CTX_get0_certificate(c), EVP_sha256(), digest, &digestLength) != 1 ||
        SSL_CTX_set_session_id_context(
            c, digest, std::min<unsigned int>(digestLength, SSL_MAX_SID_CTX_LENGTH)) != 1)
      return *error = "certificate " + file + ": " + opensslError(), nullptr;
    tls->sessionIdContexts_[c].assign(reinterpret_cast<const char*>(digest),
                                      std::min<unsigned int>(digestLength, SSL_MAX_SID_CTX_LENGTH));
    // TLS 1.3 resumption (and 1.2 with a ticket) does not compare session-id contexts: the
    // ticket callback does.
    SSL_CTX_set_session_ticket_cb(c, nullptr, onTicket, tls.get());
    if (SSL_CTX_use_PrivateKey_file(c, file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c) != 1)
      return *error = "private key in " + file + ": " + opensslError(), nullptr;
    if (bind.verify != Bind::Verify::None && !requestClientCertificates(c, bind, error))
      return nullptr;
    SSL_CTX_set_client_hello_cb(c, onClientHello, tls.get());
    // OCSP stapling from `<crt>.ocsp`, read now (start and every reload).
    auto staple = OcspStaple::forCertificate(file, error);
    if (staple) {
      if (!staple->loadFile(error)) return nullptr;
      staple->attach(c);
      tls->staples_.push_back(std::move(staple));
    } else {
      error->clear();  // no issuer known: nothing can be stapled (and nothing was asked)
      OcspStaple::enable(c);
    }
    if (!tls->alpn_.empty()) SSL_CTX_set_alpn_select_cb(c, onAlpn, tls.get());
    for (const auto& name : certificateNames(SSL_CTX_get0_certificate(c))) {
      std::string n = lower(name);
      if (n.rfind("*.", 0) == 0)
        tls->wildcard_.emplace(n.substr(2), c);  // the first certificate naming it wins
      else
        tls->exact_.emplace(n, c);
    }
    tls->contexts_.push_back(std::move(ctx));
    tls->files_.push_back(file);
  }
  if (tls->contexts_.empty()) return *error = "a TLS bind needs a certificate", nullptr;
  return tls;
}

SslPtr TlsContext::accept(int fd) const {
  std::shared_lock<std::shared_mutex> lock(lock_);
  SslPtr ssl(SSL_new(contexts_.front().get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) return nullptr;
  SSL_set_accept_state(ssl.get());
  return ssl;
}

SSL_CTX* TlsContext::forName(const std::string& host) const {
  std::string h = lower(host);
  if (auto it = exact_.find(h); it != exact_.end()) return it->second;
  size_t dot = h.find('.');
  if (dot != std::string::npos)
    if (auto it = wildcard_.find(h.substr(dot + 1)); it != wildcard_.end()) return it->second;
  return nullptr;
}

int TlsContext::onClientHello(SSL* ssl, int*, void* arg) {
  auto* self = static_cast<const TlsContext*>(arg);
  std::shared_lock<std::shared_mutex> lock(self->lock_);
  // RFC 6066 §3: server_name_list (2-byte length) of entries type (1) + name (2-byte length);
  // the first host_name entry counts.
  const unsigned char* p = nullptr;
  size_t left = 0;
  if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &left) || left < 2)
    return SSL_CLIENT_HELLO_SUCCESS;  // no SNI: the default certificate
  size_t listLength = (size_t{p[0]} << 8) | p[1];
  p += 2;
  left = std::min(left - 2, listLength);
  while (left >= 3) {
    unsigned type = p[0];
    size_t nameLength = (size_t{p[1]} << 8) | p[2];
    p += 3;
    left -= 3;
    if (nameLength > left) break;
    if (type == TLSEXT_NAMETYPE_host_name) {
      SSL_CTX* ctx = self->forName(std::string(reinterpret_cast<const char*>(p), nameLength));
      if (ctx && ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, ctx);
      break;  // an unknown name gets the default certificate, as HAProxy does
    }
    p += nameLength;
    left -= nameLength;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

SSL_TICKET_RETURN TlsContext::onTicket(SSL* ssl, SSL_SESSION* session, const unsigned char*, size_t,
                                       SSL_TICKET_STATUS status, void* arg) {
  bool renew = status == SSL_TICKET_SUCCESS_RENEW;
  if (status == SSL_TICKET_FATAL_ERR_MALLOC || status == SSL_TICKET_FATAL_ERR_OTHER)
    return SSL_TICKET_RETURN_ABORT;
  if (status != SSL_TICKET_SUCCESS && !renew)
    return SSL_TICKET_RETURN_IGNORE_RENEW;  // none, empty or unreadable: a new one
  auto* self = static_cast<const TlsContext*>(arg);
  std::shared_lock<std::shared_mutex> lock(self->lock_);
  unsigned int length = 0;
  const unsigned char* id = SSL_SESSION_get0_id_context(session, &length);
  auto it = self->sessionIdContexts_.find(SSL_get_SSL_CTX(ssl));
  if (it == self->sessionIdContexts_.end() ||
      std::string_view(reinterpret_cast<const char*>(id), length) != it->second)
    return SSL_TICKET_RETURN_IGNORE_RENEW;  // another certificate's session: a full handshake
  return renew ? SSL_TICKET_RETURN_USE_RENEW : SSL_TICKET_RETURN_USE;
}

bool TlsContext::serves(const std::string& file) const {
  return std::find(files_.begin(), files_.end(), file) != files_.end();
}

bool TlsContext::replaceCertificate(const std::string& file, const CertificateMaterial& m,
                                    std::string* error) {
  auto at = std::find(files_.begin(), files_.end(), file);
  if (at == files_.end()) return *error = "not a certificate of this bind", false;
  SSL_CTX* c = contexts_[static_cast<size_t>(at - files_.begin())].get();
  std::unique_lock<std::shared_mutex> lock(lock_);
  // OpenSSL keeps a certificate per key type: one of another type would be served beside the
  // old one, not instead of it.
  if (EVP_PKEY* old = SSL_CTX_get0_privatekey(c);
      old && EVP_PKEY_base_id(old) != EVP_PKEY_base_id(m.key))
    return *error =
               "the new key is of another type (RSA/EC) than the old one: change key "
               "types with a reload",
           false;
  if (SSL_CTX_use_cert_and_key(c, m.certificate, m.key, m.chain, 1) != 1)
    return *error = opensslError(), false;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digestLength = 0;
  if (X509_digest(m.certificate, EVP_sha256(), digest, &digestLength) == 1) {
    unsigned int n = std::min<unsigned int>(digestLength, SSL_MAX_SID_CTX_LENGTH);
    SSL_CTX_set_session_id_context(c, digest, n);
    sessionIdContexts_[c].assign(reinterpret_cast<const char*>(digest), n);
  }
  for (auto* names : {&exact_, &wildcard_})
    std::erase_if(*names, [c](const auto& entry) { return entry.second == c; });
  for (const auto& name : certificateNames(m.certificate)) {
    std::string n = lower(name);
    if (n.rfind("*.", 0) == 0)
      wildcard_.emplace(n.substr(2), c);
    else
      exact_.emplace(n, c);
  }
  // The old certificate's OCSP response says nothing of the new one.
  if (OcspStaple* staple = OcspStaple::of(c)) {
    X509* issuer = m.chain && sk_X509_num(m.chain) > 0 ? sk_X509_value(m.chain, 0) : nullptr;
    staple->rebind(m.certificate, issuer);
  }
  return true;
}

std::unique_ptr<CertificateMaterial> CertificateMaterial::parse(const std::string& pem,
                                                                std::string* error) {
  auto m = std::make_unique<CertificateMaterial>();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return *error = opensslError(), nullptr;
  m->certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (!m->certificate) return ERR_clear_error(), *error = "no PEM certificate in it", nullptr;
  m->chain = sk_X509_new_null();
  while (X509* more = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    sk_X509_push(m->chain, more);
  ERR_clear_error();
  BIO_reset(bio.get());
  m->key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!m->key)
    return ERR_clear_error(), *error = "no private key in it (send the chain and the key)", nullptr;
  if (X509_check_private_key(m->certificate, m->key) != 1)
    return ERR_clear_error(), *error = "the private key does not match the certificate", nullptr;
  return m;
}

CertificateMaterial::~CertificateMaterial() {
  X509_free(certificate);
  if (chain) sk_X509_pop_free(chain, X509_free);
  EVP_PKEY_free(key);
}

int TlsContext::onAlpn(SSL*, const unsigned char** out, unsigned char* outlen,
                       const unsigned char* in, unsigned int inlen, void* arg) {
  auto* self = static_cast<const TlsContext*>(arg);
  unsigned char* selected = nullptr;
  // Our order first (server preference), among what the client offers.
  if (SSL_select_next_proto(&selected, outlen, self->alpn_.data(),
                            static_cast<unsigned int>(self->alpn_.size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: carry on without ALPN
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace tandem::proxy
