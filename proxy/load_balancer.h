// Server selection for one backend, one instance per worker thread (no shared mutable state but
// the servers' atomic counters). Algorithms as HAProxy names them:
//   roundrobin  smooth weighted round robin (nginx's algorithm: even spread, no bursts)
//   leastconn   fewest active connections relative to weight; ties rotate
//   source      weighted rendezvous hash of the client address: stable while the server set is,
//               and only the clients of a leaving server move
//   uri         the same hash over the path (or the whole URI with `whole`)
//   first       the first server in configuration order with a free maxconn slot
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/address.h"
#include "proxy/runtime.h"

namespace tandem::proxy {

struct PickContext {
  const IpAddress* client = nullptr;
  std::string_view path;     // for balance uri
  std::string_view fullUri;  // for balance uri whole
};

enum class PickFailure { None, NoServer, AllFull };

class LoadBalancer {
 public:
  explicit LoadBalancer(BackendRuntime& backend);

  // Returns a server whose connection slot is already taken (release it with releaseSlot()),
  // or null with *why set: NoServer (nothing usable: 503) or AllFull (every usable server is at
  // maxconn: queue). `avoid` is skipped when another server is usable (redispatch).
  ServerRuntime* pick(const PickContext& ctx, const ServerRuntime* avoid, PickFailure* why);
  // A retry without redispatch (HAProxy keeps the stream on its server): `failed` again while it
  // is usable (AllFull when it has no free slot), else a fresh pick.
  ServerRuntime* pickAgain(ServerRuntime& failed, const PickContext& ctx, PickFailure* why);

  BackendRuntime& backend() { return backend_; }

 private:
  void usableServers(const ServerRuntime* avoid, std::vector<ServerRuntime*>* out) const;
  ServerRuntime* roundRobin(const std::vector<ServerRuntime*>& c);
  ServerRuntime* leastConn(const std::vector<ServerRuntime*>& c);
  ServerRuntime* hashed(const std::vector<ServerRuntime*>& c, std::string_view key);

  BackendRuntime& backend_;
  std::vector<int64_t> currentWeight_;  // smooth WRR state, by server index
  size_t rotation_ = 0;                 // leastconn tie breaking
  std::vector<ServerRuntime*> scratch_;
};

// 64-bit mixing hash used by `source` and `uri` (stable across runs and machines).
uint64_t hashKey(std::string_view key);

}  // namespace tandem::proxy
