#include "proxy/server_connection.h"

#include <algorithm>

#include "proxy/worker.h"

namespace tandem::proxy {

ServerConnection::ServerConnection(Worker& worker, ServerRuntime& server, UniqueFd fd)
    : worker_(worker), server_(server), transport_(std::make_unique<RawTransport>(std::move(fd))) {
  event_assign(&readEv_, worker_.base(), this->fd(), EV_READ | EV_PERSIST, onEvent, this);
  event_assign(&writeEv_, worker_.base(), this->fd(), EV_WRITE | EV_PERSIST, onEvent, this);
  event_assign(&idleTimer_, worker_.base(), -1, 0, onIdleTimer, this);
}

ServerConnection::~ServerConnection() {
  event_del(&readEv_);
  event_del(&writeEv_);
  event_del(&idleTimer_);
  worker_.buffers().release(in);
}

void ServerConnection::wantRead(bool on) {
  if (on == reading_) return;
  reading_ = on;
  if (on)
    event_add(&readEv_, nullptr);
  else
    event_del(&readEv_);
}

void ServerConnection::wantWrite(bool on) {
  if (on == writing_) return;
  writing_ = on;
  if (on)
    event_add(&writeEv_, nullptr);
  else
    event_del(&writeEv_);
}

void ServerConnection::onEvent(evutil_socket_t, short what, void* arg) {
  auto* self = static_cast<ServerConnection*>(arg);
  Owner* owner = self->owner_;
  if (!owner) {
    // Idle in the pool: the server closed it or sent something unasked. Either way, drop it.
    self->worker_.connectionPool().drop(self);
    return;
  }
  // The owner may release or destroy this connection inside the callback: touch nothing after.
  if (what & EV_WRITE)
    owner->onServerWritable();
  else
    owner->onServerReadable();
  owner->afterServerEvent();
}

void ServerConnection::onIdleTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<ServerConnection*>(arg);
  self->worker_.connectionPool().drop(self);
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
  event_del(&conn->idleTimer_);
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
  event_add(&conn->idleTimer_, worker_.timeout(worker_.idleServerTimeout()));
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
