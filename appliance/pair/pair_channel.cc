#include "appliance/pair/pair_channel.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>

#include "common/socket.h"

namespace tandem::appliance::pair {

using json = nlohmann::json;

namespace {

// The PSK identity both ends use: the key, not the identity, is the secret.
constexpr char kIdentity[] = "tandem-pair-v1";
// A message larger than this is not from a well-behaved peer: the link is closed.
constexpr uint32_t kMaxMessage = 16 * 1024 * 1024;
// A connection must finish its handshake within this, or it is closed: a silent connection
// holds no slot for long. After the handshake, an accepted connection must bring a heartbeat
// within twice dead_after; the connection a node opened only sends, and times out only on a
// write the peer does not take.
constexpr int kHandshakeSeconds = 10;
// At most this many accepted connections at once (the peer needs one).
constexpr size_t kMaxInbound = 4;

// TLS_AES_128_GCM_SHA256: the PSK's hash must be the suite's.
const SSL_CIPHER* pskCipher(SSL* ssl) {
  static const unsigned char id[] = {0x13, 0x01};
  return SSL_CIPHER_find(ssl, id);
}

SSL_SESSION* pskSession(SSL* ssl, const PairKey& key) {
  const SSL_CIPHER* cipher = pskCipher(ssl);
  if (!cipher) return nullptr;
  SSL_SESSION* s = SSL_SESSION_new();
  if (!s) return nullptr;
  if (!SSL_SESSION_set1_master_key(s, key.data(), key.size()) ||
      !SSL_SESSION_set_cipher(s, cipher) || !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
    SSL_SESSION_free(s);
    return nullptr;
  }
  return s;
}

const PairKey& keyOf(SSL* ssl) {
  return *static_cast<const PairKey*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

// Client: offer the pair key.
int usePsk(SSL* ssl, const EVP_MD* md, const unsigned char** id, size_t* idlen,
           SSL_SESSION** sess) {
  *sess = nullptr;
  const SSL_CIPHER* cipher = pskCipher(ssl);
  if (!cipher || (md && md != SSL_CIPHER_get_handshake_digest(cipher))) return 1;
  *sess = pskSession(ssl, keyOf(ssl));
  *id = reinterpret_cast<const unsigned char*>(kIdentity);
  *idlen = sizeof(kIdentity) - 1;
  return *sess ? 1 : 0;
}

// Server: accept only our identity; the binder then proves the client holds the same key.
int findPsk(SSL* ssl, const unsigned char* id, size_t idlen, SSL_SESSION** sess) {
  *sess = nullptr;
  if (idlen != sizeof(kIdentity) - 1 || std::memcmp(id, kIdentity, idlen) != 0) return 1;
  *sess = pskSession(ssl, keyOf(ssl));
  return *sess ? 1 : 0;
}

SSL_CTX* makeContext(bool server, const PairKey* key) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!ctx) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_app_data(ctx, const_cast<PairKey*>(key));
  if (server)
    SSL_CTX_set_psk_find_session_callback(ctx, findPsk);
  else
    SSL_CTX_set_psk_use_session_callback(ctx, usePsk);
  return ctx;
}

std::string randomId() {
  unsigned char b[8];
  RAND_bytes(b, sizeof b);
  char out[17];
  for (int i = 0; i < 8; ++i) std::snprintf(out + 2 * i, 3, "%02x", b[i]);
  return out;
}

std::string addressText(const sockaddr* a) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (a->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(a);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (a->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  }
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

}  // namespace

// One TCP connection of the channel, inbound or outbound.
struct PairChannel::Link {
  PairChannel* channel = nullptr;
  bufferevent* bev = nullptr;
  bool outbound = false;
  bool authenticated = false;  // the handshake proved the pair key
  std::string remote;

  ~Link() {
    if (bev) bufferevent_free(bev);  // closes the socket and frees the SSL object
  }

  static void onRead(bufferevent*, void* self) {
    auto* l = static_cast<Link*>(self);
    l->channel->onLinkRead(*l);
  }
  static void onEvent(bufferevent*, short what, void* self) {
    auto* l = static_cast<Link*>(self);
    l->savedErrno = EVUTIL_SOCKET_ERROR();
    l->channel->onLinkEvent(*l, what);
  }
  int savedErrno = 0;

  // What OpenSSL (or the socket) said when the link failed. libevent also queues bare
  // SSL_get_error() codes (SSL_ERROR_SYSCALL: the socket failed), which have no reason text:
  // errno says what happened then.
  std::string failure(int savedErrno) const {
    std::string out;
    while (unsigned long e = bufferevent_get_openssl_error(bev)) {
      const char* reason = ERR_reason_error_string(e);
      if (!reason) continue;
      if (!out.empty()) out += "; ";
      out += reason;
    }
    if (out.empty() && savedErrno) out = std::strerror(savedErrno);
    return out.empty() ? "the connection closed" : out;
  }
};

void PairChannel::SslCtxFree::operator()(SSL_CTX* c) const {
  SSL_CTX_free(c);
}

PairChannel::PairChannel(event_base* base, ChannelSettings settings, LocalStateFn local,
                         spdlog::logger& log)
    : base_(base),
      settings_(std::move(settings)),
      local_(std::move(local)),
      log_(log),
      fingerprint_(pairKeyFingerprint(settings_.key)),
      instanceId_(randomId()),
      tickTimer_(base, [this] { tick(); }),
      reapTimer_(base, [this] { graveyard_.clear(); }) {}

PairChannel::~PairChannel() {
  outbound_ = nullptr;
  links_.clear();
  graveyard_.clear();
}

int64_t PairChannel::nowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool PairChannel::start(std::string* error) {
  clientCtx_.reset(makeContext(false, &settings_.key));
  serverCtx_.reset(makeContext(true, &settings_.key));
  if (!clientCtx_ || !serverCtx_) {
    const char* why = ERR_reason_error_string(ERR_get_error());
    *error = std::string("pair: cannot set up TLS: ") + (why ? why : "unknown OpenSSL error");
    return false;
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!settings_.address.toSockaddr(&ss, &len)) {
    *error = "pair: address " + settings_.address.toString() + " is not a literal address";
    return false;
  }
  listener_.reset(evconnlistener_new_bind(
      base_,
      [](evconnlistener*, evutil_socket_t fd, sockaddr* addr, int alen, void* self) {
        static_cast<PairChannel*>(self)->onAccept(fd, addr, alen);
      },
      this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 16,
      reinterpret_cast<sockaddr*>(&ss), static_cast<int>(len)));
  if (!listener_) {
    *error = "pair: cannot listen on " + settings_.address.toString() + ": " + std::strerror(errno);
    return false;
  }
  log_.info("pair: listening on {} for the peer at {} (pair key {})", settings_.address.toString(),
            settings_.peer.toString(), fingerprint_);
  tick();
  return true;
}

void PairChannel::tick() {
  if (!outbound_) connectPeer();
  if (outbound_ && outbound_->authenticated) sendHeartbeat();
  bool up = peerUp();
  bool wentDown = peerWasUp_ && !up;
  if (wentDown)
    log_.warn("pair: the peer at {} is DOWN: no heartbeat for {}", settings_.peer.toString(),
              formatDuration(settings_.deadAfter));
  peerWasUp_ = up;
  tickTimer_.arm(settings_.heartbeat);
  if (wentDown) changed();
}

PairChannel::Link* PairChannel::addLink(bufferevent* bev, bool outbound, std::string remote) {
  auto link = std::make_unique<Link>();
  link->channel = this;
  link->bev = bev;
  link->outbound = outbound;
  link->remote = std::move(remote);
  bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  bufferevent_setcb(bev, &Link::onRead, nullptr, &Link::onEvent, link.get());
  timeval handshake{kHandshakeSeconds, 0};
  bufferevent_set_timeouts(bev, &handshake, &handshake);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
  links_.push_back(std::move(link));
  return links_.back().get();
}

void PairChannel::connectPeer() {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!settings_.peer.toSockaddr(&ss, &len)) return;
  SSL* ssl = SSL_new(clientCtx_.get());
  if (!ssl) return;
  bufferevent* bev = bufferevent_openssl_socket_new(
      base_, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (!bev) {
    SSL_free(ssl);
    return;
  }
  outbound_ = addLink(bev, true, settings_.peer.toString());
  if (bufferevent_socket_connect(bev, reinterpret_cast<sockaddr*>(&ss), static_cast<int>(len)) <
      0) {
    // A refusal comes later through onLinkEvent; this is a failure libevent does not report.
    if (!connectFailedLogged_) {
      noteError("cannot connect to the peer at " + settings_.peer.toString() + ": " +
                std::strerror(EVUTIL_SOCKET_ERROR()));
      log_.warn("pair: {}", lastError_);
      connectFailedLogged_ = true;
    }
    drop(outbound_);
  }
}

void PairChannel::sendHeartbeat() {
  LocalState s = local_();
  json m{{"type", "heartbeat"},         {"node", s.node},
         {"version", s.version},        {"generation", s.generation},
         {"config_hash", s.configHash}, {"roles", s.roles},
         {"instance", instanceId_}};
  std::string body = m.dump();
  uint32_t n = htonl(static_cast<uint32_t>(body.size()));
  bufferevent_write(outbound_->bev, &n, sizeof n);
  bufferevent_write(outbound_->bev, body.data(), body.size());
  ++heartbeatsSent_;
}

void PairChannel::onAccept(int fd, const sockaddr* addr, int) {
  std::string remote = addressText(addr);
  size_t inbound = 0;
  for (const auto& l : links_)
    if (!l->outbound) ++inbound;
  if (inbound >= kMaxInbound) {
    // The oldest unauthenticated one goes first; if all are authenticated, the newcomer.
    Link* victim = nullptr;
    for (const auto& l : links_)
      if (!l->outbound && !l->authenticated) {
        victim = l.get();
        break;
      }
    if (!victim) {
      evutil_closesocket(fd);
      return;
    }
    drop(victim);
  }
  SSL* ssl = SSL_new(serverCtx_.get());
  if (!ssl) {
    evutil_closesocket(fd);
    return;
  }
  bufferevent* bev = bufferevent_openssl_socket_new(
      base_, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (!bev) {
    SSL_free(ssl);
    evutil_closesocket(fd);
    return;
  }
  addLink(bev, false, remote);
}

void PairChannel::onLinkEvent(Link& link, short what) {
  if (what & BEV_EVENT_CONNECTED) {
    link.authenticated = true;
    connectFailedLogged_ = false;
    timeval write{kHandshakeSeconds, 0};
    timeval read = toTimeval(2 * settings_.deadAfter);
    bufferevent_set_timeouts(link.bev, link.outbound ? nullptr : &read, &write);
    if (link.outbound) {
      log_.info("pair: connected to the peer at {}, both ends proved the pair key", link.remote);
      sendHeartbeat();
    }
    return;
  }
  std::string why = !(what & BEV_EVENT_TIMEOUT) ? link.failure(link.savedErrno)
                    : !link.authenticated
                        ? "no handshake within " + std::to_string(kHandshakeSeconds) + "s"
                    : (what & BEV_EVENT_READING)
                        ? "no heartbeat for " + formatDuration(2 * settings_.deadAfter)
                        : "the peer took no data for " + std::to_string(kHandshakeSeconds) + "s";
  if (!link.authenticated) {
    if (link.outbound) {
      bool refused = what & BEV_EVENT_ERROR && why.find("alert") != std::string::npos;
      if (refused) {
        noteError("the TLS handshake with the peer at " + link.remote + " failed (" + why +
                  "): the two nodes do not hold the same pair key (this node's is " + fingerprint_ +
                  "), or no Tandem pair channel listens there");
        log_.error("pair: {}", lastError_);
      } else if (!connectFailedLogged_) {
        noteError("cannot reach the peer at " + link.remote + ": " + why);
        log_.warn("pair: {} (retrying every {})", lastError_, formatDuration(settings_.heartbeat));
        connectFailedLogged_ = true;
      }
    } else {
      ++rejected_;
      noteError("rejected a connection from " + link.remote +
                ": it did not authenticate with the pair key (" + why +
                "); nothing it sent was read");
      log_.error("pair: {}", lastError_);
      drop(&link);
      changed();
      return;
    }
  } else if (link.outbound) {
    log_.warn("pair: the connection to the peer at {} ended: {}", link.remote, why);
  }
  drop(&link);
}

void PairChannel::onLinkRead(Link& link) {
  evbuffer* in = bufferevent_get_input(link.bev);
  for (;;) {
    uint32_t n = 0;
    if (evbuffer_get_length(in) < sizeof n) return;
    evbuffer_copyout(in, &n, sizeof n);
    n = ntohl(n);
    if (n > kMaxMessage) {
      noteError("a message of " + std::to_string(n) + " bytes from " + link.remote +
                " is over the limit: connection closed");
      log_.error("pair: {}", lastError_);
      return drop(&link);
    }
    if (evbuffer_get_length(in) < sizeof n + n) return;
    evbuffer_drain(in, sizeof n);
    std::string body(n, '\0');
    evbuffer_remove(in, body.data(), n);
    json m = json::parse(body, nullptr, false);
    if (m.is_discarded() || !m.is_object() || !m.contains("type")) {
      noteError("an unreadable message from " + link.remote + ": connection closed");
      log_.error("pair: {}", lastError_);
      return drop(&link);
    }
    handleMessage(link, m);
  }
}

void PairChannel::handleMessage(Link& link, const json& m) {
  if (m.value("type", "") != "heartbeat") {
    log_.warn("pair: ignored a message of unknown type '{}' from {}", m.value("type", ""),
              link.remote);
    return;
  }
  if (m.value("instance", "") == instanceId_) {
    if (lastError_.find("own") == std::string::npos) {
      noteError("pair.peer " + settings_.peer.toString() +
                " is this node's own pair address: it hears itself");
      log_.error("pair: {}", lastError_);
    }
    return;
  }
  bool wasUp = peerUp();
  bool configChanged = peer_.value("config_hash", "") != m.value("config_hash", "") ||
                       peer_.value("generation", 0) != m.value("generation", 0) ||
                       peer_.value("version", "") != m.value("version", "");
  peer_ = m;
  peer_["address"] = link.remote;
  peerHeardMs_ = nowMs();
  ++heartbeatsReceived_;
  if (!wasUp) {
    log_.info(
        "pair: the peer is UP: node '{}', version {}, configuration generation {} "
        "(hash {})",
        m.value("node", ""), m.value("version", ""), m.value("generation", 0),
        m.value("config_hash", ""));
    peerWasUp_ = true;
  }
  if (!wasUp || configChanged) changed();
}

void PairChannel::drop(Link* link) {
  if (link == outbound_) outbound_ = nullptr;
  for (auto it = links_.begin(); it != links_.end(); ++it) {
    if (it->get() != link) continue;
    // Its callback may be running: freed after it returns.
    bufferevent_disable(link->bev, EV_READ | EV_WRITE);
    graveyard_.push_back(std::move(*it));
    links_.erase(it);
    reapTimer_.arm(Duration(0));
    return;
  }
}

void PairChannel::noteError(std::string what) {
  lastError_ = std::move(what);
  lastErrorMs_ = nowMs();
}

bool PairChannel::peerUp() const {
  return peerHeardMs_ > 0 &&
         nowMs() - peerHeardMs_ <=
             std::chrono::duration_cast<std::chrono::milliseconds>(settings_.deadAfter).count();
}

json PairChannel::status() const {
  json j{{"address", settings_.address.toString()},
         {"peer_address", settings_.peer.toString()},
         {"key", fingerprint_},
         {"peer_up", peerUp()},
         {"connected", outbound_ && outbound_->authenticated},
         {"heartbeats_sent", heartbeatsSent_},
         {"heartbeats_received", heartbeatsReceived_},
         {"rejected_connections", rejected_}};
  if (peerHeardMs_ > 0) {
    json p{{"node", peer_.value("node", "")},
           {"address", peer_.value("address", "")},
           {"version", peer_.value("version", "")},
           {"generation", peer_.value("generation", 0)},
           {"config_hash", peer_.value("config_hash", "")},
           {"roles", peer_.value("roles", json::array())},
           {"heard_ms_ago", nowMs() - peerHeardMs_}};
    j["peer"] = p;
  }
  if (!lastError_.empty()) {
    j["last_error"] = lastError_;
    j["last_error_ms_ago"] = nowMs() - lastErrorMs_;
  }
  return j;
}

}  // namespace tandem::appliance::pair
