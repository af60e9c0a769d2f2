// The supervisor's control socket (unix stream, mode 0660 by default): one request line per
// connection ("status", "reload"), one JSON document back, then close. A reply may come later
// (a reload answers once the new worker serves), so handlers get a Reply to call when done.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>

#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "common/fd.h"

namespace tandem::appliance {

class ControlServer {
 public:
  using Reply = std::function<void(const std::string& json)>;
  using Handler = std::function<void(const std::string& request, Reply reply)>;

  ControlServer(event_base* base, const std::string& path, unsigned mode, Handler handler,
                std::string* error);
  ~ControlServer();
  bool ok() const { return fd_.valid(); }

 private:
  struct Client;
  static void onAccept(evutil_socket_t, short, void* arg);
  static void onClient(evutil_socket_t, short what, void* arg);
  void drop(Client* c);

  event_base* base_;
  std::string path_;
  Handler handler_;
  UniqueFd fd_;
  struct event ev_;
  std::list<std::shared_ptr<Client>> clients_;
};

// Client side (`tandem status`, `tandem reload`): sends `request`, returns the reply, or
// nullopt with *error.
std::optional<std::string> controlRequest(const std::string& path, const std::string& request,
                                          int timeoutMs, std::string* error);

}  // namespace tandem::appliance
