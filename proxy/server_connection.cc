#include "proxy/server_connection.h"

#include <algorithm>

#include "proxy/worker.h"

namespace tandem::proxy {

ServerConnection::ServerConnection(Worker& worker, ServerRuntime& server, UniqueFd fd)
    : worker_(worker), server_(server), transport_(std::make_unique<RawTransport>(std::move(fd))) {
  auto onSocket = [this](short what) { onEvent(what); };
  readEv_.assign(worker_.base(), this->fd(), EV_READ | EV_PERSIST, onSocket);
  writeEv_.assign(worker_.base(), this->fd(), EV_WRITE | EV_PERSIST, onSocket);
  // Idle in the pool for too long: closed.
  idleTimer_.assign(worker_.base(), [this] { worker_.connectionPool().drop(this); });
}

ServerConnection::~ServerConnection() {
  worker_.buffers().release(in);
}

void ServerConnection::wantRead(bool on) {
  if (on == reading_) return;
  reading_ = on;
  if (on)
    readEv_.add();
  else
    readEv_.remove();
}

void ServerConnection::wantWrite(bool on) {
  if (on == writing_) return;
  writing_ = on;
  if (on)
    writeEv_.add();
  else
    writeEv_.remove();
}

void ServerConnection::onEvent(short what) {
  if (!owner_) {
    // Idle in the pool: the server closed it or sent something unasked. Either way, drop it.
    worker_.connectionPool().drop(this);
    return;
  }
  // The owner may release or destroy this connection inside the callback: touch nothing after.
  if (what & EV_WRITE)
    owner_->onServerWritable();
  else
    owner_->onServerReadable();
}

namespace {
constexpr size_t kMaxIdlePerServer = 4096;
}  // namespace

ConnectionPool::ConnectionPool(Worker& worker) : worker_(worker) {}

ConnectionPool::~ConnectionPool() {
  closeAll();
}

ServerConnectionPtr ConnectionPool::take(ServerRuntime& server) {
  auto it = idle_.find(&server);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  ServerConnectionPtr conn = std::move(it->second.back());
  it->second.pop_back();
  conn->idleTimer_.cancel();
  conn->reused = true;
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
  worker_.buffers().release(conn->in);
  conn->idleTimer_.arm(worker_.timeout(worker_.idleServerTimeout()));
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
