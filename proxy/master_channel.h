// The link between a proxy worker and the master process that started it (the supervisor of
// `tandem run`): one SOCK_SEQPACKET unix socket pair, in the spirit of HAProxy's master-worker.
//
//   master -> worker, at start:  "listen KEY" with the listening socket attached (SCM_RIGHTS),
//                                "states\nLINE\nLINE..." (server states of the previous worker),
//                                "go"
//   master -> worker, running:   "node\n{...}" (common/node_status.h) when the node's status
//                                changes: the pair's roles, reloads, restarts.
//   worker -> master:            "states\nLINE..." (all servers, once, before "ready"),
//                                "ready" once every thread serves,
//                                "unbound" on a reload once no thread accepts any more,
//                                "state LINE" whenever a server's state changes, and
//                                "transition\nBACKEND\nSERVER\nFROM\nTO\nREASON" saying why.
//
// The master owns the listening sockets, so they are never closed across reloads: connections
// waiting in a socket's accept queue are taken by the new worker instead of being reset.
// Datagrams keep messages whole and one send per message makes sending safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/event.h"
#include "common/fd.h"
#include "common/node_status.h"
#include "health/saved_state.h"
#include "proxy/config.h"

namespace tandem::proxy {

// Identity of a listening socket across workers: the same key means the same kernel socket is
// reused. Worker threads each have their own socket per bind (SO_REUSEPORT).
std::string listenKey(const Bind& bind, int worker);
// Worker threads the proxy runs for this configuration (0 in the config: one per core).
int workerThreads(const Config& config);

// Master side: the handover a new worker receives before it starts.
// `block` false: fail with EAGAIN instead of waiting for the worker to read.
bool sendListenSocket(int channel, const std::string& key, int fd, bool block = true);
bool sendSavedStates(int channel, const std::vector<health::SavedServerState>& states,
                     bool block = true);
bool sendGo(int channel, bool block = true);
// A server's state change as the worker tells it (formatServerTransition/parse...: one
// definition for both ends).
struct ServerTransition {
  std::string backend, server;
  std::string from, to;  // health::toString(ServerState): "UP", "DOWN", "UP, going down", ...
  std::string reason;
};
std::string formatServerTransition(const ServerTransition& t);
std::optional<ServerTransition> parseServerTransition(const std::string& message);
// Parses "states\n..." or "state LINE" into *out (appending); false when it is neither.
bool parseStatesMessage(const std::string& message, std::vector<health::SavedServerState>* out);

// Worker side.
class MasterChannel {
 public:
  explicit MasterChannel(UniqueFd fd) : fd_(std::move(fd)) {}

  // Blocks until "go" (bounded by `timeout`), collecting sockets and saved states.
  bool receiveHandover(std::chrono::milliseconds timeout, std::string* error);
  // The master's socket for `key`, or an invalid fd when it sent none.
  UniqueFd takeListenSocket(const std::string& key);
  const std::vector<health::SavedServerState>& savedStates() const { return saved_; }

  void sendStates(const std::vector<health::SavedServerState>& states);
  void sendState(const health::SavedServerState& state);  // any thread
  void sendReady();
  // On a reload, once no thread of this worker accepts any more: a connection made from now
  // on goes to the new worker.
  void sendUnbound();
  void sendTransition(const ServerTransition& t);  // any thread

  // After the handover: what the master sends while the worker serves, read on `base`'s loop
  // (add it before that loop's thread starts; stopReading() once the thread has ended).
  void startReading(event_base* base, std::function<void(NodeStatus)> onNodeStatus);
  void stopReading() { readEv_.reset(); }

 private:
  void onReadable();
  UniqueFd fd_;
  std::function<void(NodeStatus)> onNodeStatus_;
  // After fd_: leaves the loop before the socket closes. Owned apart: it must go before the
  // loop does, and the loop is the worker's, which may go before this channel.
  std::unique_ptr<Event> readEv_;
  std::map<std::string, UniqueFd> sockets_;
  std::vector<health::SavedServerState> saved_;
};

}  // namespace tandem::proxy
