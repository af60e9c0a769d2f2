#include "proxy/master_channel.h"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common/fd_passing.h"
#include "common/logging.h"

namespace tandem::proxy {
namespace {

constexpr size_t kStatesChunk = 32 * 1024;  // well under a datagram's limit

bool sendStatesChunked(int channel, const char* header,
                       const std::vector<health::SavedServerState>& states, bool block) {
  std::string msg = header;
  for (const auto& s : states) {
    std::string line = "\n" + health::formatSavedState(s);
    if (msg.size() + line.size() > kStatesChunk) {
      if (!sendMessage(channel, msg, -1, block)) return false;
      msg = header;
    }
    msg += line;
  }
  return sendMessage(channel, msg, -1, block);
}

}  // namespace

std::string listenKey(const Bind& bind, int worker) {
  return bind.endpoint.toString() + (bind.v6only ? " v6only" : "") + " #" + std::to_string(worker);
}

int workerThreads(const Config& config) {
  return config.threads > 0 ? config.threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

bool sendListenSocket(int channel, const std::string& key, int fd, bool block) {
  return sendMessage(channel, "listen " + key, fd, block);
}

bool sendSavedStates(int channel, const std::vector<health::SavedServerState>& states, bool block) {
  return sendStatesChunked(channel, "states", states, block);
}

bool sendGo(int channel, bool block) {
  return sendMessage(channel, "go", -1, block);
}

bool parseStatesMessage(const std::string& message, std::vector<health::SavedServerState>* out) {
  if (message.rfind("state ", 0) == 0) {
    auto s = health::parseSavedState(std::string_view(message).substr(6));
    if (s) out->push_back(*s);
    return true;
  }
  if (message != "states" && message.rfind("states\n", 0) != 0) return false;
  size_t pos = message.find('\n');
  while (pos != std::string::npos) {
    size_t next = message.find('\n', pos + 1);
    std::string_view line(message.data() + pos + 1,
                          (next == std::string::npos ? message.size() : next) - pos - 1);
    if (auto s = health::parseSavedState(line)) out->push_back(*s);
    pos = next;
  }
  return true;
}

bool MasterChannel::receiveHandover(std::chrono::milliseconds timeout, std::string* error) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      *error = "the master sent no handover in time";
      return false;
    }
    pollfd p{fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    std::string msg;
    UniqueFd passed;
    ssize_t n = receiveMessage(fd_.get(), &msg, &passed);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      *error = n == 0 ? "the master closed the channel during the handover"
                      : std::string("master channel: ") + std::strerror(errno);
      return false;
    }
    if (msg == "go") return true;
    if (msg.rfind("listen ", 0) == 0 && passed) {
      sockets_[msg.substr(7)] = std::move(passed);
    } else if (!parseStatesMessage(msg, &saved_)) {
      logging::get(logging::Component::Proxy).warn("master channel: unexpected message '{}'", msg);
    }
  }
}

UniqueFd MasterChannel::takeListenSocket(const std::string& key) {
  auto it = sockets_.find(key);
  if (it == sockets_.end()) return UniqueFd();
  UniqueFd fd = std::move(it->second);
  sockets_.erase(it);
  return fd;
}

void MasterChannel::sendStates(const std::vector<health::SavedServerState>& states) {
  sendStatesChunked(fd_.get(), "states", states, true);
}

void MasterChannel::sendState(const health::SavedServerState& state) {
  // From a worker thread: never block the data path on the master.
  sendMessage(fd_.get(), "state " + health::formatSavedState(state), -1, false);
}

std::string formatServerTransition(const ServerTransition& t) {
  std::string out = "transition";
  for (const std::string* f : {&t.backend, &t.server, &t.from, &t.to, &t.reason}) {
    out += '\n';
    for (char c : *f) out += c == '\n' ? ' ' : c;
  }
  return out;
}

std::optional<ServerTransition> parseServerTransition(const std::string& message) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t nl = message.find('\n', start);
    parts.push_back(message.substr(start, nl == std::string::npos ? nl : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  if (parts.size() != 6 || parts[0] != "transition") return std::nullopt;
  return ServerTransition{parts[1], parts[2], parts[3], parts[4], parts[5]};
}

void MasterChannel::sendTransition(const ServerTransition& t) {
  // From a worker thread: never block the data path on the master.
  sendMessage(fd_.get(), formatServerTransition(t), -1, false);
}

void MasterChannel::startReading(event_base* base, std::function<void(NodeStatus)> onNodeStatus) {
  onNodeStatus_ = std::move(onNodeStatus);
  readEv_ = std::make_unique<Event>(base, fd_.get(), EV_READ | EV_PERSIST,
                                    [this](short) { onReadable(); });
  readEv_->add();
}

void MasterChannel::onReadable() {
  // The socket is blocking (sends from worker threads wait for the master when they must):
  // read only what poll says is there.
  for (int i = 0; i < 16; ++i) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return;
    std::string msg;
    ssize_t n = receiveMessage(fd_.get(), &msg, nullptr);
    if (n == 0) {
      readEv_->remove();  // the master is gone
      return;
    }
    if (n < 0) return;
    if (msg.rfind(kNodeStatusMessage, 0) == 0) {
      auto node = decodeNodeStatus(std::string_view(msg).substr(kNodeStatusMessage.size()));
      if (node && onNodeStatus_) onNodeStatus_(std::move(*node));
      if (!node)
        logging::get(logging::Component::Proxy)
            .warn("master channel: a node status that does not parse");
    } else {
      logging::get(logging::Component::Proxy).warn("master channel: unexpected message '{}'", msg);
    }
  }
}

void MasterChannel::sendReady() {
  sendMessage(fd_.get(), "ready");
}

void MasterChannel::sendUnbound() {
  sendMessage(fd_.get(), "unbound");
}

}  // namespace tandem::proxy
