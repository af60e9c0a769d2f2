#include "proxy/server_connection.h"

#include <algorithm>

#include "proxy/worker.h"

namespace tandem::proxy {

ServerConnection::ServerConnection(Worker& worker, ServerRuntime& server, TransportPtr transport)
    : worker_(worker),
      server_(server),
      transport_(std::move(transport)),
      // Idle in the pool for too long: closed.
      idleTimer_(worker.time().makeTimer([this] { worker_.connectionPool().drop(this); })) {
  transport_->setHandler(this);
}

ServerConnection::~ServerConnection() {
  worker_.buffers().release(in_);
}

bool ServerConnection::markConnected() {
  connected_ = true;
  if (preface_.empty()) return true;
  iovec iov{preface_.data(), preface_.size()};
  ssize_t n = transport_->write(&iov, 1);
  bool whole = n == static_cast<ssize_t>(preface_.size());
  preface_.clear();
  return whole;
}

// The owner may release or destroy this connection inside the callback: touch nothing after.
void ServerConnection::onReadable() {
  // Idle in the pool: readable means the server closed it or sent something unasked. Either
  // way, it is dropped.
  if (!owner_) return worker_.connectionPool().drop(this);
  owner_->onServerReadable();
}

void ServerConnection::onWritable() {
  if (!owner_) return worker_.connectionPool().drop(this);
  owner_->onServerWritable();
}

namespace {
constexpr size_t kMaxIdlePerServer = 4096;
}  // namespace

ConnectionPool::ConnectionPool(Worker& worker) : worker_(worker) {}

ConnectionPool::~ConnectionPool() {
  closeAll();
}

ServerConnectionPtr ConnectionPool::take(ServerRuntime& server, std::string_view serverName) {
  auto it = idle_.find(&server);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  auto& list = it->second;
  // The most recent first; only one opened with the same SNI (almost always the last).
  auto match = list.end();
  for (auto c = list.end(); c != list.begin();)
    if ((*--c)->serverName() == serverName) {
      match = c;
      break;
    }
  if (match == list.end()) return nullptr;
  ServerConnectionPtr conn = std::move(*match);
  list.erase(match);
  conn->idleTimer_->cancel();
  conn->reused_ = true;
  return conn;
}

void ConnectionPool::put(ServerConnectionPtr conn) {
  auto& list = idle_[&conn->server()];
  // Bound the idle connections kept per server and thread (a file-descriptor guard, not a
  // tuning knob: a busy server wants as many as there are concurrent requests).
  if (list.size() >= kMaxIdlePerServer || worker_.stopping()) return;
  conn->setOwner(nullptr);
  conn->wantWrite(false);
  conn->wantRead(true);
  worker_.buffers().release(conn->in_);
  conn->idleTimer_->arm(worker_.idleServerTimeout());
  list.push_back(std::move(conn));
}

void ConnectionPool::drop(ServerConnection* conn) {
  auto& list = idle_[&conn->server()];
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (it->get() == conn) {
      list.erase(it);  // destroys the connection (closes the fd)
      return;
    }
  }
}

void ConnectionPool::closeAll() {
  idle_.clear();
}

size_t ConnectionPool::idleCount() const {
  size_t n = 0;
  for (const auto& [s, list] : idle_) n += list.size();
  return n;
}

}  // namespace tandem::proxy
