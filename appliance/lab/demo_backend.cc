#include "appliance/lab/demo_backend.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <signal.h>
#include <sys/stat.h>

#include <memory>

#include "common/event.h"
#include "common/logging.h"

namespace tandem::appliance {
namespace {

struct Server {
  std::string name;
  std::string downFile;
};

void handle(evhttp_request* req, void* arg) {
  auto* s = static_cast<Server*>(arg);
  const char* uri = evhttp_request_get_uri(req);
  std::string path = uri ? uri : "/";
  path = path.substr(0, path.find('?'));
  std::unique_ptr<evbuffer, void (*)(evbuffer*)> owned(evbuffer_new(), evbuffer_free);
  evbuffer* out = owned.get();
  int code = 200;
  const char* reason = "OK";
  if (path == "/health") {
    struct stat st;
    if (!s->downFile.empty() && ::stat(s->downFile.c_str(), &st) == 0) {
      code = 503;
      reason = "Service Unavailable";
      evbuffer_add_printf(out, "down\n");
    } else {
      evbuffer_add_printf(out, "ok\n");
    }
  } else {
    char* host = nullptr;
    uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &host, &port);
    evbuffer_add_printf(out, "%s %s\n", s->name.c_str(), host ? host : "?");
  }
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evhttp_add_header(headers, "Content-Type", "text/plain");
  evhttp_add_header(headers, "X-Backend", s->name.c_str());
  evhttp_send_reply(req, code, reason, out);
}

}  // namespace

int runDemoBackend(const std::string& name, uint16_t port, const std::string& downFile) {
  ::signal(SIGPIPE, SIG_IGN);
  auto& log = logging::get(logging::Component::Supervisor);
  EventBasePtr base(event_base_new());
  std::unique_ptr<evhttp, void (*)(evhttp*)> http(evhttp_new(base.get()), evhttp_free);
  Server server{name, downFile};
  evhttp_set_gencb(http.get(), handle, &server);
  evhttp_set_timeout(http.get(), 30);
  if (evhttp_bind_socket(http.get(), "0.0.0.0", port) != 0) {
    log.error("demo backend {}: cannot listen on port {}", name, port);
    return 1;
  }
  auto stop = [b = base.get()](short) { event_base_loopbreak(b); };
  Event term(base.get(), SIGTERM, EV_SIGNAL | EV_PERSIST, stop);
  Event intr(base.get(), SIGINT, EV_SIGNAL | EV_PERSIST, stop);
  term.add();
  intr.add();
  log.info("demo backend {} listening on port {}", name, port);
  event_base_dispatch(base.get());
  return 0;
}

}  // namespace tandem::appliance
