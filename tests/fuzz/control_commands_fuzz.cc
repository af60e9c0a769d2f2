// libFuzzer target: the three command parsers that read what a local user or the supervisor
// sends — the admin socket's commands (HAProxy's runtime API subset), the control socket's
// request framing and requests (tandem status/reload), and the supervisor -> VRRP agent
// messages. Each must classify any bytes without crashing; a reply must be valid JSON even
// when the line is not UTF-8 (an exception there once let a local user stop the node).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "appliance/supervisor/control_server.h"
#include "proxy/admin_command.h"
#include "vrrp/control_socket.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  tandem::proxy::AdminCommand a = tandem::proxy::parseAdminCommand(text);
  using K = tandem::proxy::AdminCommand::Kind;
  if ((a.kind == K::SetState || a.kind == K::SetWeight) && (a.backend.empty() || a.server.empty()))
    std::abort();
  if (a.kind == K::SetWeight && (a.weight < 0 || a.weight > 256)) std::abort();

  for (bool closed : {false, true}) {
    tandem::appliance::ControlLine line = tandem::appliance::nextControlLine(text, closed);
    if (line.complete && line.tooLong) std::abort();
    if (line.complete) {
      if (line.line.size() > tandem::appliance::kMaxControlLine ||
          line.line.find('\n') != std::string::npos)
        std::abort();
      if (tandem::appliance::parseControlRequest(line.line) ==
          tandem::appliance::ControlRequest::Unknown) {
        auto reply = nlohmann::json::parse(tandem::appliance::unknownControlRequestReply(line.line),
                                           nullptr, false);
        if (reply.is_discarded() || reply.value("ok", true)) std::abort();
      }
    }
  }

  tandem::vrrp::AgentMessage m = tandem::vrrp::parseAgentMessage(text);
  if (m != tandem::vrrp::AgentMessage::Unknown &&
      tandem::vrrp::parseAgentMessage(tandem::vrrp::toString(m)) != m)
    std::abort();
  return 0;
}
