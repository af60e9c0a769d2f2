#include "appliance/supervisor/control_server.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "vrrp/control_socket.h"

namespace tandem::appliance {
namespace {

TEST(ControlLine, FramingAndLimits) {
  EXPECT_FALSE(nextControlLine("stat", false).complete);
  ControlLine eof = nextControlLine("status", true);  // `echo -n status | socat` closes
  EXPECT_TRUE(eof.complete);
  EXPECT_EQ(eof.line, "status");
  EXPECT_EQ(nextControlLine("reload\r\nignored", false).line, "reload");
  EXPECT_TRUE(nextControlLine(std::string(kMaxControlLine + 1, 'x'), false).tooLong);
  EXPECT_TRUE(nextControlLine(std::string(kMaxControlLine + 1, 'x') + "\n", false).tooLong);
  EXPECT_FALSE(nextControlLine(std::string(kMaxControlLine, 'x'), false).tooLong);
}

TEST(ControlRequest, KnownRequestsAndAJsonAnswerForAnythingElse) {
  EXPECT_EQ(parseControlRequest("status"), ControlRequest::Status);
  EXPECT_EQ(parseControlRequest("reload"), ControlRequest::Reload);
  EXPECT_EQ(parseControlRequest("status "), ControlRequest::Unknown);
  auto j =
      nlohmann::json::parse(unknownControlRequestReply("st\xff\xfe"
                                                       "atus"));
  EXPECT_FALSE(j["ok"].get<bool>());
  EXPECT_NE(j["error"].get<std::string>().find("unknown request"), std::string::npos);
}

TEST(AgentMessage, DefinedOnceForBothEnds) {
  using vrrp::AgentMessage;
  for (AgentMessage m : {AgentMessage::Reload, AgentMessage::ProxyUp, AgentMessage::ProxyDown,
                         AgentMessage::BackendsUp, AgentMessage::BackendsDown})
    EXPECT_EQ(vrrp::parseAgentMessage(std::string(vrrp::toString(m)) + "\n"), m);
  EXPECT_EQ(vrrp::parseAgentMessage("proxy sideways"), AgentMessage::Unknown);
}

}  // namespace
}  // namespace tandem::appliance
