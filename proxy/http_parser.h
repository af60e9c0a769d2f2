// The HTTP/1 parser interface the streams use. The implementation wraps llhttp (Node's strict,
// fuzzed parser); nothing else in the proxy names llhttp.
//
// The parser never copies: header names and values are Spans (offset, length) into the buffer
// the message head was read into, which stays in place until the head is complete.
#pragma once

#include <strings.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::proxy {

struct Span {
  uint32_t offset = 0;
  uint32_t length = 0;
  std::string_view in(const char* base) const { return {base + offset, length}; }
};

struct HeaderField {
  Span name;
  Span value;
};

struct MessageHead {
  Span method;     // requests
  Span url;        // requests
  int status = 0;  // responses
  Span reason;     // responses
  int versionMajor = 1;
  int versionMinor = 1;
  std::vector<HeaderField> headers;
  bool chunked = false;
  bool hasContentLength = false;
  uint64_t contentLength = 0;
  bool connectionClose = false;        // Connection: close
  bool connectionKeepAlive = false;    // Connection: keep-alive
  bool connectionUpgrade = false;      // Connection: upgrade
  bool connectionNamesFields = false;  // Connection names other fields (hop-by-hop too)
  bool expectContinue = false;         // Expect: 100-continue
  bool isHead = false;                 // request method HEAD
  bool isConnect = false;              // request method CONNECT

  void clear();
};

enum class ParseEvent {
  NeedMore,         // all input consumed, message not complete
  HeadComplete,     // head parsed; `consumed` ends right after it
  MessageComplete,  // whole message parsed; `consumed` ends right after it
  Error,            // malformed; see errorReason()
};

// RFC 9110 §7.2 / RFC 3986 §3.2.2: a Host value is `host [ ":" port ]` — a reg-name
// (unreserved, pct-encoded, sub-delims), an IPv4 address or a bracketed IP literal — or empty.
// A space, a slash or an "@" in it is never a host: such a request gets 400.
bool isValidHostHeader(std::string_view value);

// ASCII case-insensitive equality (header names, tokens): one helper for the proxy's HTTP code.
// Inline: most comparisons end at the length, and a request makes dozens.
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// RFC 9110 §5.6.2: a tchar (what header names and methods are made of), by table: this runs
// for every byte of every header name.
inline bool isTokenChar(unsigned char c) {
  static constexpr auto kTable = [] {
    std::array<bool, 256> t{};
    for (int ch = '0'; ch <= '9'; ++ch) t[ch] = true;
    for (int ch = 'a'; ch <= 'z'; ++ch) t[ch] = t[ch - 'a' + 'A'] = true;
    for (char ch : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(ch)] = true;
    return t;
  }();
  return kTable[c];
}

// Applies `f` to each comma-separated token of a header value (Connection, TE), trimmed.
template <class F>
void forEachToken(std::string_view v, F f) {
  while (!v.empty()) {
    size_t comma = v.find(',');
    std::string_view tok = v.substr(0, comma);
    while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) tok.remove_prefix(1);
    while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) tok.remove_suffix(1);
    if (!tok.empty()) f(tok);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
}

class HttpParser {
 public:
  enum class Kind { Request, Response };
  // Limits: more headers than `maxHeaders` is an error (HAProxy's tune.http.maxhdr).
  HttpParser(Kind kind, size_t maxHeaders = 101);
  ~HttpParser();
  HttpParser(const HttpParser&) = delete;
  HttpParser& operator=(const HttpParser&) = delete;

  // Parses `data[0, len)`; `base` is the start of the buffer the head lives in (Spans are
  // relative to it). Stops after the head and after the message so the caller can act.
  ParseEvent execute(const char* base, const char* data, size_t len, size_t* consumed);
  // The peer closed: completes a message delimited by EOF, or reports truncation.
  ParseEvent finish();
  // Prepares for the next message on the same connection.
  void reset();

  // Where body bytes go as they are parsed (HTTP/2 streams take the body without HTTP/1
  // framing: chunk sizes are not passed on). Null: the caller forwards the framed bytes itself.
  using BodySink = void (*)(void* context, const char* data, size_t length);
  void setBodySink(BodySink sink, void* context) {
    bodySink_ = sink;
    bodyContext_ = context;
  }
  // Where the fields of a chunked body's trailer section go, one at a time (copied: they may
  // span reads). Without a sink they are checked and dropped from the head, which stays as it was.
  using TrailerSink = void (*)(void* context, std::string_view name, std::string_view value);
  void setTrailerSink(TrailerSink sink, void* context) {
    trailerSink_ = sink;
    trailerContext_ = context;
  }
  // For a response: the request was HEAD (or similar) so the response has no body.
  void expectNoBody(bool noBody) { noBody_ = noBody; }
  const MessageHead& head() const { return head_; }
  bool headComplete() const { return headDone_; }
  bool keepAlive() const;  // per RFC 9112 §9.3 for this message
  bool upgrade() const;    // an Upgrade/CONNECT the parser stopped at
  bool bodyDelimitedByEof() const;
  bool tooManyHeaders() const { return tooManyHeaders_; }
  const char* errorReason() const;

 private:
  friend struct ParserCallbacks;
  bool inHeaderValue_ = false;
  bool headDone_ = false;
  bool messageDone_ = false;
  bool noBody_ = false;
  bool tooManyHeaders_ = false;
  const char* ownError_ = nullptr;  // a rule we enforce on top of llhttp
  size_t maxHeaders_;
  const char* base_ = nullptr;
  BodySink bodySink_ = nullptr;
  void* bodyContext_ = nullptr;
  TrailerSink trailerSink_ = nullptr;
  void* trailerContext_ = nullptr;
  std::string trailerName_;  // the trailer field being parsed
  std::string trailerValue_;
  size_t trailerCount_ = 0;
  MessageHead head_;
  Kind kind_;
  alignas(8) unsigned char impl_[96];  // llhttp_t, kept inline (no allocation per connection)
};

}  // namespace tandem::proxy
