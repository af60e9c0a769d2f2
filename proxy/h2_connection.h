// HTTP/2 on a client connection (RFC 9113), framed by libnghttp2 (the codec of curl and
// Apache's mod_http2: HPACK, flow control, stream states and the RFC's message checks).
//
// Each stream becomes an HttpStream of its own over a StreamTransport: the request is written
// out as the HTTP/1.1 message it stands for and parsed by the same parser, so every rule, ACL,
// log field, counter, retry and timeout of HTTP/1.1 applies to it unchanged (HAProxy 1.8's h2
// mux converted the same way); the HTTP/1.1 response the stream writes back is parsed and sent
// as HEADERS and DATA. What HTTP/1.1 cannot say is refused before the conversion (RFC 9113
// §8.2: connection-specific fields, CR/LF/NUL, uppercase names; §8.3: pseudo-headers), so no
// request can be smuggled across the downgrade.
//
//   client bytes → nghttp2 → Stream (HTTP/1.1 request bytes) → HttpStream → server
//   client  ← nghttp2 (HEADERS, DATA) ← Stream (parsed response) ← HttpStream ← server
//
// Flow control: a stream's request body is given back to the client's window only as its
// HttpStream reads it; a stream's response waits (the HttpStream hears kAgain) while more than
// kStreamOutputLimit of it is not yet framed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/session.h"

struct nghttp2_session;

namespace tandem::proxy {

class H2Connection final : public Session {
 public:
  // PriorKnowledge: HTTP/2 from the first byte (h2c, or `proto: h2`). Negotiate: a TLS bind
  // that offers h2 by ALPN; a client that picks anything else is handed to an HttpStream.
  enum class Start { PriorKnowledge, Negotiate };

  H2Connection(Worker& worker, FrontendRuntime& frontend, const Bind& bind, TransportPtr client,
               const IpAddress& clientAddress, uint16_t clientPort, Start start);
  ~H2Connection() override;

  void start() override;
  // GOAWAY: streams already open finish, no new one starts; the connection closes when the
  // last one is done (or now, with `closeIdle`, when none is open).
  void stopWhenIdle(bool closeIdle) override;

  struct Stream;
  class StreamTransport;
  struct Callbacks;

 private:
  void onClientReadable() override;
  void onClientWritable() override;
  void onTimeout() override;
  // A client connection has no server of its own: its streams do.
  void onServerReadable() override {}
  void onServerWritable() override {}
  void onServerConnected() override {}
  void onNoServer() override {}
  void onGiveUp() override {}
  void onClosing() override;

  bool startSession();
  void handOverToHttp1();
  // Frames out: nghttp2's output, batched, through the transport.
  void flush();
  bool writePending();
  // Readiness for the streams' HttpStreams, delivered after nghttp2 returns (never from inside
  // its callbacks).
  void schedule(Stream& s);
  void dispatch();
  void scheduleFlush();
  // An HttpStream let go of its stream.
  void detach(Stream& s, bool clean);
  void erase(Stream& s);
  void maybeFinish();
  // The request as HTTP/1.1, once its header block is complete.
  void beginRequest(Stream& s, bool endStream);
  void endRequest(Stream& s);
  void answerHere(Stream& s, int status);
  size_t openStreams() const { return streams_.size(); }

  const Bind& bind_;
  Start start_;
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<int32_t> ready_;  // streams whose HttpStream is to hear readiness
  std::string out_;             // frames not yet written
  size_t outSent_ = 0;
  bool draining_ = false;  // GOAWAY sent
  bool dispatching_ = false;
  bool handedOver_ = false;
  bool goawayCounted_ = false;  // a GOAWAY with an error went out (counted there)
  uint64_t resetsReceived_ = 0;
  // Runs dispatch() and flush() once at the end of this loop pass, for whatever the streams
  // did meanwhile: no socket event (and no epoll_ctl) just to get called back.
  Event flushEv_;
  bool flushScheduled_ = false;
  // Declared last: deleted first, before the streams its data sources point to.
  struct SessionDeleter {
    void operator()(nghttp2_session* s) const;
  };
  std::unique_ptr<nghttp2_session, SessionDeleter> session_;
};

}  // namespace tandem::proxy
