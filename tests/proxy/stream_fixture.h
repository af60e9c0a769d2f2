// A worker with one frontend ("fe") and one backend ("web": servers s1 and s2) on fake
// connections and a manual clock, for the stream tests. Tests edit `config` before start().
#pragma once

#include <gtest/gtest.h>

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "proxy/http_stream.h"
#include "proxy/tcp_stream.h"
#include "tests/proxy/fake_network.h"

namespace tandem::proxy::testing {

using namespace std::chrono_literals;

inline Server server(const std::string& name, const std::string& address) {
  Server s;
  s.name = name;
  std::string error;
  s.address = *Endpoint::parse(address, true, &error);
  return s;
}

// A plain GET and a small response to it.
inline constexpr const char* kGet = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
inline constexpr const char* kOk = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

class StreamTest : public ::testing::Test {
 protected:
  // Frontend "fe" to backend "web" with servers s1 and s2 (never dialled: connections are fake).
  StreamTest() {
    Frontend fe;
    fe.name = "fe";
    fe.defaultBackend = "web";
    fe.timeouts.httpRequest = 10s;
    fe.timeouts.keepAlive = 2s;
    fe.timeouts.client = 30s;
    config.frontends.push_back(fe);
    Backend be;
    be.name = "web";
    be.servers.push_back(server("s1", "198.18.0.1:80"));
    be.servers.push_back(server("s2", "198.18.0.2:80"));
    be.timeouts.connect = 3s;
    be.timeouts.server = 20s;
    be.timeouts.queue = 4s;
    config.backends.push_back(be);
  }
  Backend& web() { return config.backends[0]; }

  // Builds the runtime and a worker on the manual clock and the fake network.
  void start() {
    std::string error;
    runtime = Runtime::build(config, &error);
    ASSERT_TRUE(runtime) << error;
    worker = std::make_unique<Worker>(*runtime, 0);
    worker->setPeers({worker.get()});
    auto manual = std::make_unique<ManualClock>();
    clock = manual.get();
    worker->setTimeSource(std::move(manual));
    net.attach(*worker);
  }
  // A client connects (and its session starts): HTTP or TCP as the frontend's mode says.
  FakePeerPtr connect() {
    auto [peer, transport] = net.client();
    FrontendRuntime& fe = *runtime->frontends()[0];
    if (fe.config->mode == Mode::Http)
      worker->adopt(std::make_unique<HttpStream>(*worker, fe, std::move(transport), clientAddress,
                                                 clientPort));
    else
      worker->adopt(std::make_unique<TcpStream>(*worker, fe, std::move(transport), clientAddress,
                                                clientPort));
    pump();
    return peer;
  }
  void send(const FakePeerPtr& peer, const std::string& bytes) {
    peer->toProxy += bytes;
    pump();
  }
  void pump() { ASSERT_TRUE(net.pump(worker->base())) << "the proxy did not settle"; }
  void advance(Duration d) {
    clock->advance(d);
    pump();
  }
  // The n-th server connection's peer.
  FakePeerPtr serverPeer(size_t n) {
    EXPECT_LT(n, net.servers.size());
    return n < net.servers.size() ? net.servers[n].peer : std::make_shared<FakePeer>();
  }

  // The backend "web" answers every request with `status` from an http_request deny rule.
  void denyInBackend(int status) {
    HttpRequestRule deny;
    deny.action = HttpRequestRule::Action::Deny;
    deny.status = status;
    web().httpRequest.push_back(deny);
  }

  // Access log lines go to a temporary file, read back by logLines() (dates in UTC).
  void logTo(AccessLog::Format format) {
    char path[] = "/tmp/tandem-access-log-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    logPath_ = path;
    config.frontends[0].log.format = format;
    config.frontends[0].log.target = logPath_;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  std::vector<std::string> logLines() {
    runtime->frontends()[0]->accessLog->flush();
    std::vector<std::string> lines;
    std::ifstream in(logPath_);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  void TearDown() override {
    // The writer goes first: it would re-create a log file removed under it (logrotate).
    worker.reset();
    runtime.reset();
    if (!logPath_.empty()) ::unlink(logPath_.c_str());
  }

  Config config;
  std::string logPath_;
  FakeNetwork net;  // outlives the worker: its connections point here
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<Worker> worker;
  ManualClock* clock = nullptr;
  IpAddress clientAddress = *IpAddress::parse("198.18.0.9");
  uint16_t clientPort = 41234;
};

}  // namespace tandem::proxy::testing
