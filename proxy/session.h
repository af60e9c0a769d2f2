// A client connection accepted by a listener: the socket, its events and timer, and what every
// stream needs to reach a server (pick, connect, retry). The stream on top decides what flows:
// HttpStream parses HTTP/1, TcpStream forwards bytes.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "common/address.h"
#include "common/event.h"
#include "common/fd.h"
#include "proxy/access_log.h"
#include "proxy/io_buffer.h"
#include "proxy/load_balancer.h"
#include "proxy/runtime.h"
#include "proxy/server_connection.h"
#include "proxy/time_source.h"
#include "proxy/transport.h"

namespace tandem::proxy {

class Worker;

class Session : public ServerConnection::Owner, private Transport::Handler {
 public:
  // What a new session counts. A client connection counts under maxconn and in the
  // frontend's sessions; a connection another session hands over (an HTTP/2-capable TLS
  // connection whose client chose HTTP/1.1) was counted in the frontend's sessions already;
  // a stream of an HTTP/2 connection counts in neither (its connection does).
  enum class Accounting { NewConnection, TakenOver, Stream };
  // `client`: the accepted connection, plain or TLS (its handshake runs in the first reads).
  Session(Worker& worker, FrontendRuntime& frontend, TransportPtr client,
          const IpAddress& clientAddress, uint16_t clientPort = 0,
          Accounting accounting = Accounting::NewConnection);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  virtual void start() = 0;
  // Graceful stop: finish what is in flight, then close. An idle keep-alive connection closes
  // now when `closeIdle`, else after its next request (answered with Connection: close).
  virtual void stopWhenIdle(bool closeIdle) = 0;
  bool dead() const { return dead_; }
  // Ends the session; the worker deletes it after the current callback (deferred deletion:
  // nothing on the way out of a callback needs to ask whether its object still exists).
  void close();
  // Called by the worker, in FIFO order, when a slot may be free: true when this session left
  // the queue (it got a server, or gave up), false to stay first in line.
  bool retryFromQueue();
  // The client went away under this session (an HTTP/2 stream reset, its connection lost):
  // it ends now, as a client abort.
  virtual void clientGone() { closeAbruptly(); }
  // Takes over a connection another session began: the bytes it already read and when it was
  // accepted and ready (for %Th and the idle time of the first request).
  void takeOver(IoBufferPtr input, int64_t acceptedAtUs, int64_t acceptedAtWallUs,
                int64_t readyAtUs) {
    in_ = std::move(input);
    acceptedAtUs_ = acceptedAtUs;
    acceptedAtWallUs_ = acceptedAtWallUs;
    readyAtUs_ = readyAtUs;
  }

 protected:
  enum class ConnectResult { Connecting, NoServer, Full, Failed };

  void wantClientRead(bool on);
  void wantClientWrite(bool on);
  // Sets the session's deadline to now + d. Lazy: the timer event is only re-added when the new
  // deadline is earlier than the pending one; a later deadline is found when it fires. Request
  // after request re-arms cost no event_add.
  void armTimer(Duration d);
  void disarmTimer();
  // Ends it as a failure: on TLS without close_notify, so the client cannot take a cut stream
  // (a truncated body, a server reset, a timeout) for a complete one.
  void closeAbruptly() {
    abrupt_ = true;
    close();
  }
  bool tlsHandshakeDone() const { return clientTransport_->handshakeDone(); }
  // Output to the client that the transport committed and must send as it is (TLS after
  // WANT_WRITE): it can be completed or aborted, not replaced.
  bool clientOutputCommitted() const { return clientTransport_->outputCommitted(); }

  // The PROXY header a new connection to `server` starts with (send_proxy), or "".
  std::string proxyPrefaceFor(const ServerRuntime& server);

 public:
  // The addresses a PROXY header gave for this connection (accept_proxy).
  void setProxiedDestination(const IpAddress& address, uint16_t port) {
    destination_ = address;
    destinationPort_ = port;
  }

 protected:
  // Picks a server in `backend` and starts a connection (from the idle pool when one is there).
  // On Connecting, server_ and serverConn_ are set; the stream hears onServerWritable() once
  // connected (or at once for a pooled connection).
  // After a failed attempt on `failed`: redispatch avoids it, else it is tried again.
  ConnectResult connectServer(BackendRuntime& backend, const PickContext& ctx,
                              ServerRuntime* failed);
  // Gives the server connection back (to the pool when `reusable`) and frees its slot.
  void releaseServer(bool reusable);
  // Waits in the backend's FIFO queue until a slot frees or `timeout queue` ends.
  void enterQueue(BackendRuntime& backend);
  void leaveQueue();
  bool queued() const { return queuedOn_ != nullptr; }

  // One connection attempt to backend_: from the pool or a new connect, or into the queue when
  // every usable server is full. Ends in onServerConnected(), onNoServer() or (after a failed
  // attempt) retryOrGiveUp().
  void startConnect();
  // A connect to server_ that ended with `error` (its errno): counted by retryOrGiveUp(); a
  // failed TLS handshake is logged with its reason here (once a second per server at most).
  // True when it was TLS: the request then gets 502, as for a server that answered wrongly.
  bool noteConnectFailure(int error);
  // A TLS server connection failed on a read (a TLS 1.3 server sends its refusal of our
  // certificate after the handshake): logged with OpenSSL's reason, like a failed handshake.
  void noteServerTlsError();
  // After a failed attempt: another try (on another server with `redispatch`, on the same one
  // without) while `retries` allow, else onGiveUp().
  void retryOrGiveUp(bool responseFailure = false);
  virtual PickContext pickContext() const { return PickContext{&client_, {}, {}}; }
  // The request's host (no port), for a TLS server with `sni: req.hdr(host)` (HTTP only).
  virtual std::string_view requestHost() const { return {}; }
  // Called once, as close() begins (the access log line goes out here, with the counters as
  // they are while this session still holds its places).
  virtual void onClosing() {}
  virtual void onServerConnected() = 0;
  virtual void onNoServer() = 0;
  virtual void onGiveUp() = 0;
  int attempts_ = 0;
  ServerRuntime* lastFailed_ = nullptr;
  // For the access log: the timeline of reaching a server (worker clock, microseconds; -1 not
  // yet) and the server reached, which outlives the slot (a ServerRuntime lives as long as the
  // runtime). Reset per request by the HTTP stream.
  struct ServerTimeline {
    int64_t queuedAtUs = -1;   // entered the backend queue
    int64_t queueUs = -1;      // time spent queued, once it left
    int64_t connectAtUs = -1;  // first connect attempt
    int64_t connectedAtUs = -1;
    uint32_t backendQueue = 0;  // requests ahead in the queue on entering it
    ServerRuntime* server = nullptr;
    ServerRuntime* firstTried = nullptr;
  };
  ServerTimeline timeline_;
  // The stream reached its server: records it for the log.
  void markServerConnected();
  // What every access log line says of this session: who, where, the queue and connect times,
  // the counters (as they are now, while this session holds its places).
  void describe(AccessLogRecord& r) const;
  int64_t nowUs() const;

  // The client side through its transport, plain or TLS, with Transport's read()/write()
  // contracts (a TLS handshake runs inside the first reads; record bytes OpenSSL already holds
  // are read without waiting for the socket). shutdownClient() sends FIN, after close_notify on
  // TLS.
  ssize_t readClient(IoBuffer& buf) {
    ssize_t n = clientTransport_->read(buf);
    if (n > 0) frontendCounters_.bytesIn.add(static_cast<uint64_t>(n));
    // The read that finished a TLS handshake (plain TCP is ready at the accept): %Th.
    if (readyAtUs_ < 0 && clientTransport_->handshakeDone()) readyAtUs_ = nowUs();
    return n;
  }
  ssize_t sendClient(const iovec* iov, int count) {
    ssize_t n = clientTransport_->write(iov, count);
    if (n > 0) frontendCounters_.bytesOut.add(static_cast<uint64_t>(n));
    return n;
  }
  // This worker's counters of the frontend, of a backend, of a server.
  TrafficCounters& frontendCounters() { return frontendCounters_; }
  TrafficCounters& countersOf(const BackendRuntime& be);
  TrafficCounters& countersOf(const ServerRuntime& s);
  // The times of a request that reached its server, for its backend's and server's averages:
  // `startUs` its first byte, `responseHeadAtUs` its response head (-1: none).
  void countTimes(int64_t startUs, int64_t responseHeadAtUs);
  void shutdownClient() { clientTransport_->shutdownWrite(); }
  bool tls() const { return clientTransport_->secure(); }
  // The client's certificate, read once after the handshake (mutual TLS).
  const PeerCertificate& clientCertificate() {
    if (!clientCert_) clientCert_ = clientTransport_->peerCertificate();
    return *clientCert_;
  }
  std::optional<PeerCertificate> clientCert_;

  virtual void onClientReadable() = 0;
  virtual void onClientWritable() = 0;
  virtual void onTimeout() = 0;

  Worker& worker_;
  FrontendRuntime& frontend_;
  TrafficCounters& frontendCounters_;
  TransportPtr clientTransport_;  // owns the client socket
  IpAddress client_;
  uint16_t clientPort_ = 0;
  // Where the client connected to, as a PROXY header said (else asked of the socket when
  // needed: only send_proxy does).
  std::optional<IpAddress> destination_;
  uint16_t destinationPort_ = 0;
  int64_t acceptedAtUs_ = 0;      // worker clock
  int64_t acceptedAtWallUs_ = 0;  // wall clock
  int64_t readyAtUs_ = -1;        // handshakes done (worker clock)
  BackendUse backend_;
  ServerRuntime* server_ = nullptr;  // holds a connection slot while set
  ServerConnectionPtr serverConn_;
  IoBufferPtr in_;  // bytes from the client
  bool clientEof_ = false;

 private:
  friend class Worker;  // keeps the session in its list and its backend queues
  // The client transport's readiness.
  void onReadable() override { onClientReadable(); }
  void onWritable() override { onClientWritable(); }
  void onTimerEvent();
  std::list<std::unique_ptr<Session>>::iterator slot_;  // in the worker's list (O(1) removal)
  std::list<Session*>::iterator queueSlot_;  // in a backend queue while waiting for a slot
  BackendRuntime* queuedOn_ = nullptr;
  DeadlineTimerPtr timer_;
  // Gives back this connection's place in the frontend's and the global maxconn (once).
  void releaseConnectionCount();
  bool dead_ = false;
  bool abrupt_ = false;  // ended as a failure: no TLS close_notify
  bool counted_ = true;  // holds a place in the frontend's and the global connection count
  bool timerPending_ = false;
  int64_t deadlineUs_ = INT64_MAX;  // when onTimeout() is due
  int64_t timerFiresUs_ = 0;        // when the pending timer event fires
  void addTimer(int64_t inUs);
};

}  // namespace tandem::proxy
