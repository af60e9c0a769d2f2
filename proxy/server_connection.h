// One TCP connection to a backend server, and the per-worker pool of idle ones.
//
// A connection belongs to one stream while in use. Back in the pool it waits, watched for the
// server closing it, until the idle timeout; the next request to the same server takes the most
// recently used one (warm, least likely to have been closed by the server).
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "common/event.h"
#include "common/fd.h"
#include "proxy/http_parser.h"
#include "proxy/io_buffer.h"
#include "proxy/runtime.h"
#include "proxy/transport.h"

namespace tandem::proxy {

class Worker;

class ServerConnection {
 public:
  // Receives the connection's events while it is in use.
  class Owner {
   public:
    virtual ~Owner() = default;
    virtual void onServerReadable() = 0;
    virtual void onServerWritable() = 0;
  };

  ServerConnection(Worker& worker, ServerRuntime& server, UniqueFd fd);
  ~ServerConnection();
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  int fd() const { return transport_->fd(); }
  Transport& transport() { return *transport_; }
  ServerRuntime& server() { return server_; }
  void setOwner(Owner* owner) { owner_ = owner; }

  void wantRead(bool on);
  void wantWrite(bool on);

  bool connected = false;  // the non-blocking connect completed
  bool reused = false;     // taken from the idle pool (the server may have closed it)
  bool eof = false;        // the server closed its side
  bool shutWrite = false;  // we closed our side (tunnel half-close)
  uint64_t requests = 0;   // served over this connection
  IoBufferPtr in;          // bytes from the server
  HttpParser response{HttpParser::Kind::Response};

 private:
  friend class ConnectionPool;
  void onEvent(short what);
  Worker& worker_;
  ServerRuntime& server_;
  TransportPtr transport_;  // owns the socket
  Owner* owner_ = nullptr;
  Event readEv_;
  Event writeEv_;
  Timer idleTimer_;
  bool reading_ = false;
  bool writing_ = false;
};

using ServerConnectionPtr = std::unique_ptr<ServerConnection>;

class ConnectionPool {
 public:
  explicit ConnectionPool(Worker& worker);
  ~ConnectionPool();

  // The most recently used idle connection to `server`, or null.
  ServerConnectionPtr take(ServerRuntime& server);
  // Keeps a connection for reuse (closes it when the pool for that server is full). Its read
  // event stays registered: readable while idle means the server closed it, and it is dropped.
  void put(ServerConnectionPtr conn);
  void closeAll();
  size_t idleCount() const;

 private:
  friend class ServerConnection;
  void drop(ServerConnection* conn);

  Worker& worker_;
  std::unordered_map<ServerRuntime*, std::vector<ServerConnectionPtr>> idle_;
};

}  // namespace tandem::proxy
