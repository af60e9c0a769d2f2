// Where access log lines go, written by a thread of their own: a worker hands a line over and
// goes on. A target slower than the traffic fills a bounded buffer, and past it lines are dropped
// and counted — logging never stalls a request (HAProxy drops in its rings the same way).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/fd.h"
#include "proxy/config.h"

namespace tandem::proxy {

class AccessLogWriter {
 public:
  // `log.target`: "stderr"; an absolute file path (appended to; created 0640 when missing: a
  // file renamed or removed by logrotate is reopened within a second, and one truncated in
  // place by copytruncate goes on at its new end, O_APPEND); or a syslog server, "udp:HOST:PORT"
  // or "unix:/PATH" (/dev/log), one datagram per line with an RFC 3164 or RFC 5424 header. A
  // datagram the socket cannot take now is dropped and counted; a syslog daemon that restarts
  // (its socket refused) is reconnected within a second. "journal": one journal entry per line
  // (MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, SYSLOG_FACILITY and the line's own TANDEM_* fields).
  static std::unique_ptr<AccessLogWriter> open(const AccessLog& log, std::string* error);
  ~AccessLogWriter();  // writes what is queued, then stops
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // Thread-safe, never waits on the target: one line, without its newline. `fields`: the
  // structured fields of the journal target (journalFields()), ignored by the others.
  void submit(std::string_view line, std::string_view fields = {});
  // Whether submit() wants the structured fields (the journal target).
  bool structured() const { return kind_ == Kind::Journal; }
  // Waits until every line submitted so far is written (tests, shutdown).
  void flush();

  const std::string& target() const { return target_; }
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

  // How a journal entry's fields travel with its line in the queue: LINE US FIELD RS FIELD ...
  static constexpr char kFieldsStart = '\x1f';
  static constexpr char kFieldSeparator = '\x1e';

  // Bytes waiting for the thread before lines are dropped.
  static constexpr size_t kMaxQueuedBytes = 4u << 20;

 private:
  enum class Kind { Stderr, File, Syslog, Journal };
  AccessLogWriter(const AccessLog& log, Kind kind, UniqueFd fd);
  void run();
  void writeBatch(const std::string& batch, uint64_t lines);
  void sendDatagrams(const std::string& batch);
  void sendJournal(const std::string& batch);
  std::string syslogHeader();
  void reopenIfRotated();
  void reconnect();

  std::string target_;
  Kind kind_;
  UniqueFd fd_;  // a file's or a syslog socket; stderr is not owned
  AccessLog config_;
  std::string hostname_;
  int pid_ = 0;
  bool disconnected_ = false;  // a syslog socket refused: reconnect on the next check
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::string queue_;  // lines, each ending in '\n'
  uint64_t queuedLines_ = 0;
  uint64_t submitted_ = 0;  // lines taken into the queue, ever
  uint64_t done_ = 0;       // lines written or lost at the target, ever
  bool stopping_ = false;
  bool flushWanted_ = false;
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> dropped_{0};
  int64_t lastRotationCheckUs_ = 0;
  uint64_t droppedReported_ = 0;
  std::thread thread_;
};

}  // namespace tandem::proxy
