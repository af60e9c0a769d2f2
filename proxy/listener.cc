#include "proxy/listener.h"

#include <sys/socket.h>

#include <cerrno>

#include "common/logging.h"
#include "proxy/h2_connection.h"
#include "proxy/http_stream.h"
#include "proxy/socket_util.h"
#include "proxy/tcp_stream.h"
#include "proxy/worker.h"

namespace tandem::proxy {

bool expectsProxyHeader(const Bind& bind, const sockaddr_storage& peer) {
  if (!bind.acceptProxy) return false;
  if (bind.acceptProxyFrom.empty()) return true;
  IpAddress from = peerAddress(peer);
  for (const auto& net : bind.acceptProxyFrom)
    if (net.contains(from)) return true;
  return false;
}

std::unique_ptr<Session> makeSession(Worker& worker, FrontendRuntime& frontend, const Bind& bind,
                                     UniqueFd fd, const sockaddr_storage& peer,
                                     const ProxyHeader* header) {
  TransportPtr transport;
  if (const TlsContext* tls = frontend.tlsFor(bind)) {
    transport = TlsTransport::accept(worker.base(), std::move(fd), *tls);
    // Out of memory in OpenSSL: the connection is dropped (its socket closed).
    if (!transport) return nullptr;
  } else {
    transport = std::make_unique<RawTransport>(worker.base(), std::move(fd));
  }
  IpAddress client = peerAddress(peer);
  uint16_t port = peerPort(peer);
  if (header && !header->local) {
    client = header->source;
    port = header->sourcePort;
  }
  std::unique_ptr<Session> s;
  bool tls = transport->secure();
  if (frontend.config->mode == Mode::Http && bind.offersH2() &&
      (tls || bind.proto == Bind::Proto::H2)) {
    using Start = H2Connection::Start;
    s = std::make_unique<H2Connection>(
        worker, frontend, bind, std::move(transport), client, port,
        bind.proto == Bind::Proto::H2 ? Start::PriorKnowledge : Start::Negotiate);
  } else if (frontend.config->mode == Mode::Http)
    s = std::make_unique<HttpStream>(worker, frontend, std::move(transport), client, port);
  else
    s = std::make_unique<TcpStream>(worker, frontend, std::move(transport), client, port);
  if (header && !header->local)
    s->setProxiedDestination(header->destination, header->destinationPort);
  return s;
}

Listener::Listener(Worker& worker, FrontendRuntime& frontend, const Bind& bind, UniqueFd fd)
    : worker_(worker), frontend_(frontend), bind_(bind), fd_(std::move(fd)) {
  ev_.assign(worker_.base(), fd_.get(), EV_READ | EV_PERSIST, [this](short) { acceptLoop(); });
  ev_.add();
}

void Listener::pause() {
  if (paused_ || closed_) return;
  paused_ = true;
  ev_.remove();
}

void Listener::resume() {
  if (!paused_ || closed_) return;
  paused_ = false;
  ev_.add();
}

void Listener::close() {
  if (closed_) return;
  closed_ = true;
  ev_.remove();
  fd_.reset();
}

void Listener::acceptLoop() {
  const Config& cfg = worker_.runtime().config();
  // Bounded per wake-up so one busy listener cannot starve the loop.
  for (int i = 0; i < 64; ++i) {
    uint32_t global = worker_.runtime().connections().load(std::memory_order_relaxed);
    uint32_t mine = frontend_.connections.load(std::memory_order_relaxed);
    if ((cfg.maxconn && global >= cfg.maxconn) ||
        (frontend_.config->maxconn && mine >= frontend_.config->maxconn)) {
      pause();  // resumed when a session of this worker closes
      return;
    }
    sockaddr_storage peer;
    socklen_t len = sizeof(peer);
    int fd = ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
        return;
      if (errno == EMFILE || errno == ENFILE) {
        logging::get(logging::Component::Proxy)
            .error("frontend {}: out of file descriptors, pausing accepts", frontend_.config->name);
        pause();
        return;
      }
      return;
    }
    Worker* target = worker_.leastLoadedPeer();
    if (target != &worker_) {
      target->handoff({fd, peer, &frontend_, &bind_});
      continue;
    }
    worker_.accepted(frontend_, bind_, UniqueFd(fd), peer);
  }
}

}  // namespace tandem::proxy
