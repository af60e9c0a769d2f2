#include "proxy/access_log_writer.h"

#include <systemd/sd-journal.h>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <vector>

#include <cstddef>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/address.h"
#include "common/logging.h"

namespace tandem::proxy {

namespace {

UniqueFd openLogFile(const std::string& path, std::string* error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    *error = "access log " + path + ": " + std::strerror(errno);
    return UniqueFd();
  }
  return UniqueFd(fd);
}

int64_t monotonicUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The writer wakes this often to write what piled up (a line waits at most this long), or at
// once when a worker sees the buffer a quarter full.
constexpr auto kFlushInterval = std::chrono::milliseconds(50);
constexpr size_t kWakeAtBytes = AccessLogWriter::kMaxQueuedBytes / 4;

// A datagram socket connected to the syslog target ("udp:HOST:PORT" or "unix:/PATH").
UniqueFd connectSyslog(const std::string& target, std::string* error) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (target.rfind("unix:", 0) == 0) {
    std::string path = target.substr(5);
    auto* un = reinterpret_cast<sockaddr_un*>(&ss);
    if (path.size() >= sizeof(un->sun_path)) {
      *error = "access log " + target + ": socket path too long";
      return UniqueFd();
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.c_str(), path.size() + 1);
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  } else {
    std::string parseError;
    auto ep = Endpoint::parse(target.substr(4), true, &parseError);
    if (!ep || !ep->toSockaddr(&ss, &len)) {
      *error = "access log " + target + ": expected udp:ADDRESS:PORT with a literal address" +
               (parseError.empty() ? "" : " (" + parseError + ")");
      return UniqueFd();
    }
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    *error = "access log " + target + ": " + std::strerror(errno);
    return UniqueFd();
  }
  return fd;
}

}  // namespace

std::unique_ptr<AccessLogWriter> AccessLogWriter::open(const AccessLog& log, std::string* error) {
  UniqueFd fd;
  Kind kind = Kind::Stderr;
  if (log.target == "journal") {
    kind = Kind::Journal;
  } else if (log.target.rfind("udp:", 0) == 0 || log.target.rfind("unix:", 0) == 0) {
    kind = Kind::Syslog;
    fd = connectSyslog(log.target, error);
    if (!fd) return nullptr;
  } else if (log.target != "stderr") {
    kind = Kind::File;
    fd = openLogFile(log.target, error);
    if (!fd) return nullptr;
  }
  return std::unique_ptr<AccessLogWriter>(new AccessLogWriter(log, kind, std::move(fd)));
}

AccessLogWriter::AccessLogWriter(const AccessLog& log, Kind kind, UniqueFd fd)
    : target_(log.target), kind_(kind), fd_(std::move(fd)), config_(log), pid_(::getpid()) {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) == 0) hostname_ = host;
  if (hostname_.empty()) hostname_ = "-";
  thread_ = std::thread([this] { run(); });
}

AccessLogWriter::~AccessLogWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void AccessLogWriter::submit(std::string_view line, std::string_view fields) {
  bool wake = false;
  bool withFields = kind_ == Kind::Journal;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() + line.size() + 1 + (withFields ? fields.size() + 1 : 0) > kMaxQueuedBytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (withFields) {  // the entry's fields after a unit separator (journalFields() format)
      for (char c : line) queue_.push_back(c == kFieldsStart || c == kFieldSeparator ? ' ' : c);
      queue_.push_back(kFieldsStart);
      queue_.append(fields);
    } else {
      queue_.append(line);
    }
    queue_.push_back('\n');
    ++queuedLines_;
    ++submitted_;
    wake = queue_.size() >= kWakeAtBytes;
  }
  if (wake) wake_.notify_one();
}

void AccessLogWriter::flush() {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t until = submitted_;
  flushWanted_ = true;
  wake_.notify_one();
  drained_.wait(lock, [&] { return done_ >= until; });
}

void AccessLogWriter::run() {
  std::string batch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    // Lines pile up between wake-ups and go out in one write: a busy proxy writes a batch, not a
    // line at a time.
    wake_.wait_for(lock, kFlushInterval,
                   [&] { return stopping_ || flushWanted_ || queue_.size() >= kWakeAtBytes; });
    flushWanted_ = false;
    batch.swap(queue_);
    uint64_t lines = queuedLines_;
    queuedLines_ = 0;
    bool stop = stopping_;
    lock.unlock();
    if (!batch.empty()) writeBatch(batch, lines);
    batch.clear();
    reopenIfRotated();
    uint64_t dropped = dropped_.load(std::memory_order_relaxed);
    if (dropped != droppedReported_) {
      logging::get(logging::Component::Proxy)
          .warn("access log {}: {} line(s) dropped, the target is slower than the traffic", target_,
                dropped - droppedReported_);
      droppedReported_ = dropped;
    }
    lock.lock();
    done_ += lines;
    drained_.notify_all();
    if (stop && queue_.empty()) return;
  }
}

void AccessLogWriter::writeBatch(const std::string& batch, uint64_t lines) {
  if (kind_ == Kind::Syslog) return sendDatagrams(batch);
  if (kind_ == Kind::Journal) return sendJournal(batch);
  int fd = kind_ == Kind::File ? fd_.get() : STDERR_FILENO;
  size_t off = 0;
  while (off < batch.size()) {
    ssize_t n = ::write(fd, batch.data() + off, batch.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // The target failed (disk full, a closed stderr): what is left of the batch is lost.
      uint64_t lost = 0;
      for (size_t i = off; i < batch.size(); ++i) lost += batch[i] == '\n';
      dropped_.fetch_add(lost, std::memory_order_relaxed);
      written_.fetch_add(lines - lost, std::memory_order_relaxed);
      return;
    }
    off += static_cast<size_t>(n);
  }
  written_.fetch_add(lines, std::memory_order_relaxed);
}

std::string AccessLogWriter::syslogHeader() {
  // The priority: facility and severity "info" (6), as HAProxy logs requests.
  int pri = config_.facility | 6;
  auto wall = std::chrono::system_clock::now();
  time_t secs = std::chrono::system_clock::to_time_t(wall);
  tm t{};
  localtime_r(&secs, &t);
  char date[64];
  if (config_.syslogFormat == AccessLog::SyslogFormat::Rfc5424) {
    // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG (RFC 5424 section 6)
    long us = static_cast<long>(
        std::chrono::duration_cast<std::chrono::microseconds>(wall.time_since_epoch()).count() %
        1000000);
    char zone[8];
    strftime(zone, sizeof zone, "%z", &t);  // +0100: RFC 3339 wants +01:00
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &t);
    return fmt::format("<{}>1 {}.{:06}{}{}:{} {} {} {} - - ", pri, date, us,
                       std::string_view(zone, 1), std::string_view(zone + 1, 2),
                       std::string_view(zone + 3, 2), hostname_, config_.tag, pid_);
  }
  // <PRI>Mmm dd hh:mm:ss TAG[PID]: MSG (RFC 3164 section 4.1, as syslog(3) sends it)
  strftime(date, sizeof date, "%b %e %H:%M:%S", &t);
  return fmt::format("<{}>{} {}[{}]: ", pri, date, config_.tag, pid_);
}

void AccessLogWriter::sendDatagrams(const std::string& batch) {
  if (disconnected_) reconnect();
  std::string header = syslogHeader();  // one timestamp per batch (at most 50 ms late)
  std::string datagram;
  size_t start = 0;
  uint64_t sent = 0, lost = 0;
  while (start < batch.size()) {
    size_t end = batch.find('\n', start);
    datagram.assign(header).append(batch, start, end - start);
    start = end + 1;
    if (!disconnected_ && ::send(fd_.get(), datagram.data(), datagram.size(), MSG_DONTWAIT) >= 0) {
      ++sent;
      continue;
    }
    // A full socket buffer (EAGAIN, ENOBUFS) loses this line; a syslog daemon that went away
    // (ECONNREFUSED: nothing bound there now) loses the rest until it is back.
    if (!disconnected_ && (errno == ECONNREFUSED || errno == ENOENT || errno == ENOTCONN))
      disconnected_ = true;
    ++lost;
  }
  written_.fetch_add(sent, std::memory_order_relaxed);
  dropped_.fetch_add(lost, std::memory_order_relaxed);
}

void AccessLogWriter::sendJournal(const std::string& batch) {
  // The native journal protocol through libsystemd: one entry per line, its fields as they
  // were recorded. journald that is not running loses the lines (counted), as a dead syslog.
  std::string priority = "PRIORITY=6";  // info, as HAProxy logs requests
  std::string identifier = "SYSLOG_IDENTIFIER=" + config_.tag;
  std::string facility = "SYSLOG_FACILITY=" + std::to_string(config_.facility >> 3);
  std::string message;
  std::vector<iovec> iov;
  uint64_t sent = 0, lost = 0;
  size_t start = 0;
  while (start < batch.size()) {
    size_t end = batch.find('\n', start);
    std::string_view entry(batch.data() + start, end - start);
    start = end + 1;
    size_t mark = entry.find(kFieldsStart);
    message.assign("MESSAGE=").append(entry.substr(0, mark));
    iov.clear();
    for (const std::string* f : {&message, &priority, &identifier, &facility})
      iov.push_back({const_cast<char*>(f->data()), f->size()});
    if (mark != std::string_view::npos) {
      std::string_view fields = entry.substr(mark + 1);
      while (!fields.empty()) {
        size_t sep = fields.find(kFieldSeparator);
        std::string_view f = fields.substr(0, sep);
        if (!f.empty()) iov.push_back({const_cast<char*>(f.data()), f.size()});
        fields = sep == std::string_view::npos ? std::string_view() : fields.substr(sep + 1);
      }
    }
    if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0)
      ++sent;
    else
      ++lost;
  }
  written_.fetch_add(sent, std::memory_order_relaxed);
  dropped_.fetch_add(lost, std::memory_order_relaxed);
}

void AccessLogWriter::reconnect() {
  int64_t now = monotonicUs();
  if (now - lastRotationCheckUs_ < 1000000) return;
  lastRotationCheckUs_ = now;
  std::string error;
  if (UniqueFd fd = connectSyslog(target_, &error)) {
    fd_ = std::move(fd);
    disconnected_ = false;
  }
}

void AccessLogWriter::reopenIfRotated() {
  if (kind_ != Kind::File) return;
  int64_t now = monotonicUs();
  if (now - lastRotationCheckUs_ < 1000000) return;
  lastRotationCheckUs_ = now;
  struct stat onDisk {};
  struct stat ours {};
  bool same = ::stat(target_.c_str(), &onDisk) == 0 && ::fstat(fd_.get(), &ours) == 0 &&
              onDisk.st_ino == ours.st_ino && onDisk.st_dev == ours.st_dev;
  if (same) return;
  std::string error;
  if (UniqueFd fd = openLogFile(target_, &error))
    fd_ = std::move(fd);
  else
    logging::get(logging::Component::Proxy).warn("{}", error);
}

}  // namespace tandem::proxy
