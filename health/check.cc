#include "health/check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/http_response.h"
#include "common/socket.h"

namespace tandem::health {
namespace {

constexpr size_t kMaxResponse = 16384;  // like HAProxy, look at most one buffer of response

int64_t monotonicUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// `addr` of a server's check (HAProxy's `check addr`), IPv4 or IPv6 whatever the server's own
// family, on the server's port (a check `port` replaces it afterwards).
void checkAddress(const std::string& addr, sockaddr_storage* ss, socklen_t* length) {
  uint16_t port = ss->ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(ss)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(ss)->sin6_port;
  sockaddr_storage out{};
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
      inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = port;
    *length = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
             inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = port;
    *length = sizeof(sockaddr_in6);
  } else {
    return;  // the loader accepts IP addresses only
  }
  *ss = out;
}

CheckResult fail(CheckResult::Layer layer, std::string reason) {
  return CheckResult{false, layer, std::move(reason), Duration(0)};
}

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (c < 32 || c > 126) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else
      out += static_cast<char>(c);
  }
  return out;
}

// Decodes a chunked body as far as it is complete.
}  // namespace

namespace {
// The verdict on an HTTP check's response (evaluateHttpResponse adds the status code).
CheckResult judgeHttpResponse(const std::string& raw, const CheckConfig& config) {
  using L = CheckResult::Layer;
  std::optional<int> parsed = http::responseStatus(raw);
  if (!parsed)
    return fail(L::L7, raw.empty() ? "Layer7 empty response" : "Layer7 invalid response");
  int status = *parsed;
  std::string body = http::responseBody(raw);
  if (config.expects.empty()) {
    if (status >= 200 && status < 400)
      return {true, L::L7, "Layer7 check passed, code: " + std::to_string(status), Duration(0)};
    return fail(L::L7, "Layer7 wrong status " + std::to_string(status));
  }
  for (const auto& e : config.expects) {
    bool matched = false;
    std::string what;
    switch (e.kind) {
      case HttpExpect::Kind::Status:
        for (const auto& [lo, hi] : e.statusRanges) matched |= status >= lo && status <= hi;
        if (matched == e.negate)
          return fail(L::L7, "Layer7 wrong status " + std::to_string(status));
        continue;
      case HttpExpect::Kind::String:
        matched = body.find(e.pattern) != std::string::npos;
        break;
      case HttpExpect::Kind::Rstring: {
        auto re = Regex::compile(e.pattern, false, nullptr);
        matched = re && re->search(body);
        break;
      }
    }
    if (matched == e.negate)
      return fail(L::L7, std::string(e.negate ? "Layer7 response matched forbidden '"
                                              : "Layer7 response did not match '") +
                             printable(e.pattern) + "'");
  }
  return {true, L::L7, "Layer7 check passed, code: " + std::to_string(status), Duration(0)};
}
}  // namespace

CheckResult evaluateHttpResponse(const std::string& raw, const CheckConfig& config) {
  CheckResult r = judgeHttpResponse(raw, config);
  if (r.layer == CheckResult::Layer::L7) r.code = http::responseStatus(raw).value_or(0);
  return r;
}

std::string mysqlHandshakeResponse(const std::string& user) {
  // HandshakeResponse41: capability flags, max packet, charset, 23 zero bytes, user, empty
  // auth response. CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION.
  uint32_t flags = 0x00000001 | 0x00000200 | 0x00008000;
  std::string p;
  for (int i = 0; i < 4; ++i) p.push_back(static_cast<char>((flags >> (8 * i)) & 0xff));
  p.append("\x00\x00\x00\x01", 4);  // max packet size 16 MiB
  p.push_back('\x21');              // utf8_general_ci
  p.append(23, '\0');
  p.append(user);
  p.push_back('\0');
  p.push_back('\0');  // auth response length 0: no password
  std::string pkt;
  pkt.push_back(static_cast<char>(p.size() & 0xff));
  pkt.push_back(static_cast<char>((p.size() >> 8) & 0xff));
  pkt.push_back(static_cast<char>((p.size() >> 16) & 0xff));
  pkt.push_back('\x01');  // sequence id
  return pkt + p;
}

Check::Check(event_base* base, const CheckTarget& target, Done done)
    : base_(base), target_(target), done_(std::move(done)), rng_(std::random_device{}()) {
  timer_.assign(base_, [this] { run(); });
  io_.assign(base_, -1, 0, [this](short what) { onIo(what); });
  const CheckConfig* c = target_.config;
  CheckType type = c ? c->type : CheckType::Tcp;
  auto step = [](Kind k, std::string data = {}) {
    Step st;
    st.kind = k;
    st.data = std::move(data);
    return st;
  };
  switch (type) {
    case CheckType::Tcp:
      program_.push_back(step(Kind::Connect));
      break;
    case CheckType::Redis: {
      program_.push_back(step(Kind::Connect));
      program_.push_back(step(Kind::Send, "PING\r\n"));
      program_.push_back(step(Kind::Expect, "+PONG"));
      program_.back().lineMode = true;  // "-NOAUTH ..." or "-LOADING ..." fail without waiting
      break;
    }
    case CheckType::Http: {
      std::string req = c->method + " " + c->uri + " " + c->version + "\r\n";
      bool hasHost = false;
      for (const auto& [k, v] : c->headers) {
        req += k + ": " + v + "\r\n";
        if (strcasecmp(k.c_str(), "host") == 0) hasHost = true;
      }
      if (!hasHost && c->version == "HTTP/1.1") {
        char ip[INET6_ADDRSTRLEN] = "localhost";
        const auto& ss = target_.address;
        std::string host = ip;
        if (ss.ss_family == AF_INET &&
            inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, ip,
                      sizeof(ip)))
          host = ip;
        else if (ss.ss_family == AF_INET6 &&
                 inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, ip,
                           sizeof(ip)))
          host = std::string("[") + ip + "]";  // RFC 9110 §7.2: an IPv6 literal in brackets
        req += "host: " + host + "\r\n";
      }
      req += "connection: close\r\n\r\n";
      program_.push_back(step(Kind::Connect));
      program_.push_back(step(Kind::Send, req));
      program_.push_back(step(Kind::HttpExpect));
      break;
    }
    case CheckType::TcpScript: {
      if (c->steps.empty() || c->steps.front().kind != TcpCheckStep::Kind::Connect)
        program_.push_back(step(Kind::Connect));
      for (const auto& s : c->steps) {
        Step st;
        st.data = s.data;
        switch (s.kind) {
          case TcpCheckStep::Kind::Connect:
            st.kind = Kind::Connect;
            st.port = s.port;
            break;
          case TcpCheckStep::Kind::Send:
          case TcpCheckStep::Kind::SendBinary:
            st.kind = Kind::Send;
            break;
          case TcpCheckStep::Kind::Expect:
            st.kind = Kind::Expect;
            st.match = s.match;
            st.negate = s.negate;
            if (s.match == TcpCheckStep::Match::Rstring)
              st.regex = Regex::compile(s.data, false, nullptr);
            break;
        }
        st.timeout = s.timeout;
        program_.push_back(std::move(st));
      }
      break;
    }
    case CheckType::Mysql: {
      program_.push_back(step(Kind::Connect));
      program_.push_back(step(Kind::MysqlHandshake));
      program_.push_back(step(Kind::Send, mysqlHandshakeResponse(c->mysqlUser)));
      program_.push_back(step(Kind::MysqlResult));
      // COM_QUIT: a clean goodbye, so the server logs no aborted connection.
      program_.push_back(step(Kind::Send, std::string("\x01\x00\x00\x00\x01", 5)));
      break;
    }
  }
}

Check::~Check() = default;

void Check::start(Duration delay) {
  timer_.arm(delay);
}

Duration Check::nextInterval(ServerState state) const {
  const ServerCheckParams& p = target_.params;
  switch (state) {
    case ServerState::Down:
      return p.downinter.value_or(p.inter);
    case ServerState::GoingDown:
    case ServerState::GoingUp:
      return p.fastinter.value_or(p.inter);
    default:
      return p.inter;
  }
}

void Check::run() {
  running_ = true;
  startedUs_ = monotonicUs();
  step_ = 0;
  in_.clear();
  inPos_ = 0;
  out_.clear();
  outSent_ = 0;
  eof_ = false;
  ioError_ = 0;
  stepStarted_ = SIZE_MAX;
  fd_.reset();
  advance();
}

void Check::waitFor(short what) {
  io_.retarget(fd_.get(), what);
  Duration timeout = target_.config ? target_.config->timeout : target_.timeout;
  int64_t left = timeout.count() - (monotonicUs() - startedUs_);
  const Step& s = program_[step_];
  if (s.timeout) left = s.timeout->count() - (monotonicUs() - stepStartUs_);
  io_.add(Duration(left));
}

void Check::onIo(short what) {
  if (what & EV_TIMEOUT) {
    const Step& s = program_[step_];
    CheckResult r =
        s.kind == Kind::Connect && handshaking_ ? fail(CheckResult::Layer::L6, "Layer6 timeout")
        : s.kind == Kind::Connect
            ? fail(CheckResult::Layer::L4, "Layer4 timeout")
            : fail(CheckResult::Layer::L7, "Layer7 timeout at step " + std::to_string(step_ + 1));
    r.timedOut = true;
    return finish(std::move(r));
  }
  advance();
}

bool Check::fillInput() {
  char buf[4096];
  ssize_t n = recvBytes(buf, sizeof(buf));
  if (n > 0) {
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }
  if (n == 0) {
    eof_ = true;
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    ioError_ = errno;
    eof_ = true;
  }
  return false;
}

// The connection's first bytes (a PROXY header): a fresh socket always takes them whole.
bool Check::sendPreface() {
  const std::string& p = target_.params.preface;
  if (p.empty()) return true;
  ssize_t n = ::send(fd_.get(), p.data(), p.size(), MSG_NOSIGNAL);
  if (n == static_cast<ssize_t>(p.size())) return true;
  finish(fail(CheckResult::Layer::L4,
              std::string("Layer4 connection problem: ") +
                  (n < 0 ? std::strerror(errno) : "the PROXY header did not fit the socket")));
  return false;
}

bool Check::connected() {
  if (!sendPreface()) return false;
  if (!target_.params.ssl) return true;
  ssl_.reset(target_.params.tlsConnect ? target_.params.tlsConnect(fd_.get()) : nullptr);
  if (!ssl_) {
    finish(fail(CheckResult::Layer::L6, "Layer6 invalid response: no TLS state"));
    return false;
  }
  handshaking_ = true;
  return continueHandshake();
}

bool Check::continueHandshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    handshaking_ = false;
    return true;
  }
  int e = SSL_get_error(ssl_.get(), r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    waitFor(e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE);
    return false;
  }
  // HAProxy's L6RSP: the server is up at layer 4 but its TLS does not check out.
  long verdict = SSL_get_verify_result(ssl_.get());
  std::string why = verdict != X509_V_OK ? std::string("certificate verify failed: ") +
                                               X509_verify_cert_error_string(verdict)
                                         : "handshake failure";
  ERR_clear_error();
  finish(fail(CheckResult::Layer::L6, "Layer6 invalid response: SSL " + why));
  return false;
}

ssize_t Check::sendBytes(const char* data, size_t length) {
  if (!ssl_) return ::send(fd_.get(), data, length, MSG_NOSIGNAL);
  ERR_clear_error();
  int n = SSL_write(ssl_.get(), data, static_cast<int>(length));
  if (n > 0) return n;
  int e = SSL_get_error(ssl_.get(), n);
  errno = (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) ? EAGAIN : ECONNRESET;
  ERR_clear_error();
  return -1;
}

ssize_t Check::recvBytes(char* buf, size_t length) {
  if (!ssl_) return ::recv(fd_.get(), buf, length, 0);
  ERR_clear_error();
  int n = SSL_read(ssl_.get(), buf, static_cast<int>(length));
  if (n > 0) return n;
  int e = SSL_get_error(ssl_.get(), n);
  ERR_clear_error();
  if (e == SSL_ERROR_ZERO_RETURN) return 0;
  errno = (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? EAGAIN : ECONNRESET;
  return -1;
}

void Check::advance() {
  using L = CheckResult::Layer;
  bool layer7 = false;
  while (step_ < program_.size()) {
    Step& s = program_[step_];
    if (stepStarted_ != step_) {
      stepStarted_ = step_;
      stepStartUs_ = monotonicUs();
    }
    switch (s.kind) {
      case Kind::Connect: {
        if (connecting_) {
          // Woken because the connect finished (writable): success or SO_ERROR.
          connecting_ = false;
          int err = socketError(fd_.get());
          if (err)
            return finish(
                fail(L::L4, err == ECONNREFUSED
                                ? "Layer4 connection refused"
                                : std::string("Layer4 connection problem: ") + std::strerror(err)));
          if (!connected()) return;
          ++step_;
          continue;
        }
        if (handshaking_) {
          if (!continueHandshake()) return;
          ++step_;
          continue;
        }
        sockaddr_storage ss = target_.address;
        socklen_t ssLength = target_.addressLength;
        if (target_.params.addr) checkAddress(*target_.params.addr, &ss, &ssLength);
        uint16_t port = s.port.value_or(target_.params.port.value_or(0));
        if (port) {
          if (ss.ss_family == AF_INET)
            reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
          else
            reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
        }
        in_.clear();
        inPos_ = 0;
        eof_ = false;
        int err = 0;
        bool connectedNow = false;
        fd_ = connectNonBlocking(ss, ssLength, &err, {}, &connectedNow);
        if (fd_ && connectedNow) {
          if (!connected()) return;
          ++step_;
          continue;
        }
        if (fd_) {
          connecting_ = true;
          return waitFor(EV_WRITE);
        }
        return finish(fail(L::L4, err == ECONNREFUSED ? "Layer4 connection refused"
                                                      : std::string("Layer4 connection problem: ") +
                                                            std::strerror(err)));
      }
      case Kind::Send: {
        layer7 = true;
        if (outSent_ == 0 && out_.empty()) out_ = s.data;
        while (outSent_ < out_.size()) {
          ssize_t n = sendBytes(out_.data() + outSent_, out_.size() - outSent_);
          if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return waitFor(EV_WRITE);
            return finish(
                fail(L::L4, std::string("Layer4 connection problem: ") + std::strerror(errno)));
          }
          outSent_ += static_cast<size_t>(n);
        }
        out_.clear();
        outSent_ = 0;
        ++step_;
        continue;
      }
      case Kind::Expect: {
        layer7 = true;
        size_t found = std::string::npos;
        size_t end = 0;
        std::string_view hay(in_.data() + inPos_, in_.size() - inPos_);
        if (s.match == TcpCheckStep::Match::Rstring) {
          if (s.regex && s.regex->search(hay)) {
            found = inPos_;
            end = in_.size();
          }
        } else {
          size_t at = hay.find(s.data);
          if (at != std::string_view::npos) {
            found = inPos_ + at;
            end = found + s.data.size();
          }
        }
        if (found != std::string::npos) {
          if (s.negate)
            return finish(
                fail(L::L7, "Layer7 response matched forbidden '" + printable(s.data) + "'"));
          inPos_ = end;
          ++step_;
          continue;
        }
        bool lineDone = s.lineMode && in_.find("\r\n", inPos_) != std::string::npos;
        if (!eof_ && !lineDone && in_.size() < kMaxResponse) {
          if (fillInput()) continue;
          if (!eof_) return waitFor(EV_READ);
        }
        if (s.negate) {  // never matched before the end: that is what a negated expect wants
          ++step_;
          continue;
        }
        std::string got = printable(std::string_view(in_).substr(inPos_, 60));
        return finish(fail(L::L7, "Layer7 response did not match '" + printable(s.data) +
                                      "' at step " + std::to_string(step_ + 1) +
                                      (got.empty() ? " (no data)" : ", got '" + got + "'")));
      }
      case Kind::HttpExpect: {
        while (!eof_ && in_.size() < kMaxResponse && !http::responseComplete(in_)) {
          if (!fillInput()) {
            if (!eof_) return waitFor(EV_READ);
          }
        }
        if (in_.empty() && ioError_)
          return finish(
              fail(L::L4, std::string("Layer4 connection problem: ") + std::strerror(ioError_)));
        return finish(evaluateHttpResponse(in_, *target_.config));
      }
      case Kind::MysqlHandshake:
      case Kind::MysqlResult: {
        layer7 = true;
        auto packetLength = [this]() -> size_t {
          return static_cast<size_t>(static_cast<uint8_t>(in_[0])) |
                 static_cast<size_t>(static_cast<uint8_t>(in_[1])) << 8 |
                 static_cast<size_t>(static_cast<uint8_t>(in_[2])) << 16;
        };
        while (in_.size() < 4 || in_.size() < 4 + packetLength()) {
          if (eof_) return finish(fail(L::L7, "Layer7 MySQL: connection closed by server"));
          if (!fillInput() && !eof_) return waitFor(EV_READ);
        }
        size_t len = static_cast<uint8_t>(in_[0]) | static_cast<uint8_t>(in_[1]) << 8 |
                     static_cast<uint8_t>(in_[2]) << 16;
        std::string payload = in_.substr(4, len);
        in_.erase(0, 4 + len);
        if (!payload.empty() && static_cast<uint8_t>(payload[0]) == 0xff) {
          // ERR packet: 0xff, code(2), ['#' sqlstate(5)], message.
          std::string msg = payload.size() > 3 ? payload.substr(3) : "";
          if (!msg.empty() && msg[0] == '#') msg = msg.substr(6);
          return finish(fail(L::L7, "Layer7 MySQL error: " + msg));
        }
        if (s.kind == Kind::MysqlResult && (payload.empty() || payload[0] != 0x00))
          return finish(fail(L::L7,
                             "Layer7 MySQL: unexpected reply to the login (authentication "
                             "plugin switch? the check user needs no password)"));
        ++step_;
        continue;
      }
    }
  }
  finish(CheckResult{true, layer7 ? L::L7 : L::L4,
                     layer7 ? "Layer7 check passed" : "Layer4 check passed", Duration(0)});
}

void Check::finish(CheckResult r) {
  connecting_ = false;
  io_.remove();
  if (ssl_ && !handshaking_) {
    SSL_shutdown(ssl_.get());  // close_notify, best effort
    ERR_clear_error();
  }
  handshaking_ = false;
  ssl_.reset();
  if (fd_ && program_.size() == 1) {
    // A bare connect check (nothing was said): close with a reset, as HAProxy does, instead of
    // a FIN that leaves this end in TIME_WAIT for a minute. Checking many servers every second
    // would otherwise pile up tens of thousands of TIME_WAIT sockets and make every connect()
    // search a crowded ephemeral port range.
    linger abort{1, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
  }
  fd_.reset();
  running_ = false;
  r.duration = Duration(monotonicUs() - startedUs_);
  done_(r);
  scheduleNext();
}

void Check::scheduleNext() {
  Duration base = nextInterval(target_.health->state());
  // ±2.5 % jitter keeps checks of many servers from lining up again over time.
  std::uniform_real_distribution<double> jitter(0.975, 1.025);
  timer_.arm(Duration(static_cast<int64_t>(base.count() * jitter(rng_))));
}

}  // namespace tandem::health
