// The supervisor's control socket (unix stream, mode 0660 by default): one request line per
// connection ("status", "reload"), one JSON document back, then close. A reply may come later
// (a reload answers once the new worker serves), so handlers get a Reply to call when done.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/event.h"
#include "common/fd.h"

namespace tandem::appliance {

// The longest request line a client may send before it is dropped.
inline constexpr size_t kMaxControlLine = 4096;

// One request line out of what a client sent so far: complete at '\n' (a '\r' before it is
// dropped), or at the end when the client closed; tooLong past kMaxControlLine without one.
struct ControlLine {
  bool complete = false;
  bool tooLong = false;
  std::string line;
};
ControlLine nextControlLine(std::string_view received, bool closed);

// The requests the control socket understands.
enum class ControlRequest { Status, Reload, Unknown };
ControlRequest parseControlRequest(std::string_view line);

// The JSON answer to a line that is not a request; never throws, whatever bytes the line holds
// (what is not UTF-8 is replaced).
std::string unknownControlRequestReply(std::string_view line);

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
  void onAccept();
  void onClient(Client* c, short what);
  void drop(Client* c);

  event_base* base_;
  std::string path_;
  Handler handler_;
  UniqueFd fd_;
  Event ev_;  // after fd_: leaves the loop before the socket closes
  std::list<std::shared_ptr<Client>> clients_;
};

// Client side (`tandem status`, `tandem reload`): sends `request`, returns the reply, or
// nullopt with *error.
std::optional<std::string> controlRequest(const std::string& path, const std::string& request,
                                          int timeoutMs, std::string* error);

}  // namespace tandem::appliance
