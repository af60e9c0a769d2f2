#include "proxy/fd_budget.h"

#include <sys/resource.h>

#include <algorithm>

namespace tandem::proxy {

namespace {

constexpr uint64_t kMargin = 100;

uint64_t fixedFds(const Config& c) {
  uint64_t fds = kMargin;
  for (const auto& fe : c.frontends) fds += fe.binds.size();
  for (const auto& be : c.backends)
    for (const auto& s : be.servers)
      if (s.check.enabled) ++fds;
  return fds;
}

}  // namespace

uint64_t fdsNeeded(const Config& config, uint32_t maxconn) {
  return fixedFds(config) + 2ull * maxconn;
}

FdBudget fitFdLimit(Config& config) {
  FdBudget out;
  uint64_t need = fdsNeeded(config, config.maxconn);
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  uint64_t before = lim.rlim_cur;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need) {
    // The hard limit too where privileged (CAP_SYS_RESOURCE); else the soft one up to it.
    rlimit raised{need, std::max<rlim_t>(need, lim.rlim_max)};
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0 && lim.rlim_max != RLIM_INFINITY) {
      raised = {std::min<rlim_t>(need, lim.rlim_max), lim.rlim_max};
      ::setrlimit(RLIMIT_NOFILE, &raised);
    }
    ::getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur > before)
      out.info = "raised the open-file limit from " + std::to_string(before) + " to " +
                 std::to_string(lim.rlim_cur) + " for maxconn " + std::to_string(config.maxconn);
  }
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= need) return out;
  uint64_t fixed = fixedFds(config);
  uint64_t fits = lim.rlim_cur > fixed ? (lim.rlim_cur - fixed) / 2 : 0;
  std::string numbers = "global.maxconn " + std::to_string(config.maxconn) + " needs " +
                        std::to_string(need) + " open files (2 per connection + " +
                        std::to_string(fixed) + "), but the limit is " +
                        std::to_string(lim.rlim_cur) + " and cannot be raised (hard limit " +
                        std::to_string(lim.rlim_max) + ")";
  if (config.maxconnSet || fits == 0) {
    out.ok = false;
    out.error = numbers + ": set global.maxconn to at most " + std::to_string(fits) +
                " or raise the limit (LimitNOFILE= in the unit, ulimit -n)";
    return out;
  }
  out.warning = numbers + ": maxconn lowered to " + std::to_string(fits) +
                " (set global.maxconn or raise the limit)";
  config.maxconn = static_cast<uint32_t>(fits);
  return out;
}

}  // namespace tandem::proxy
