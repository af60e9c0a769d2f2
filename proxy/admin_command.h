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
    Unknown,
  };
  Kind kind = Kind::Unknown;
  std::string backend;
  std::string server;
  std::string state;  // ready | drain | maint
  int weight = 0;
  std::string payload;  // the base64 OCSP response
};

AdminCommand parseAdminCommand(std::string_view line);

}  // namespace tandem::proxy
