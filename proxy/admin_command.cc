#include "proxy/admin_command.h"

#include <cerrno>
#include <cstdlib>
#include <vector>

namespace tandem::proxy {

namespace {

std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.emplace_back(line.substr(start, i - start));
  }
  return out;
}

// "backend/server": both parts non-empty.
bool splitServer(const std::string& bs, AdminCommand* c) {
  size_t slash = bs.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == bs.size()) return false;
  c->backend = bs.substr(0, slash);
  c->server = bs.substr(slash + 1);
  return true;
}

}  // namespace

AdminCommand parseAdminCommand(std::string_view line, std::string_view payload) {
  AdminCommand c;
  std::vector<std::string> w = words(line);
  using K = AdminCommand::Kind;
  if (w.empty() || w[0] == "help") {
    c.kind = K::Help;
  } else if (w.size() == 3 && w[0] == "show" && w[1] == "servers" && w[2] == "state") {
    c.kind = K::ShowServers;
  } else if (w.size() == 3 && (w[0] == "disable" || w[0] == "enable") && w[1] == "server" &&
             splitServer(w[2], &c)) {
    c.kind = K::SetState;
    c.state = w[0] == "disable" ? "maint" : "ready";
  } else if (w.size() == 5 && w[0] == "set" && w[1] == "ssl" && w[2] == "cert" && w[4] == "<<") {
    c.kind = K::SetSslCert;
    c.file = w[3];
    c.payload = payload;
  } else if (w.size() == 4 && (w[0] == "commit" || w[0] == "abort") && w[1] == "ssl" &&
             w[2] == "cert") {
    c.kind = w[0] == "commit" ? K::CommitSslCert : K::AbortSslCert;
    c.file = w[3];
  } else if (w.size() == 4 && w[0] == "set" && w[1] == "ssl" && w[2] == "ocsp-response") {
    c.kind = K::SetOcspResponse;
    c.payload = w[3];
  } else if (w.size() == 5 && w[0] == "set" && w[1] == "server" && splitServer(w[2], &c)) {
    if (w[3] == "state") {
      c.state = w[4];
      c.kind = c.state == "ready" || c.state == "drain" || c.state == "maint" ? K::SetState
                                                                              : K::BadState;
    } else if (w[3] == "weight") {
      errno = 0;
      char* end = nullptr;
      long v = std::strtol(w[4].c_str(), &end, 10);
      bool ok = errno == 0 && end && *end == '\0' && v >= 0 && v <= 256 && !w[4].empty();
      c.kind = ok ? K::SetWeight : K::BadWeight;
      c.weight = ok ? static_cast<int>(v) : 0;
    }
  }
  if (c.kind == K::Unknown || c.kind == K::Help || c.kind == K::ShowServers) {
    c.backend.clear();
    c.server.clear();
  }
  return c;
}

}  // namespace tandem::proxy
