#include "proxy/http_parser.h"

#include <llhttp.h>
#include <strings.h>

#include <cctype>
#include <cstring>

namespace tandem::proxy {

bool isValidHostHeader(std::string_view v) {
  if (v.empty()) return true;  // allowed when the target has no authority (RFC 9110 §7.2)
  std::string_view host = v, port;
  if (v.front() == '[') {
    size_t close = v.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : v.substr(1, close - 1))
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    std::string_view after = v.substr(close + 1);
    if (!after.empty() && after.front() != ':') return false;
    port = after.empty() ? after : after.substr(1);
    host = {};
  } else {
    size_t colon = v.rfind(':');
    if (colon != std::string_view::npos) {
      host = v.substr(0, colon);
      port = v.substr(colon + 1);
    }
    if (host.empty()) return false;
    for (size_t i = 0; i < host.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(host[i]);
      if (std::isalnum(c) || std::strchr("-._~!$&'()*+,;=", c) != nullptr) continue;
      if (c == '%' && i + 2 < host.size() &&
          std::isxdigit(static_cast<unsigned char>(host[i + 1])) &&
          std::isxdigit(static_cast<unsigned char>(host[i + 2]))) {
        i += 2;
        continue;
      }
      return false;
    }
  }
  if (port.size() > 5) return false;
  for (char c : port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

static_assert(sizeof(llhttp_t) <= 96, "grow HttpParser::impl_");

namespace {}  // namespace

void MessageHead::clear() {
  method = url = reason = {};
  status = 0;
  versionMajor = versionMinor = 1;
  headers.clear();
  chunked = hasContentLength = false;
  contentLength = 0;
  connectionClose = connectionKeepAlive = connectionUpgrade = connectionNamesFields = false;
  expectContinue = isHead = isConnect = false;
}

struct ParserCallbacks {
  static HttpParser* self(llhttp_t* p) { return static_cast<HttpParser*>(p->data); }

  static Span span(HttpParser* s, const char* at, size_t len) {
    return Span{static_cast<uint32_t>(at - s->base_), static_cast<uint32_t>(len)};
  }
  // Spans of one element may arrive in pieces; the head is contiguous, so extend.
  static void extend(HttpParser* s, Span* sp, const char* at, size_t len) {
    if (sp->length == 0 && sp->offset == 0)
      *sp = span(s, at, len);
    else
      sp->length = static_cast<uint32_t>(at + len - (s->base_ + sp->offset));
  }

  static int onMessageBegin(llhttp_t* p) {
    HttpParser* s = self(p);
    s->head_.clear();
    s->headDone_ = s->messageDone_ = false;
    s->inHeaderValue_ = false;
    s->trailerName_.clear();
    s->trailerValue_.clear();
    s->trailerCount_ = 0;
    return 0;
  }
  static int onUrl(llhttp_t* p, const char* at, size_t len) {
    extend(self(p), &self(p)->head_.url, at, len);
    return 0;
  }
  static int onMethod(llhttp_t* p, const char* at, size_t len) {
    extend(self(p), &self(p)->head_.method, at, len);
    return 0;
  }
  static int onStatus(llhttp_t* p, const char* at, size_t len) {
    extend(self(p), &self(p)->head_.reason, at, len);
    return 0;
  }
  // After the head: the trailer section of a chunked body (RFC 9112 §7.1.2), copied.
  static int onTrailerField(HttpParser* s, const char* at, size_t len) {
    if (s->inHeaderValue_) {
      s->trailerName_.clear();
      s->trailerValue_.clear();
      s->inHeaderValue_ = false;
    }
    if (s->trailerName_.size() + len > 8192) return fail(s, "trailer field too large");
    s->trailerName_.append(at, len);
    return 0;
  }
  static int onTrailerFieldComplete(HttpParser* s) {
    s->inHeaderValue_ = true;
    if (++s->trailerCount_ > s->maxHeaders_) {
      s->tooManyHeaders_ = true;
      return HPE_USER;
    }
    if (s->trailerName_.empty()) return fail(s, "empty trailer name");
    for (char c : s->trailerName_)
      if (!isTokenChar(static_cast<unsigned char>(c))) return fail(s, "invalid trailer name");
    return 0;
  }
  static int onTrailerValueComplete(HttpParser* s) {
    std::string& v = s->trailerValue_;
    if (v.find_first_of("\r\n") != std::string::npos)
      return fail(s, "obsolete line folding in trailer value");
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
    if (s->trailerSink_) s->trailerSink_(s->trailerContext_, s->trailerName_, v);
    return 0;
  }
  static int onHeaderField(llhttp_t* p, const char* at, size_t len) {
    HttpParser* s = self(p);
    if (s->headDone_) return onTrailerField(s, at, len);
    auto& hs = s->head_.headers;
    if (s->inHeaderValue_ || hs.empty()) {
      if (hs.size() >= s->maxHeaders_) {
        s->tooManyHeaders_ = true;
        return HPE_USER;
      }
      hs.push_back({span(s, at, len), Span{}});
      s->inHeaderValue_ = false;
    } else {
      extend(s, &hs.back().name, at, len);
    }
    return 0;
  }
  static int fail(HttpParser* s, const char* why) {
    s->ownError_ = why;
    return HPE_USER;
  }
  static int onHeaderFieldComplete(llhttp_t* p) {
    HttpParser* s = self(p);
    if (s->headDone_) return onTrailerFieldComplete(s);
    s->inHeaderValue_ = true;
    // RFC 9110 §5.1: a field name is a token. A space or control character in it is how
    // smuggling payloads hide a second Transfer-Encoding: reject, never normalise.
    for (char c : s->head_.headers.back().name.in(s->base_))
      if (!isTokenChar(static_cast<unsigned char>(c))) return fail(s, "invalid header name");
    if (s->head_.headers.back().name.length == 0) return fail(s, "empty header name");
    return 0;
  }
  static int onHeaderValueComplete(llhttp_t* p) {
    HttpParser* s = self(p);
    if (s->headDone_) return onTrailerValueComplete(s);
    // RFC 9112 §5.2: obs-fold (a line starting with SP/HTAB continuing a value) is rejected.
    Span& value = s->head_.headers.back().value;
    std::string_view text = value.in(s->base_);
    if (std::memchr(text.data(), '\n', text.size()) || std::memchr(text.data(), '\r', text.size()))
      return fail(s, "obsolete line folding in header value");
    // RFC 9110 §5.5: OWS after the value is not part of it (llhttp drops only leading OWS).
    while (value.length > 0) {
      char last = s->base_[value.offset + value.length - 1];
      if (last != ' ' && last != '\t') break;
      --value.length;
    }
    return 0;
  }
  static int onHeaderValue(llhttp_t* p, const char* at, size_t len) {
    HttpParser* s = self(p);
    if (s->headDone_) {
      if (s->trailerValue_.size() + len > 65536) return fail(s, "trailer field too large");
      s->trailerValue_.append(at, len);
      return 0;
    }
    if (s->head_.headers.empty()) return 0;
    extend(s, &s->head_.headers.back().value, at, len);
    return 0;
  }
  static int onHeadersComplete(llhttp_t* p) {
    HttpParser* s = self(p);
    MessageHead& h = s->head_;
    if (p->type == HTTP_REQUEST)
      for (const auto& f : h.headers)
        if (iequals(f.name.in(s->base_), "host") && !isValidHostHeader(f.value.in(s->base_)))
          return fail(s, "invalid Host header");
    h.versionMajor = p->http_major;
    h.versionMinor = p->http_minor;
    h.status = p->status_code;
    h.chunked = (p->flags & F_CHUNKED) != 0;
    h.hasContentLength = (p->flags & F_CONTENT_LENGTH) != 0;
    h.contentLength = h.hasContentLength ? p->content_length : 0;
    h.isHead = p->type == HTTP_REQUEST && p->method == HTTP_HEAD;
    h.isConnect = p->type == HTTP_REQUEST && p->method == HTTP_CONNECT;
    for (const auto& f : h.headers) {
      std::string_view name = f.name.in(s->base_);
      std::string_view value = f.value.in(s->base_);
      if (iequals(name, "connection")) {
        forEachToken(value, [&](std::string_view t) {
          if (iequals(t, "close")) h.connectionClose = true;
          if (iequals(t, "keep-alive")) h.connectionKeepAlive = true;
          if (iequals(t, "upgrade"))
            h.connectionUpgrade = true;
          else if (!iequals(t, "close") && !iequals(t, "keep-alive"))
            h.connectionNamesFields = true;
        });
      } else if (iequals(name, "expect") && iequals(value, "100-continue")) {
        h.expectContinue = true;
      }
    }
    if (h.versionMajor != 1) return fail(s, "unsupported HTTP version");
    s->headDone_ = true;
    // A response to HEAD has no body (llhttp knows 1xx/204/304 itself): the message completes
    // right away and the caller sees MessageComplete with headComplete() set.
    if (p->type == HTTP_RESPONSE && s->noBody_) return 1;
    return HPE_PAUSED;
  }
  static int onBody(llhttp_t* p, const char* at, size_t len) {
    HttpParser* s = self(p);
    if (s->bodySink_) s->bodySink_(s->bodyContext_, at, len);
    return 0;
  }
  static int onMessageComplete(llhttp_t* p) {
    self(p)->messageDone_ = true;
    return HPE_PAUSED;
  }

  static const llhttp_settings_t* settings() {
    static const llhttp_settings_t st = [] {
      llhttp_settings_t x;
      llhttp_settings_init(&x);
      x.on_message_begin = onMessageBegin;
      x.on_url = onUrl;
      x.on_method = onMethod;
      x.on_status = onStatus;
      x.on_header_field = onHeaderField;
      x.on_header_field_complete = onHeaderFieldComplete;
      x.on_header_value = onHeaderValue;
      x.on_header_value_complete = onHeaderValueComplete;
      x.on_headers_complete = onHeadersComplete;
      x.on_message_complete = onMessageComplete;
      x.on_body = onBody;
      return x;
    }();
    return &st;
  }
};

namespace {
llhttp_t* impl(unsigned char* storage) {
  return reinterpret_cast<llhttp_t*>(storage);
}
const llhttp_t* impl(const unsigned char* storage) {
  return reinterpret_cast<const llhttp_t*>(storage);
}
}  // namespace

HttpParser::HttpParser(Kind kind, size_t maxHeaders) : maxHeaders_(maxHeaders), kind_(kind) {
  llhttp_init(impl(impl_), kind == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE,
              ParserCallbacks::settings());
  impl(impl_)->data = this;
}

HttpParser::~HttpParser() = default;

void HttpParser::reset() {
  llhttp_init(impl(impl_), kind_ == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE,
              ParserCallbacks::settings());
  impl(impl_)->data = this;
  head_.clear();
  headDone_ = messageDone_ = inHeaderValue_ = noBody_ = tooManyHeaders_ = false;
  ownError_ = nullptr;
}

ParseEvent HttpParser::execute(const char* base, const char* data, size_t len, size_t* consumed) {
  base_ = base;
  llhttp_t* p = impl(impl_);
  llhttp_errno_t err = llhttp_execute(p, data, len);
  switch (err) {
    case HPE_OK:
      *consumed = len;
      return ParseEvent::NeedMore;
    case HPE_PAUSED: {
      *consumed = static_cast<size_t>(llhttp_get_error_pos(p) - data);
      llhttp_resume(p);
      // A paused callback either ended the head or the message.
      if (messageDone_) {
        messageDone_ = false;
        return ParseEvent::MessageComplete;
      }
      return ParseEvent::HeadComplete;
    }
    case HPE_PAUSED_UPGRADE:
      // The message (head without body) ended; what follows is another protocol.
      *consumed = static_cast<size_t>(llhttp_get_error_pos(p) - data);
      messageDone_ = false;
      return ParseEvent::MessageComplete;
    default:
      *consumed = 0;
      return ParseEvent::Error;
  }
}

ParseEvent HttpParser::finish() {
  llhttp_t* p = impl(impl_);
  bool wasDone = messageDone_;
  llhttp_errno_t err = llhttp_finish(p);
  if (err != HPE_OK && err != HPE_PAUSED) return ParseEvent::Error;
  if (messageDone_ && !wasDone) {
    messageDone_ = false;
    return ParseEvent::MessageComplete;
  }
  return ParseEvent::NeedMore;
}

bool HttpParser::keepAlive() const {
  return llhttp_should_keep_alive(impl(impl_)) != 0;
}
bool HttpParser::upgrade() const {
  return impl(impl_)->upgrade != 0;
}
bool HttpParser::bodyDelimitedByEof() const {
  return llhttp_message_needs_eof(impl(impl_)) != 0;
}

const char* HttpParser::errorReason() const {
  if (tooManyHeaders_) return "too many headers";
  if (ownError_) return ownError_;
  const char* r = llhttp_get_error_reason(impl(impl_));
  return r ? r : "malformed message";
}

}  // namespace tandem::proxy
