// The pair channel: a TCP channel between the two supervisors of a pair, authenticated both
// ways with the pair key (TLS 1.3 with an external pre-shared key and (EC)DHE, RFC 8446 §2.2:
// each handshake proves both ends hold the key, and the DHE share keeps past traffic secret
// even if the key leaks later). Nothing arrives from a connection whose handshake did not
// prove the key; such a connection is closed and logged on both ends.
//
// Each node listens on its `pair.address` and connects to the peer's: its own messages go out
// on the connection it opened, the peer's come in on the one it accepted. So neither end has to
// win a race to be the one that connects, and a restarted node is heard again within a
// heartbeat.
//
// Messages are JSON objects, each framed by a 4-byte big-endian length. This slice carries
// heartbeats: who the peer is (node name, version), its configuration (generation and hash)
// and its VRRP roles, which `tandem status` shows.
#pragma once

#include <event2/bufferevent.h>
#include <event2/listener.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "appliance/pair/pair_key.h"
#include "common/address.h"
#include "common/duration.h"
#include "common/event.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace spdlog {
class logger;
}

namespace tandem::appliance::pair {

struct ChannelSettings {
  Endpoint address;  // where this node listens
  Endpoint peer;     // where the peer listens
  PairKey key{};
  Duration heartbeat = std::chrono::seconds(1);
  Duration deadAfter = std::chrono::seconds(3);  // no heartbeat for this long: peer down

  bool operator==(const ChannelSettings&) const = default;
};

// What this node tells its peer in each heartbeat.
struct LocalState {
  std::string node;
  std::string version;
  int generation = 0;
  std::string configHash;
  nlohmann::json roles = nlohmann::json::array();  // [{instance, state}]
};

class PairChannel {
 public:
  using LocalStateFn = std::function<LocalState()>;

  PairChannel(event_base* base, ChannelSettings settings, LocalStateFn local, spdlog::logger& log);
  ~PairChannel();
  PairChannel(const PairChannel&) = delete;
  PairChannel& operator=(const PairChannel&) = delete;

  // Binds the listening socket and starts heartbeats; false with *error when it cannot bind.
  bool start(std::string* error);
  const ChannelSettings& settings() const { return settings_; }

  // For `tandem status`: the peer as last heard, and the channel's own state.
  nlohmann::json status() const;
  bool peerUp() const;
  // The peer's configuration hash as last heard ("" before its first heartbeat).
  std::string peerConfigHash() const { return peer_.value("config_hash", ""); }
  std::string peerVersion() const { return peer_.value("version", ""); }
  uint64_t rejectedConnections() const { return rejected_; }
  // Called (from the loop) when the peer comes up or goes down, when what it reports of its
  // configuration changes, and when a connection is rejected.
  void onChange(std::function<void()> callback) { onChange_ = std::move(callback); }

  struct Link;

 private:
  void tick();
  void connectPeer();
  // Takes a new TLS bufferevent into links_ (callbacks, idle timeouts, reading on).
  Link* addLink(bufferevent* bev, bool outbound, std::string remote);
  void sendHeartbeat();
  void onAccept(int fd, const sockaddr* addr, int len);
  void onLinkEvent(Link& link, short what);
  void onLinkRead(Link& link);
  void handleMessage(Link& link, const nlohmann::json& message);
  void drop(Link* link);
  void noteError(std::string what);
  int64_t nowMs() const;

  struct SslCtxFree {
    void operator()(SSL_CTX* c) const;
  };
  struct ListenerFree {
    void operator()(evconnlistener* l) const { evconnlistener_free(l); }
  };

  event_base* base_;
  ChannelSettings settings_;
  LocalStateFn local_;
  std::function<void()> onChange_;
  void changed() {
    if (onChange_) onChange_();
  }
  spdlog::logger& log_;
  std::string fingerprint_;  // of the key: logged, never the key
  std::string instanceId_;   // random per process: tells a link to ourselves apart
  std::unique_ptr<SSL_CTX, SslCtxFree> clientCtx_, serverCtx_;
  std::unique_ptr<evconnlistener, ListenerFree> listener_;
  std::vector<std::unique_ptr<Link>> links_;
  Link* outbound_ = nullptr;  // the link this node opened (its heartbeats go there)
  Timer tickTimer_;
  Timer reapTimer_;                               // frees dropped links after their callback
  std::vector<std::unique_ptr<Link>> graveyard_;  // links dropped inside their own callback

  // The peer, as last heard.
  nlohmann::json peer_ = nlohmann::json::object();  // its last heartbeat
  int64_t peerHeardMs_ = 0;
  bool peerWasUp_ = false;
  std::string lastError_;
  int64_t lastErrorMs_ = 0;
  uint64_t heartbeatsSent_ = 0, heartbeatsReceived_ = 0, rejected_ = 0;
  bool connectFailedLogged_ = false;
};

}  // namespace tandem::appliance::pair
