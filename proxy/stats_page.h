// The proxy's built-in pages, each on its own listener and served from the live counters:
//   - `stats:`      HAProxy's stats page: HTML (auto-refreshing), `URI;csv` and `URI;json`,
//                   behind HTTP basic auth when `auth` users are configured; for clients in
//                   `admin_allowed_from` (HAProxy's `stats admin if ...`), buttons that set a
//                   server ready, drain or maint (POST URI?b=BACKEND&s=SERVER&action=STATE);
//   - `prometheus:` a Prometheus exporter (text format 0.0.4).
// They run as frontends of their own (Frontend::builtin), so they get the same parser, limits
// and timeouts as every other HTTP frontend.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.h"
#include "health/server_tracker.h"
#include "proxy/config.h"

namespace tandem::proxy {

class Runtime;

// The frontends the `stats` and `prometheus` sections add (empty when neither is set).
std::vector<Frontend> builtinFrontends(const Config& config);

struct BuiltinRequest {
  std::string_view method;
  std::string_view target;
  std::string_view authorization;  // the Authorization header's value, if any
  IpAddress client;
  // Where a browser says the request comes from (empty when absent): admin actions must come
  // from the page itself, never from a form another site makes the browser post.
  std::string_view host;
  std::string_view origin;
  std::string_view referer;
  std::string_view secFetchSite;
  // A POST's form body (application/x-www-form-urlencoded, HAProxy's `curl -d
  // "s=srv&action=drain&b=be"`); at most kBuiltinBodyLimit bytes.
  std::string_view body;
  // Sets a server's administrative state (the stats page's admin buttons); false when there
  // is no such server.
  std::function<bool(const std::string& backend, const std::string& server, health::AdminState)>
      setState;
};

// The largest form body a built-in frontend reads (an admin action is a few dozen bytes).
inline constexpr size_t kBuiltinBodyLimit = 4096;

// The answer to a built-in frontend's request whose body it will not read: 411 for a chunked
// body, 413 for one over kBuiltinBodyLimit.
std::string builtinBodyRefused(bool chunked);

// A complete HTTP/1.1 response (Connection: close) for one request to a built-in frontend.
std::string builtinResponse(Runtime& runtime, const Frontend& frontend,
                            const BuiltinRequest& request);

}  // namespace tandem::proxy
