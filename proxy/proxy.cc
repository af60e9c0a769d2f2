#include "proxy/proxy.h"

#include <signal.h>

#include <memory>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "proxy/admin_socket.h"
#include "proxy/fd_budget.h"
#include "proxy/runtime.h"
#include "proxy/worker.h"

namespace tandem::proxy {

int runProxy(const Config& fileConfig, std::unique_ptr<MasterChannel> master,
             const BeforeServing& beforeServing) {
  auto& log = logging::get(logging::Component::Proxy);
  ::signal(SIGPIPE, SIG_IGN);

  Config config = fileConfig;
  FdBudget fds = fitFdLimit(config);
  if (!fds.ok) {
    log.error("cannot start: {}", fds.error);
    return 1;
  }
  if (!fds.info.empty()) log.info("{}", fds.info);
  if (!fds.warning.empty()) log.warn("{}", fds.warning);

  std::string error;
  std::unique_ptr<Runtime> runtime = Runtime::build(config, &error);
  if (!runtime) {
    log.error("cannot start: {}", error);
    return 1;
  }

  if (master && !master->receiveHandover(std::chrono::seconds(10), &error)) {
    log.error("cannot start: {}", error);
    return 1;
  }
  int threads = workerThreads(config);
  // Block the stop signals in every thread; this one waits for them with sigwait.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < threads; ++i) {
    workers.push_back(std::make_unique<Worker>(*runtime, i));
    if (!workers.back()->openListeners(&error, master.get())) {
      log.error("cannot start: {}", error);
      return 1;
    }
  }
  std::vector<Worker*> peers;
  for (auto& w : workers) peers.push_back(w.get());
  for (auto& w : workers) w->setPeers(peers);
  health::HealthMonitor::StateHook onState;
  if (master) onState = [m = master.get()](const health::SavedServerState& s) { m->sendState(s); };
  // Unchecked servers keep the state an admin gave them across a reload or a crash, as checked
  // ones do, and report it the same way.
  if (master) {
    for (const auto& st : master->savedStates()) {
      ServerRuntime* sr = runtime->findServer(st.backend, st.server);
      if (!sr || sr->config->check.enabled) continue;
      setUncheckedServerState(*runtime, *sr, st.backend, st.server,
                              st.adminFor(configuredAdmin(*sr->config)),
                              "carried over from the previous worker");
    }
    runtime->setUncheckedStateHook(onState);
    runtime->setTransitionHook([m = master.get()](const std::string& backend,
                                                  const std::string& server,
                                                  const health::Transition& t) {
      m->sendTransition({backend, server, std::string(health::toString(t.from)),
                         std::string(health::toString(t.to)), t.reason});
    });
  }
  for (auto& w : workers)
    w->startHealthChecks(
        threads, master ? master->savedStates() : std::vector<health::SavedServerState>{}, onState);
  // The runtime API lives on worker 0's loop; created before the threads start.
  std::unique_ptr<AdminSocket> admin;
  if (config.adminSocket) {
    std::string adminError;
    admin = std::make_unique<AdminSocket>(*workers[0], peers, *runtime, *config.adminSocket,
                                          &adminError);
    if (!admin->ok()) {
      log.error("cannot start: {}", adminError);
      return 1;
    }
  }
  if (master) {
    std::vector<health::SavedServerState> states;
    for (auto& w : workers)
      if (auto* hm = w->healthMonitor())
        for (auto& st : hm->save()) states.push_back(std::move(st));
    for (auto& be : runtime->backends())
      for (auto& s : be->servers)
        if (!s->config->check.enabled)
          states.push_back(Runtime::uncheckedState(be->config->name, *s));
    master->sendStates(states);
  }
  if (beforeServing && !beforeServing(&error)) {
    log.error("cannot start: {}", error);
    return 1;
  }
  if (master)
    master->startReading(workers[0]->base(), [rt = runtime.get()](NodeStatus node) {
      rt->setNodeStatus(std::move(node));
    });
  for (auto& w : workers) w->startThread();
  if (master) master->sendReady();
  size_t binds = 0;
  for (const auto& fe : config.frontends) binds += fe.binds.size();
  log.info("proxy started: {} frontend(s), {} bind(s), {} backend(s), {} thread(s)",
           config.frontends.size(), binds, config.backends.size(), threads);

  int sig = 0;
  sigwait(&stopSignals, &sig);
  bool reload = sig == SIGUSR1;
  if (reload) {
    // Stop accepting on every thread first, then say so: the supervisor answers `tandem
    // reload` only then, so the next connection meets the new configuration.
    for (auto& w : workers) w->runOnLoop([wp = w.get()] { wp->closeListeners(); });
    if (master) master->sendUnbound();
  }
  log.info("received {}, {}: finishing in-flight requests (at most {})", strsignal(sig),
           reload ? "handing over to a new worker" : "stopping",
           formatDuration(config.gracePeriod));
  for (auto& w : workers) w->requestStop(config.gracePeriod, !reload);
  for (auto& w : workers) w->join();
  if (master) master->stopReading();  // worker 0's loop ended; it goes with the workers
  admin.reset();
  log.info("proxy stopped");
  return 0;
}

}  // namespace tandem::proxy
