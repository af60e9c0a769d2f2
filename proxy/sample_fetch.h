// What a rule's header value may take from the connection, written as HAProxy's sample
// fetches of the same names: %[ssl_c_used] (1 when the client sent a certificate, else 0),
// %[ssl_c_verify] (the X509 verification result, 0 when it passed), %[ssl_c_s_dn] (the
// certificate's subject, OpenSSL's one-line form "/C=../O=../CN=.."), %[ssl_c_sha256] (the
// certificate's SHA-256 fingerprint, upper-case hex). A value without "%[" is used as written.
#pragma once

#include <string>
#include <string_view>

namespace tandem::proxy {

// The client certificate of a TLS connection (a bind with ca_file), as TlsTransport read it.
struct PeerCertificate {
  bool presented = false;
  long verifyResult = 0;  // X509_V_OK (0) when it verified
  std::string subject;    // X509_NAME_oneline
  std::string sha256;     // upper-case hex
};

// Whether every %[...] in `value` names a fetch above; *unknown says the first that does not.
bool fetchesKnown(std::string_view value, std::string* unknown);
// `value` with each %[fetch] replaced (by "" when there is no certificate); CR, LF and NUL
// from a certificate never reach the header.
std::string expandFetches(std::string_view value, const PeerCertificate* cert);
inline bool hasFetches(std::string_view value) {
  return value.find("%[") != std::string_view::npos;
}

}  // namespace tandem::proxy
