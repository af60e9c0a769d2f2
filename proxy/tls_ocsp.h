// OCSP stapling (HAProxy's `crt` + `<crt>.ocsp`): a DER OCSP response kept beside a
// certificate file is checked against the certificate (its issuer from the chain in the same
// PEM, or `<crt>.issuer`) and sent to clients that ask (status_request), so they need not
// ask the CA themselves. Read at start and at every reload; replaced at run time by the admin
// socket's `set ssl ocsp-response <base64>`, which finds the certificate the response is for.
#pragma once

#include <openssl/ocsp.h>
#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace tandem::proxy {

// One certificate's stapled response.
class OcspStaple {
 public:
  // For the certificate in `certificateFile` (its chain after it, or `<file>.issuer`, names
  // the issuer); nullptr + *error when the issuer cannot be found.
  static std::unique_ptr<OcspStaple> forCertificate(const std::string& certificateFile,
                                                    std::string* error);
  ~OcspStaple();

  // Checks `der` (a DER OCSP response) is a successful, current answer about this
  // certificate; nullopt when it is, else why not.
  std::optional<std::string> check(const std::string& der) const;
  // Takes `der` after check(); sent from the next handshake on.
  void set(std::string der);
  // Reads `<certificateFile>.ocsp` when it exists: false + *error when it is there but
  // unusable; true (nothing stapled) when there is none.
  bool loadFile(std::string* error);
  std::shared_ptr<const std::string> response() const;
  // Staples this certificate's response on the connections of `ctx` (its certificate's).
  void attach(SSL_CTX* ctx);
  // Every context of a bind answers status requests: OpenSSL asks the context a connection
  // started on (the default certificate's), whichever the SNI chose since.
  static void enable(SSL_CTX* ctx);
  // The staple attached to `ctx`, if any.
  static OcspStaple* of(SSL_CTX* ctx);
  // The certificate changed (`commit ssl cert`): responses are judged against this one (and
  // `issuer`, when known), and none is stapled until one comes.
  void rebind(X509* certificate, X509* issuer);

 private:
  OcspStaple() = default;
  static int onStatusRequest(SSL* ssl, void* arg);

  std::string file_;
  OCSP_CERTID* id_ = nullptr;  // owned
  mutable std::mutex mutex_;
  std::shared_ptr<const std::string> der_;
};

// For `tandem check`: the error of `<certificateFile>.ocsp` if there is one and it does not
// fit the certificate (nullopt: none, or a good one).
std::optional<std::string> checkOcspFile(const std::string& certificateFile);

}  // namespace tandem::proxy
