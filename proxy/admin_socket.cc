#include "proxy/admin_socket.h"

#include <openssl/evp.h>

#include "proxy/admin_command.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "common/logging.h"
#include "health/server_tracker.h"
#include "proxy/worker.h"

namespace tandem::proxy {

struct AdminSocket::Client {
  UniqueFd fd;
  Event readEv;
  Event writeEv;
  std::string in;
  std::string out;
  size_t sent = 0;
};

AdminSocket::AdminSocket(Worker& home, std::vector<Worker*> workers, Runtime& runtime,
                         const AdminSocketConfig& config, std::string* error)
    : home_(home), workers_(std::move(workers)), runtime_(runtime), path_(config.path) {
  sockaddr_un sa{};
  if (path_.empty() || path_.size() >= sizeof(sa.sun_path)) {
    *error = "admin socket path is empty or too long: '" + path_ + "'";
    return;
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, path_.c_str());
  ::unlink(path_.c_str());
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
      ::listen(fd.get(), 16) != 0) {
    *error = "cannot listen on admin socket " + path_ + ": " + std::strerror(errno);
    return;
  }
  ::chmod(path_.c_str(), config.mode);
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    boundDev_ = st.st_dev;
    boundIno_ = st.st_ino;
  }
  fd_ = std::move(fd);
  ev_.assign(home_.base(), fd_.get(), EV_READ | EV_PERSIST, [this](short) { onAccept(); });
  ev_.add();
}

AdminSocket::~AdminSocket() {
  clients_.clear();
  if (fd_) {
    ev_.remove();
    // Only our own socket file: after a reload the path belongs to the new worker's socket,
    // bound while this (old) worker was still draining.
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && st.st_dev == boundDev_ && st.st_ino == boundIno_)
      ::unlink(path_.c_str());
  }
}

void AdminSocket::onAccept() {
  for (int i = 0; i < 16; ++i) {
    int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    auto c = std::make_unique<Client>();
    Client* client = c.get();
    c->fd.reset(fd);
    c->readEv.assign(home_.base(), fd, EV_READ | EV_PERSIST,
                     [this, client](short what) { onClientReadable(client, what); });
    c->writeEv.assign(home_.base(), fd, EV_WRITE | EV_PERSIST,
                      [this, client](short what) { onClientWritable(client, what); });
    c->readEv.add(std::chrono::seconds(10));  // a client that never finishes its line is dropped
    clients_.push_back(std::move(c));
  }
}

void AdminSocket::onClientReadable(Client* c, short what) {
  if (what & EV_TIMEOUT) return closeClient(c);
  char buf[1024];
  ssize_t n = ::recv(c->fd.get(), buf, sizeof(buf), 0);
  if (n > 0) c->in.append(buf, static_cast<size_t>(n));
  size_t nl = c->in.find('\n');
  // A line may carry an OCSP response in base64 (a few KiB); a certificate, several lines.
  if (nl == std::string::npos && n > 0 && c->in.size() < 65536) return;
  if (c->in.empty()) return closeClient(c);
  std::string line = c->in.substr(0, nl);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  std::string payload;
  if (line.size() >= 2 && line.compare(line.size() - 2, 2, "<<") == 0 && nl != std::string::npos) {
    // A multi-line command: its payload runs to an empty line (or the end of the input).
    size_t end = c->in.find("\n\n", nl);
    if (end == std::string::npos && n > 0 && c->in.size() < 65536) return;
    payload = c->in.substr(nl + 1, end == std::string::npos ? std::string::npos : end - nl);
  }
  c->out = execute(line, payload);
  c->readEv.remove();
  c->writeEv.add(std::chrono::seconds(10));
}

void AdminSocket::onClientWritable(Client* c, short what) {
  if (what & EV_TIMEOUT) return closeClient(c);
  ssize_t n = ::send(c->fd.get(), c->out.data() + c->sent, c->out.size() - c->sent, MSG_NOSIGNAL);
  if (n > 0) c->sent += static_cast<size_t>(n);
  if (n < 0 && errno == EAGAIN) return;
  if (n < 0 || c->sent == c->out.size()) closeClient(c);
}

void AdminSocket::closeClient(Client* c) {
  // Deleted inside its own callback: nothing touches the client after this.
  clients_.erase(
      std::remove_if(clients_.begin(), clients_.end(), [c](const auto& p) { return p.get() == c; }),
      clients_.end());
}

ServerRuntime* AdminSocket::find(const std::string& backend, const std::string& server,
                                 BackendRuntime** beOut) {
  for (auto& be : runtime_.backends()) {
    if (be->config->name != backend) continue;
    for (auto& s : be->servers)
      if (s->config->name == server) {
        if (beOut) *beOut = be.get();
        return s.get();
      }
  }
  return nullptr;
}

std::string AdminSocket::execute(const std::string& line, const std::string& payload) {
  AdminCommand c = parseAdminCommand(line, payload);
  switch (c.kind) {
    case AdminCommand::Kind::Help:
      return "Commands:\n  show servers state\n  disable server <backend>/<server>\n"
             "  enable server <backend>/<server>\n"
             "  set server <backend>/<server> state ready|drain|maint\n"
             "  set server <backend>/<server> weight <0-256>\n"
             "  set ssl ocsp-response <base64 DER response>\n"
             "  set ssl cert <file> <<  (then the PEM: certificate, chain, key; an empty line)\n"
             "  commit ssl cert <file>\n  abort ssl cert <file>\n";
    case AdminCommand::Kind::ShowServers:
      return showServers();
    case AdminCommand::Kind::SetState:
      return setState(c.backend, c.server, c.state);
    case AdminCommand::Kind::BadState:
      return "State must be ready, drain or maint.\n";
    case AdminCommand::Kind::SetWeight:
      return setWeight(c.backend, c.server, c.weight);
    case AdminCommand::Kind::BadWeight:
      return "Weight must be 0-256.\n";
    case AdminCommand::Kind::SetOcspResponse:
      return setOcspResponse(c.payload);
    case AdminCommand::Kind::SetSslCert:
      return stageCertificate(c.file, c.payload);
    case AdminCommand::Kind::CommitSslCert:
      return commitCertificate(c.file);
    case AdminCommand::Kind::AbortSslCert:
      return staged_.erase(c.file) ? "Transaction aborted for certificate '" + c.file + "'!\n"
                                   : "No ongoing transaction for '" + c.file + "'.\n";
    case AdminCommand::Kind::Unknown:
      break;
  }
  return "Unknown command. Try 'help'.\n";
}

std::string AdminSocket::stageCertificate(const std::string& file, const std::string& pem) {
  // HAProxy's `set ssl cert`: the new certificate waits, checked, for `commit ssl cert`.
  bool used = false;
  for (auto& fe : runtime_.frontends())
    for (auto& [bind, tls] : fe->tls) used = used || tls->serves(file);
  if (!used) return "No certificate '" + file + "' is loaded (it must be a bind's crt).\n";
  std::string error;
  auto certificate = CertificateMaterial::parse(pem, &error);
  if (!certificate) return "Certificate refused: " + error + ".\n";
  staged_[file] = std::move(certificate);
  return "Transaction created for certificate " + file + "!\n";
}

std::string AdminSocket::commitCertificate(const std::string& file) {
  auto it = staged_.find(file);
  if (it == staged_.end()) return "No ongoing transaction for '" + file + "'.\n";
  int replaced = 0;
  std::string error;
  for (auto& fe : runtime_.frontends())
    for (auto& [bind, tls] : fe->tls)
      if (tls->serves(file)) {
        if (!tls->replaceCertificate(file, *it->second, &error))
          return "Commit failed: " + error + ".\n";
        ++replaced;
      }
  staged_.erase(it);
  logging::get(logging::Component::Proxy)
      .info(
          "certificate {} replaced from the admin socket ({} bind(s)); a reload reads the file "
          "again",
          file, replaced);
  return "Committing " + file + "\nSuccess!\n";
}

std::string AdminSocket::setOcspResponse(const std::string& base64) {
  // HAProxy's `set ssl ocsp-response`: the response names its certificate; every bind
  // stapling that certificate sends it from the next handshake on (until a reload reads the
  // .ocsp file again).
  std::string der(base64.size() * 3 / 4 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(der.data()),
                          reinterpret_cast<const unsigned char*>(base64.data()),
                          static_cast<int>(base64.size()));
  if (n < 0 || base64.empty()) return "'set ssl ocsp-response' expects a base64 response.\n";
  size_t padding = base64.size() >= 2 ? (base64.end()[-1] == '=') + (base64.end()[-2] == '=') : 0;
  der.resize(static_cast<size_t>(n) - padding);
  int updated = 0;
  std::string why;
  for (auto& fe : runtime_.frontends())
    for (auto& [bind, tls] : fe->tls)
      for (auto& staple : tls->staples()) {
        auto error = staple->check(der);
        if (!error) {
          staple->set(der);
          ++updated;
        } else if (why.empty() || *error != "it is about another certificate") {
          why = *error;
        }
      }
  if (updated) return "OCSP Response updated!\n";
  return "OCSP response refused: " + (why.empty() ? std::string("no certificate staples") : why) +
         ".\n";
}

std::string AdminSocket::setState(const std::string& backend, const std::string& server,
                                  const std::string& state) {
  health::AdminState a;
  if (state == "ready")
    a = health::AdminState::Ready;
  else if (state == "drain")
    a = health::AdminState::Drain;
  else if (state == "maint")
    a = health::AdminState::Maint;
  else
    return "State must be ready, drain or maint.\n";
  ServerRuntime* sr = find(backend, server);
  if (!sr) return "No such server.\n";
  std::string why = "set by the admin socket";
  // A checked server belongs to one worker's health monitor: change it there.
  for (Worker* w : workers_) {
    bool found = false;
    w->runOnLoop([&] {
      if (auto* m = w->healthMonitor()) found = m->setAdminState(backend, server, a, why);
    });
    if (found) return "\n";
  }
  // An unchecked server has no monitor: its state is only the admin's.
  setUncheckedServerState(runtime_, *sr, backend, server, a, why);
  return "\n";
}

std::string AdminSocket::setWeight(const std::string& backend, const std::string& server,
                                   int weight) {
  ServerRuntime* sr = find(backend, server);
  if (!sr) return "No such server.\n";
  for (Worker* w : workers_) {
    bool found = false;
    w->runOnLoop([&] {
      if (auto* m = w->healthMonitor()) found = m->setWeight(backend, server, weight);
    });
    if (found) return "\n";
  }
  sr->health.setEffectiveWeight(weight);
  runtime_.reportUnchecked(Runtime::uncheckedState(backend, *sr));
  logging::get(logging::Component::Health)
      .info("Server {}/{} weight set to {}", backend, server, weight);
  return "\n";
}

std::string AdminSocket::showServers() {
  std::string out = "# backend server address state weight active served\n";
  for (auto& be : runtime_.backends())
    for (auto& s : be->servers)
      out += be->config->name + " " + s->config->name + " " + s->config->address.toString() + " " +
             std::string(toString(s->health.state())) + " " +
             std::to_string(s->health.effectiveWeight()) + " " +
             std::to_string(s->active.load(std::memory_order_relaxed)) + " " +
             std::to_string(s->served.load(std::memory_order_relaxed)) + "\n";
  return out;
}

}  // namespace tandem::proxy
