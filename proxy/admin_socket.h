// The runtime API on a unix socket, HAProxy's stats-socket commands an operator already types:
//   show servers state
//   disable server BACKEND/SERVER        (MAINT)     enable server BACKEND/SERVER  (READY)
//   set server BACKEND/SERVER state ready|drain|maint
//   set server BACKEND/SERVER weight N
// One command per connection (`echo "..." | socat stdio /run/tandem/admin.sock`), answered and
// closed. Changes go through the health monitor that owns the server (the one writer of state).
#pragma once

#include <sys/stat.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/event.h"
#include "common/fd.h"
#include "proxy/config.h"
#include "proxy/runtime.h"

namespace tandem::proxy {

class Worker;

class AdminSocket {
 public:
  // Listens on `config.path` from `home`'s loop; commands may act on any of `workers`.
  AdminSocket(Worker& home, std::vector<Worker*> workers, Runtime& runtime,
              const AdminSocketConfig& config, std::string* error);
  ~AdminSocket();
  bool ok() const { return fd_.valid(); }

  // Executes one command line; returns the reply text. Public for tests.
  // One command: its first line, and the payload of a multi-line one ("<<").
  std::string execute(const std::string& line, const std::string& payload = {});

 private:
  struct Client;
  void onAccept();
  void onClientReadable(Client* c, short what);
  void onClientWritable(Client* c, short what);
  void closeClient(Client* c);
  std::string setOcspResponse(const std::string& base64);
  std::string stageCertificate(const std::string& file, const std::string& pem);
  std::string commitCertificate(const std::string& file);
  std::string setState(const std::string& backend, const std::string& server,
                       const std::string& state);
  std::string setWeight(const std::string& backend, const std::string& server, int weight);
  std::string showServers();
  ServerRuntime* find(const std::string& backend, const std::string& server,
                      BackendRuntime** be = nullptr);

  Worker& home_;
  std::vector<Worker*> workers_;
  Runtime& runtime_;
  std::string path_;
  dev_t boundDev_ = 0;  // the socket file this worker bound (see the destructor)
  ino_t boundIno_ = 0;
  UniqueFd fd_;
  Event ev_;
  std::vector<std::unique_ptr<Client>> clients_;
  // `set ssl cert` transactions waiting for their commit, by certificate file.
  std::map<std::string, std::unique_ptr<CertificateMaterial>> staged_;
};

}  // namespace tandem::proxy
