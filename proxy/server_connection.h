// One TCP connection to a backend server, and the per-worker pool of idle ones.
//
// A connection belongs to one stream while in use. Back in the pool it waits, watched for the
// server closing it, until the idle timeout; the next request to the same server takes the most
// recently used one (warm, least likely to have been closed by the server).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/event.h"
#include "common/fd.h"
#include "proxy/http_parser.h"
#include "proxy/io_buffer.h"
#include "proxy/runtime.h"
#include "proxy/time_source.h"
#include "proxy/transport.h"

namespace tandem::proxy {

class Worker;

class ServerConnection final : private Transport::Handler {
 public:
  // Receives the connection's events while it is in use.
  class Owner {
   public:
    virtual ~Owner() = default;
    virtual void onServerReadable() = 0;
    virtual void onServerWritable() = 0;
  };

  // `transport`: a connection being opened (writable once connected) to `server`.
  ServerConnection(Worker& worker, ServerRuntime& server, TransportPtr transport);
  ~ServerConnection() override;
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  Transport& transport() { return *transport_; }
  ServerRuntime& server() { return server_; }
  void setOwner(Owner* owner) { owner_ = owner; }

  void wantRead(bool on) { transport_->wantRead(on); }
  void wantWrite(bool on) { transport_->wantWrite(on); }

  // The connect completed (the first writable event said so, or it came from the pool).
  bool connected() const { return connected_; }
  // Also sends the preface, if any, before anything else: false when the socket did not take
  // it whole (a fresh connection always has room for it: treated as a failed connect).
  bool markConnected();
  // Bytes that open the connection before the stream's own (a PROXY protocol header).
  void setPreface(std::string preface) { preface_ = std::move(preface); }
  // The TLS SNI it was opened with: reused only for requests that would send the same.
  void setServerName(std::string_view name) { serverName_ = name; }
  const std::string& serverName() const { return serverName_; }
  // Taken from the idle pool: the server may have closed it meanwhile.
  bool reused() const { return reused_; }
  // The server closed its side.
  bool eof() const { return eof_; }
  void markEof() { eof_ = true; }
  // Our side is closed (a tunnel's half-close carried to the server).
  bool writeShut() const { return writeShut_; }
  void shutdownWrite() {
    transport_->shutdownWrite();
    writeShut_ = true;
  }

  // Bytes from the server, and the parser of the response they carry (HTTP).
  IoBufferPtr& input() { return in_; }
  HttpParser& response() { return response_; }

 private:
  friend class ConnectionPool;
  void onReadable() override;
  void onWritable() override;
  Worker& worker_;
  ServerRuntime& server_;
  TransportPtr transport_;  // owns the socket
  Owner* owner_ = nullptr;
  DeadlineTimerPtr idleTimer_;
  IoBufferPtr in_;
  HttpParser response_{HttpParser::Kind::Response};
  bool connected_ = false;
  bool reused_ = false;
  bool eof_ = false;
  bool writeShut_ = false;
  std::string preface_;
  std::string serverName_;
};

using ServerConnectionPtr = std::unique_ptr<ServerConnection>;

class ConnectionPool {
 public:
  explicit ConnectionPool(Worker& worker);
  ~ConnectionPool();

  // The most recently used idle connection to `server` opened with TLS SNI `serverName`, or
  // null.
  ServerConnectionPtr take(ServerRuntime& server, std::string_view serverName = {});
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
