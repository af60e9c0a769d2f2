// The admin socket's command language (HAProxy's runtime API subset), parsed apart from its
// effects so that the parser can be unit-tested and fuzzed on its own.
#pragma once

#include <string>
#include <string_view>

namespace tandem::proxy {

struct AdminCommand {
  enum class Kind {
    Help,
    ShowServers,
    SetState,  // also `disable server` (maint) and `enable server` (ready)
    SetWeight,
    BadState,         // `set server b/s state X` with X not ready|drain|maint
    BadWeight,        // not a whole number 0-256
    SetOcspResponse,  // `set ssl ocsp-response <base64>`
    SetSslCert,       // `set ssl cert <file> <<` + PEM lines: staged for `commit`
    CommitSslCert,    // `commit ssl cert <file>`: new handshakes use it
    AbortSslCert,     // `abort ssl cert <file>`
    Unknown,
  };
  Kind kind = Kind::Unknown;
  std::string backend;
  std::string server;
  std::string state;  // ready | drain | maint
  int weight = 0;
  std::string payload;  // the base64 OCSP response; the PEM of `set ssl cert`
  std::string file;     // the certificate file a `ssl cert` command is about
};

// `line` is the command's first line; `payload`, for a first line ending in "<<", the lines
// after it up to an empty one (HAProxy's multi-line commands).
AdminCommand parseAdminCommand(std::string_view line, std::string_view payload = {});

}  // namespace tandem::proxy
