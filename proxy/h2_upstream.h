// HTTP/2 to servers (`proto: h2` on a server; RFC 9113), framed by libnghttp2, so gRPC and other
// h2-only services can sit behind the proxy.
//
// The request path does not change: an HttpStream still writes an HTTP/1.1 request to what it
// takes for a server connection, and reads an HTTP/1.1 response back. For an h2 server that
// "connection" is an H2UpstreamTransport, one stream on a connection shared by every request
// this worker sends to the server. The transport parses the request bytes (the same parser)
// into HEADERS and DATA, and writes what the server answers back as the HTTP/1.1 message it
// stands for: a body of unknown length chunked, trailers (grpc-status) as the chunked body's
// trailer section, which an HTTP/2 client connection turns into a trailing HEADERS frame again.
//
//   HttpStream → request bytes → H2UpstreamTransport → nghttp2 (HEADERS, DATA) → server
//   HttpStream ← response bytes (HTTP/1.1) ← H2UpstreamTransport ← nghttp2 ← server
//
// Connections: one per (server, SNI) while it has room under the server's
// SETTINGS_MAX_CONCURRENT_STREAMS, another when it does not; one that received GOAWAY takes no
// new streams and closes after its last; an idle one closes after the worker's idle-server time.
// Flow control both ways: a response body goes back to the server's window only as the
// HttpStream reads it, and a request body waits (kAgain) beyond kStreamInputLimit not framed yet.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/event.h"
#include "proxy/runtime.h"
#include "proxy/transport.h"

namespace tandem::proxy {

class Worker;
class H2UpstreamConnection;

// Every HTTP/2 connection one worker has to its servers.
class H2Upstream {
 public:
  explicit H2Upstream(Worker& worker);
  ~H2Upstream();
  H2Upstream(const H2Upstream&) = delete;
  H2Upstream& operator=(const H2Upstream&) = delete;

  // A transport for one request to `server`: a stream on a connection with room, or on a new
  // one (connecting: the transport turns writable once it is up, connectError() says how it
  // went). Null with *error (an errno) when no connection can be opened.
  TransportPtr openStream(ServerRuntime& server, std::string_view sni, int* error);
  void closeAll();
  size_t connectionCount() const { return connections_.size(); }

 private:
  friend class H2UpstreamConnection;
  // A connection that ended leaves the list now and is deleted after the current callback.
  void retire(H2UpstreamConnection* connection);

  Worker& worker_;
  std::vector<std::unique_ptr<H2UpstreamConnection>> connections_;
  std::vector<std::unique_ptr<H2UpstreamConnection>> retired_;
  Event reapEv_;
};

}  // namespace tandem::proxy
