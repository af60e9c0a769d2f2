#include "appliance/supervisor/control_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/logging.h"

namespace tandem::appliance {

ControlLine nextControlLine(std::string_view received, bool closed) {
  ControlLine out;
  size_t eol = received.find('\n');
  if (eol == std::string_view::npos) {
    if (received.size() > kMaxControlLine) {
      out.tooLong = true;
      return out;
    }
    if (!closed) return out;
    eol = received.size();
  } else if (eol > kMaxControlLine) {
    out.tooLong = true;
    return out;
  }
  out.complete = true;
  out.line = std::string(received.substr(0, eol));
  if (!out.line.empty() && out.line.back() == '\r') out.line.pop_back();
  return out;
}

ControlRequest parseControlRequest(std::string_view line) {
  if (line == "status") return ControlRequest::Status;
  if (line == "reload") return ControlRequest::Reload;
  return ControlRequest::Unknown;
}

std::string unknownControlRequestReply(std::string_view line) {
  nlohmann::json j{{"ok", false},
                   {"error", "unknown request '" + std::string(line) + "' (status, reload)"}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct ControlServer::Client {
  ControlServer* owner = nullptr;
  UniqueFd fd;
  Event ev;
  std::string in;
  bool answered = false;  // the request went to the handler
  bool gone = false;      // dropped; a late reply finds this and does nothing
};

namespace {

bool fillAddress(const std::string& path, sockaddr_un* sa, std::string* error) {
  *sa = {};
  sa->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sa->sun_path)) {
    *error = "control socket path is empty or too long: '" + path + "'";
    return false;
  }
  std::strcpy(sa->sun_path, path.c_str());
  return true;
}

}  // namespace

ControlServer::ControlServer(event_base* base, const std::string& path, unsigned mode,
                             Handler handler, std::string* error)
    : base_(base), path_(path), handler_(std::move(handler)) {
  sockaddr_un sa;
  if (!fillAddress(path, &sa, error)) return;
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  ::unlink(path.c_str());
  // Created with the final mode: no moment where it is open to everyone.
  mode_t old = ::umask(0777 & ~mode);
  bool bound = fd && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  ::umask(old);
  if (!bound || ::listen(fd.get(), 16) != 0) {
    *error = "cannot listen on control socket " + path + ": " + std::strerror(errno);
    return;
  }
  ::chmod(path.c_str(), mode);
  fd_ = std::move(fd);
  ev_.assign(base_, fd_.get(), EV_READ | EV_PERSIST, [this](short) { onAccept(); });
  ev_.add();
}

ControlServer::~ControlServer() {
  // A client a pending reply still holds outlives the server: out of the loop now (its
  // callback points here).
  for (auto& c : clients_) {
    c->ev.remove();
    c->gone = true;
  }
  if (fd_) ::unlink(path_.c_str());
}

void ControlServer::onAccept() {
  for (int i = 0; i < 16; ++i) {
    int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    auto c = std::make_shared<Client>();
    c->owner = this;
    c->fd.reset(fd);
    Client* raw = c.get();
    c->ev.assign(base_, fd, EV_READ | EV_PERSIST, [this, raw](short what) { onClient(raw, what); });
    c->ev.add(std::chrono::seconds(5));  // a client that never sends its line is dropped
    clients_.push_back(std::move(c));
  }
}

void ControlServer::drop(Client* c) {
  c->ev.remove();
  c->gone = true;
  clients_.remove_if([c](const auto& p) { return p.get() == c; });
}

// drop(c) may destroy *c and so c->ev, whose callback this is: each drop is the last thing done.
void ControlServer::onClient(Client* c, short what) {
  if (what & EV_TIMEOUT) return drop(c);
  char buf[1024];
  ssize_t n = ::recv(c->fd.get(), buf, sizeof(buf), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0 && c->in.find('\n') == std::string::npos && c->in.empty()) return drop(c);
  if (n > 0) c->in.append(buf, static_cast<size_t>(n));
  ControlLine next = nextControlLine(c->in, n <= 0);
  if (next.tooLong) return drop(c);
  if (!next.complete) return;
  std::string line = std::move(next.line);
  // Stop reading; the reply may take a while (reload). Keep the client alive until then.
  c->ev.remove();
  std::shared_ptr<Client> keep;
  for (auto& p : clients_)
    if (p.get() == c) keep = p;
  handler_(line, [keep](const std::string& json) {
    if (keep->gone) return;
    std::string out = json + "\n";
    size_t off = 0;
    // Replies are small; a bounded blocking write keeps this simple.
    for (int tries = 0; off < out.size() && tries < 100; ++tries) {
      ssize_t w = ::send(keep->fd.get(), out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (w > 0) {
        off += static_cast<size_t>(w);
      } else if (w < 0 && errno == EAGAIN) {
        pollfd p{keep->fd.get(), POLLOUT, 0};
        ::poll(&p, 1, 50);
      } else {
        break;
      }
    }
    keep->owner->drop(keep.get());
  });
}

std::optional<std::string> controlRequest(const std::string& path, const std::string& request,
                                          int timeoutMs, std::string* error) {
  sockaddr_un sa;
  if (!fillAddress(path, &sa, error)) return std::nullopt;
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    *error = "cannot connect to " + path + ": " + std::strerror(errno) +
             " (is `tandem run` running? is this the right --socket?)";
    return std::nullopt;
  }
  std::string line = request + "\n";
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(line.size())) {
    *error = std::string("cannot send the request: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::string reply;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      *error = "no reply from " + path + " in time";
      return std::nullopt;
    }
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  if (reply.empty()) {
    *error = "the supervisor closed the connection without a reply";
    return std::nullopt;
  }
  return reply;
}

}  // namespace tandem::appliance
