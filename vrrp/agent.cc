#include "vrrp/agent.h"

#include <event2/event.h>
#include <signal.h>

#include <memory>
#include <vector>

#include "common/logging.h"
#include "vrrp/address_manager.h"
#include "vrrp/instance.h"

namespace tandem::vrrp {
namespace {

struct BaseFree {
  void operator()(event_base* b) const { event_base_free(b); }
};
struct EventFree {
  void operator()(event* e) const { event_free(e); }
};

}  // namespace

int runAgent(const Config& config) {
  auto& log = logging::get(logging::Component::Vrrp);
  std::unique_ptr<event_base, BaseFree> base(event_base_new());
  AddressManager addresses;
  if (!addresses.ok()) {
    log.error("cannot open a netlink socket");
    return 1;
  }
  std::vector<std::unique_ptr<VrrpInstance>> instances;
  for (const auto& c : config.instances) {
    instances.push_back(std::make_unique<VrrpInstance>(base.get(), c, addresses));
    std::string error;
    if (!instances.back()->start(&error)) {
      log.error("VRRP_Instance({}) cannot start: {}", c.name, error);
      for (auto& i : instances) i->stop();
      return 1;
    }
  }
  auto stop = [](evutil_socket_t sig, short, void* arg) {
    auto* b = static_cast<event_base*>(arg);
    logging::get(logging::Component::Vrrp).info("received signal {}, leaving", int(sig));
    event_base_loopbreak(b);
  };
  std::unique_ptr<event, EventFree> term(evsignal_new(base.get(), SIGTERM, stop, base.get()));
  std::unique_ptr<event, EventFree> intr(evsignal_new(base.get(), SIGINT, stop, base.get()));
  event_add(term.get(), nullptr);
  event_add(intr.get(), nullptr);
  event_base_dispatch(base.get());
  for (auto& i : instances) i->stop();
  log.info("VRRP agent stopped");
  return 0;
}

}  // namespace tandem::vrrp
