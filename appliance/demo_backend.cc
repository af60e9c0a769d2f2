#include "appliance/demo_backend.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <signal.h>
#include <sys/stat.h>

#include <memory>

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
  evbuffer* out = evbuffer_new();
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
  evbuffer_free(out);
}

}  // namespace

int runDemoBackend(const std::string& name, uint16_t port, const std::string& downFile) {
  ::signal(SIGPIPE, SIG_IGN);
  auto& log = logging::get(logging::Component::Supervisor);
  std::unique_ptr<event_base, void (*)(event_base*)> base(event_base_new(), event_base_free);
  std::unique_ptr<evhttp, void (*)(evhttp*)> http(evhttp_new(base.get()), evhttp_free);
  Server server{name, downFile};
  evhttp_set_gencb(http.get(), handle, &server);
  evhttp_set_timeout(http.get(), 30);
  if (evhttp_bind_socket(http.get(), "0.0.0.0", port) != 0) {
    log.error("demo backend {}: cannot listen on port {}", name, port);
    return 1;
  }
  auto stop = [](evutil_socket_t, short, void* b) {
    event_base_loopbreak(static_cast<event_base*>(b));
  };
  std::unique_ptr<event, void (*)(event*)> term(evsignal_new(base.get(), SIGTERM, stop, base.get()),
                                                event_free);
  std::unique_ptr<event, void (*)(event*)> intr(evsignal_new(base.get(), SIGINT, stop, base.get()),
                                                event_free);
  event_add(term.get(), nullptr);
  event_add(intr.get(), nullptr);
  log.info("demo backend {} listening on port {}", name, port);
  event_base_dispatch(base.get());
  return 0;
}

}  // namespace tandem::appliance
