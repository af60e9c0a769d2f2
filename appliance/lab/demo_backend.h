// `tandem lab serve`: the lab's demo backend, a tiny HTTP server (libevent's evhttp). Every
// answer names the backend and the address the request came from — in the lab that is the
// proxy node that forwarded it, which is how a drill counts requests served per node.
//   GET /        200 "NAME PEER\n"
//   GET /health  200 "ok" (503 while the file DIR/NAME.down exists, to fail a backend by hand)
#pragma once

#include <cstdint>
#include <string>

namespace tandem::appliance {

int runDemoBackend(const std::string& name, uint16_t port, const std::string& downFile);

}  // namespace tandem::appliance
