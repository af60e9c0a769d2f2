#include "common/http_response.h"

#include <gtest/gtest.h>

namespace tandem::http {
namespace {

TEST(HttpResponse, StatusOnlyFromAnHttp1StatusLine) {
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\n"), 200);
  EXPECT_EQ(responseStatus("HTTP/1.0 503 Service Unavailable\r\n"), 503);
  EXPECT_EQ(responseStatus("HTTP/1.1 20"), std::nullopt);  // not all there yet
  EXPECT_EQ(responseStatus("HTTP/2 200 OK\r\n\r\n"), std::nullopt);
  EXPECT_EQ(responseStatus("HTTP/1.1 2x0 OK\r\n"), std::nullopt);
  EXPECT_EQ(responseStatus("HTTP/1.1 999 No\r\n"), std::nullopt);
  EXPECT_EQ(responseStatus("SSH-2.0-OpenSSH_9.2\r\n"), std::nullopt);
}

TEST(HttpResponse, CompleteByContentLengthChunksOrABodilessStatus) {
  EXPECT_FALSE(responseComplete("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"));
  EXPECT_FALSE(responseComplete("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc"));
  EXPECT_TRUE(responseComplete("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nabcde"));
  EXPECT_FALSE(
      responseComplete("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"));
  EXPECT_TRUE(responseComplete(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
  EXPECT_TRUE(responseComplete("HTTP/1.1 204 No Content\r\n\r\n"));
  EXPECT_TRUE(responseComplete("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"));
  EXPECT_FALSE(responseComplete("HTTP/1.0 200 OK\r\n\r\nuntil the close"));
}

TEST(HttpResponse, BodyIsDechunked) {
  EXPECT_EQ(responseBody("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"), "abc");
  EXPECT_EQ(responseBody("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
            "abcde");
  EXPECT_EQ(responseBody("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"), "");
}

}  // namespace
}  // namespace tandem::http
