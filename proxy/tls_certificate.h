// Checks of TLS material done at config time, with the same OpenSSL calls the proxy uses at start,
// so `tandem check` rejects what the proxy would fail to load.
#pragma once

#include <optional>
#include <string>

#include "proxy/config.h"

namespace tandem::proxy {

// A combined PEM (HAProxy's `crt`): certificate chain and private key in one file.
// Returns an error message, or nullopt when the file is readable, holds a certificate and a
// private key, and the key matches the certificate.
std::optional<std::string> checkCertificateFile(const std::string& path);

// Returns an error for cipher lists, TLS 1.3 ciphersuites or a minimum version OpenSSL rejects.
struct TlsDefaultsError {
  std::string field;  // "ciphers", "ciphersuites", "min_version"
  std::string message;
};
std::optional<TlsDefaultsError> checkTlsDefaults(const TlsDefaults& tls);

}  // namespace tandem::proxy
