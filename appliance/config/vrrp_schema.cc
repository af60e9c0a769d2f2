// vrrp: -> vrrp::Config. Range rules follow RFC 5798 (v3) and RFC 3768 (v2) and keepalived.
#include <net/if.h>

#include <set>

#include "appliance/config/config_reference.h"
#include "appliance/config/schema.h"
#include "vrrp/script_user.h"

namespace tandem::appliance::schema {

using namespace std::chrono_literals;

namespace {

// keepalived's enable_script_security, always on: the agent is root, so a command whose program
// (or a directory above it) someone else can change is refused, at the command's line.
void checkScriptSecurity(LoaderState& st, MapReader& m, const std::string& key,
                         const std::string& command) {
  if (command.empty()) return;
  std::string problem = vrrp::scriptSecurityProblem(command);
  if (!problem.empty()) st.yaml.error(m.get(key), m.pathOf(key), problem);
}

void readScripts(LoaderState& st, const YAML::Node& node, const std::string& path,
                 vrrp::Config* out) {
  MapReader all(st.yaml, node, path);
  if (!all.valid()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string name = it->first.Scalar();
    all.get(name);
    std::string p = all.pathOf(name);
    if (!validName(name)) {
      st.yaml.error(it->first, p, "invalid script name '" + name + "'");
      continue;
    }
    MapReader m(st.yaml, it->second, p, "vrrp_script");
    if (!m.valid()) continue;
    vrrp::TrackScript s;
    s.name = name;
    if (m.require("command")) m.string("command", &s.command);
    if (m.has("command") && s.command.empty())
      st.yaml.error(m.get("command"), m.pathOf("command"), "command is empty");
    checkScriptSecurity(st, m, "command", s.command);
    m.duration("interval", &s.interval, DefaultUnit::Seconds, 10ms, 1h);
    m.duration("timeout", &s.timeout, DefaultUnit::Seconds, 10ms, 1h);
    m.integer("weight", &s.weight, -253, 253);  // keepalived's range
    m.integer("fall", &s.fall, 1, 1000);
    m.integer("rise", &s.rise, 1, 1000);
    if (s.timeout > s.interval)
      st.yaml.warning(m.get("timeout"), m.pathOf("timeout"),
                      "timeout is longer than interval: runs will overlap");
    m.finish();
    out->scripts.push_back(std::move(s));
  }
  all.finish();
}

bool validInterfaceName(const std::string& n) {
  if (n.empty() || n.size() >= IFNAMSIZ) return false;
  for (char c : n)
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

void readVirtualIps(LoaderState& st, MapReader& m, vrrp::Instance* in) {
  if (!m.require("virtual_ipaddress")) return;
  YAML::Node n = m.get("virtual_ipaddress");
  auto items = readList(st.yaml, n, m.pathOf("virtual_ipaddress"), true);
  std::set<std::string> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string p = n.IsSequence() ? m.pathOf("virtual_ipaddress") + "[" + std::to_string(i) + "]"
                                   : m.pathOf("virtual_ipaddress");
    vrrp::VirtualIp vip;
    YAML::Node addrNode = items[i];
    std::string addrPath = p;
    std::optional<MapReader> vm;
    if (items[i].IsMap()) {
      vm.emplace(st.yaml, items[i], p, "virtual_ipaddress");
      vm->require("address");
      addrNode.reset(vm->get("address"));  // reset: Node::operator= would overwrite the map
      addrPath = vm->pathOf("address");
      vm->string("dev", &vip.device);
      vm->string("label", &vip.label);
      if (!vip.device.empty() && !validInterfaceName(vip.device))
        st.yaml.error(vm->get("dev"), vm->pathOf("dev"),
                      "invalid interface name '" + vip.device + "'");
      if (vip.label.size() >= IFNAMSIZ)
        st.yaml.error(vm->get("label"), vm->pathOf("label"), "label longer than 15 characters");
      vm->finish();
    }
    if (!addrNode.IsDefined()) continue;
    auto s = readString(st.yaml, addrNode, addrPath);
    if (!s) continue;
    // VIPs are host addresses with the prefix of their subnet: host bits are expected here.
    size_t slash = s->find('/');
    auto ip = IpAddress::parse(s->substr(0, slash));
    if (!ip || ip->isUnspecified()) {
      st.yaml.error(
          addrNode, addrPath,
          "expected an address with optional prefix such as 198.18.0.100/24, got '" + *s + "'");
      continue;
    }
    int maxLen = ip->family == AF_INET ? 32 : 128;
    int len = maxLen;
    if (slash != std::string::npos) {
      char* end = nullptr;
      std::string lenStr = s->substr(slash + 1);
      long v = std::strtol(lenStr.c_str(), &end, 10);
      if (lenStr.empty() || *end || v < 0 || v > maxLen) {
        st.yaml.error(addrNode, addrPath, "prefix length must be 0-" + std::to_string(maxLen));
        continue;
      }
      len = static_cast<int>(v);
    }
    vip.address = Cidr{*ip, len};
    if (!seen.insert(ip->toString()).second) {
      st.yaml.error(addrNode, addrPath, "virtual address " + ip->toString() + " listed twice");
      continue;
    }
    in->virtualIps.push_back(vip);
  }
  if (items.empty() && n.IsSequence())
    st.yaml.error(n, m.pathOf("virtual_ipaddress"), "at least one virtual address is needed");
}

void readInstance(LoaderState& st, const std::string& name, const YAML::Node& node,
                  const std::string& path, const std::set<std::string>& scripts,
                  vrrp::Instance* in) {
  MapReader m(st.yaml, node, path, "vrrp_instance");
  if (!m.valid()) return;
  in->name = name;
  if (m.require("interface")) {
    m.string("interface", &in->interface);
    if (!validInterfaceName(in->interface))
      st.yaml.error(m.get("interface"), m.pathOf("interface"),
                    "invalid interface name '" + in->interface + "' (1-15 characters)");
  }
  if (m.require("virtual_router_id")) m.integer("virtual_router_id", &in->virtualRouterId, 1, 255);
  m.integer("priority", &in->priority, 1, 254);
  m.integer("version", &in->version, 2, 3);
  // advert_int: v2 counts whole seconds (RFC 3768 §5.3.7), v3 centiseconds up to 40.95 s
  // (RFC 5798 §5.2.7). A bare number means seconds, as in keepalived.
  if (YAML::Node a = m.get("advert_int"); a.IsDefined()) {
    std::string p = m.pathOf("advert_int");
    if (auto d = readDuration(st.yaml, a, p, DefaultUnit::Seconds, Duration(0), Duration::max())) {
      if (in->version == 2) {
        if (*d < 1s || *d > 255s || d->count() % 1000000 != 0)
          st.yaml.error(
              a, p,
              "VRRPv2 advert_int must be whole seconds from 1s to 255s (RFC 3768), got '" +
                  a.Scalar() + "'; use version: 3 for sub-second adverts");
        else
          in->advertInterval = *d;
      } else {
        if (*d < 10ms || *d > 40950ms || d->count() % 10000 != 0)
          st.yaml.error(
              a, p,
              "VRRPv3 advert_int must be 10ms to 40.95s in steps of 10ms (RFC 5798), got '" +
                  a.Scalar() + "'");
        else
          in->advertInterval = *d;
      }
    }
  }
  m.choice<vrrp::InitialState>(
      "state", &in->initialState,
      {{"BACKUP", vrrp::InitialState::Backup}, {"MASTER", vrrp::InitialState::Master}});
  m.boolean("preempt", &in->preempt);
  if (YAML::Node np = m.get("nopreempt"); np.IsDefined()) {
    if (auto b = readBool(st.yaml, np, m.pathOf("nopreempt"))) {
      if (m.has("preempt") && in->preempt == *b)
        st.yaml.error(np, m.pathOf("nopreempt"), "contradicts 'preempt'; keep one of the two");
      else
        in->preempt = !*b;
    }
  }
  m.duration("preempt_delay", &in->preemptDelay, DefaultUnit::Seconds, 0s, 1000s);
  if (in->preemptDelay > 0s && !in->preempt)
    st.yaml.warning(m.get("preempt_delay"), m.pathOf("preempt_delay"),
                    "preempt_delay has no effect with nopreempt");
  if (YAML::Node a = m.get("authentication"); a.IsDefined()) {
    MapReader am(st.yaml, a, m.pathOf("authentication"), "vrrp_instance.authentication");
    am.choice<vrrp::AuthType>("type", &in->authType,
                              {{"PASS", vrrp::AuthType::Pass}, {"NONE", vrrp::AuthType::None}});
    if (in->authType == vrrp::AuthType::Pass && am.require("password")) {
      am.string("password", &in->authPassword);
      if (in->authPassword.empty() || in->authPassword.size() > 8)
        st.yaml.error(am.get("password"), am.pathOf("password"),
                      "a PASS password is 1 to 8 characters (RFC 3768 §5.3.10)");
    }
    if (in->version == 3 && in->authType != vrrp::AuthType::None)
      st.yaml.error(a, m.pathOf("authentication"),
                    "VRRPv3 has no authentication (RFC 5798 §9); use version: 2 to pair with "
                    "keepalived auth_type PASS");
    am.finish();
  }
  if (YAML::Node u = m.get("unicast_src_ip"); u.IsDefined()) {
    if (auto s = readString(st.yaml, u, m.pathOf("unicast_src_ip"))) {
      if (auto ip = IpAddress::parse(*s))
        in->unicastSource = ip;
      else
        st.yaml.error(u, m.pathOf("unicast_src_ip"), "expected an IP address, got '" + *s + "'");
    }
  }
  if (YAML::Node u = m.get("unicast_peer"); u.IsDefined()) {
    auto items = readList(st.yaml, u, m.pathOf("unicast_peer"), true);
    // An empty list must never quietly mean multicast (a keepalived trap): it is an error.
    if (items.empty() && u.IsSequence())
      st.yaml.error(u, m.pathOf("unicast_peer"),
                    "empty unicast_peer list; remove the key to use multicast");
    for (size_t i = 0; i < items.size(); ++i) {
      std::string p = u.IsSequence() ? m.pathOf("unicast_peer") + "[" + std::to_string(i) + "]"
                                     : m.pathOf("unicast_peer");
      auto s = readString(st.yaml, items[i], p);
      if (!s) continue;
      auto ip = IpAddress::parse(*s);
      if (!ip) {
        st.yaml.error(items[i], p, "expected an IP address, got '" + *s + "'");
      } else if (in->unicastSource && *ip == *in->unicastSource) {
        st.yaml.error(items[i], p, "a peer cannot be this node's own unicast_src_ip");
      } else {
        in->unicastPeers.push_back(*ip);
      }
    }
  }
  readVirtualIps(st, m, in);
  if (in->version == 2) {
    for (const auto& v : in->virtualIps)
      if (v.address.network.family == AF_INET6) {
        st.yaml.error(m.get("virtual_ipaddress"), m.pathOf("virtual_ipaddress"),
                      "VRRPv2 carries IPv4 addresses only (RFC 3768); use version: 3 for IPv6");
        break;
      }
  }
  if (!in->virtualIps.empty()) {
    int fam = in->virtualIps.front().address.network.family;
    bool mixed = false;
    for (const auto& v : in->virtualIps)
      if (v.address.network.family != fam) {
        st.yaml.error(m.get("virtual_ipaddress"), m.pathOf("virtual_ipaddress"),
                      "one instance carries IPv4 or IPv6 addresses, not both (RFC 5798 §5.2.9)");
        mixed = true;
        break;
      }
    // The agent speaks VRRP over IPv4 only so far: refuse here rather than at start-up.
    if (!mixed && fam == AF_INET6 && in->version == 3)
      st.yaml.error(m.get("virtual_ipaddress"), m.pathOf("virtual_ipaddress"),
                    "IPv6 virtual routers are not supported yet; use IPv4 addresses");
  }
  if (YAML::Node t = m.get("track_script"); t.IsDefined()) {
    auto items = readList(st.yaml, t, m.pathOf("track_script"), true);
    std::vector<std::string> known(scripts.begin(), scripts.end());
    for (size_t i = 0; i < items.size(); ++i) {
      std::string p = t.IsSequence() ? m.pathOf("track_script") + "[" + std::to_string(i) + "]"
                                     : m.pathOf("track_script");
      vrrp::TrackedScriptRef ref;
      YAML::Node nameNode = items[i];
      if (items[i].IsMap()) {
        MapReader rm(st.yaml, items[i], p, "track_script");
        if (rm.require("name")) rm.string("name", &ref.name);
        nameNode.reset(rm.get("name"));
        if (YAML::Node w = rm.get("weight"); w.IsDefined())
          if (auto v = readInt(st.yaml, w, rm.pathOf("weight"), -253, 253))
            ref.weight = static_cast<int>(*v);
        rm.finish();
      } else if (auto s = readString(st.yaml, items[i], p)) {
        ref.name = *s;
      }
      if (ref.name.empty()) continue;
      if (!scripts.count(ref.name)) {
        st.yaml.error(nameNode, p,
                      "undefined track script '" + ref.name + "'" + didYouMean(ref.name, known));
        continue;
      }
      in->trackScripts.push_back(ref);
    }
  }
  if (YAML::Node t = m.get("track_interface"); t.IsDefined()) {
    auto items = readList(st.yaml, t, m.pathOf("track_interface"), true);
    for (size_t i = 0; i < items.size(); ++i) {
      std::string p = t.IsSequence() ? m.pathOf("track_interface") + "[" + std::to_string(i) + "]"
                                     : m.pathOf("track_interface");
      if (auto s = readString(st.yaml, items[i], p)) {
        if (!validInterfaceName(*s))
          st.yaml.error(items[i], p, "invalid interface name '" + *s + "'");
        else
          in->trackInterfaces.push_back(*s);
      }
    }
  }
  if (YAML::Node tp = m.get("track_proxy"); tp.IsDefined()) {
    std::string p = m.pathOf("track_proxy");
    if (tp.IsScalar()) {
      if (auto b = readBool(st.yaml, tp, p)) in->trackProxy.enabled = *b;
    } else {
      MapReader pm(st.yaml, tp, p, "track_proxy");
      pm.integer("weight", &in->trackProxy.weight, -253, 0);
      pm.integer("backends_down_weight", &in->trackProxy.backendsDownWeight, -254, 0);
      pm.finish();
    }
  }
  if (YAML::Node nt = m.get("notify"); nt.IsDefined()) {
    MapReader nm(st.yaml, nt, m.pathOf("notify"), "notify");
    nm.string("master", &in->notify.master);
    nm.string("backup", &in->notify.backup);
    nm.string("fault", &in->notify.fault);
    nm.string("stop", &in->notify.stop);
    nm.string("any", &in->notify.any);
    checkScriptSecurity(st, nm, "master", in->notify.master);
    checkScriptSecurity(st, nm, "backup", in->notify.backup);
    checkScriptSecurity(st, nm, "fault", in->notify.fault);
    checkScriptSecurity(st, nm, "stop", in->notify.stop);
    checkScriptSecurity(st, nm, "any", in->notify.any);
    nm.finish();
  }
  if (YAML::Node g = m.get("garp"); g.IsDefined()) {
    MapReader gm(st.yaml, g, m.pathOf("garp"), "garp");
    gm.duration("master_delay", &in->garp.masterDelay, DefaultUnit::Seconds, 0s, 1h);
    gm.integer("master_repeat", &in->garp.masterRepeat, 1, 255);
    gm.duration("master_refresh", &in->garp.masterRefresh, DefaultUnit::Seconds, 0s, 24h);
    if (gm.has("interval"))
      st.yaml.error(gm.keyNode("interval"), gm.pathOf("interval"),
                    "interval is not applied yet: a burst's gratuitous ARPs go back to back; "
                    "remove it");
    gm.finish();
  }
  m.finish();
}

}  // namespace

void readVrrp(LoaderState& st, const YAML::Node& node, vrrp::Config* out) {
  MapReader m(st.yaml, node, "vrrp", "vrrp");
  if (!m.valid()) return;
  m.string("notify_fifo", &out->notifyFifo);
  m.string("state_dir", &out->stateDir);
  m.string("control_socket", &out->controlSocket);
  m.string("script_user", &out->scriptUser);
  m.string("script_group", &out->scriptGroup);
  {
    // A user missing here may exist on the node the file is written for (as global.user): a
    // warning here; the agent refuses to start without it.
    std::string error, warning;
    if (!vrrp::resolveScriptUser(out->scriptUser, out->scriptGroup, &error, &warning)) {
      const char* key = error.rfind("no group", 0) == 0 ? "script_group" : "script_user";
      st.yaml.warning(m.get(key), m.pathOf(key), error);
    }
  }
  if (YAML::Node s = m.get("scripts"); s.IsDefined()) readScripts(st, s, m.pathOf("scripts"), out);
  std::set<std::string> scriptNames;
  for (const auto& s : out->scripts) scriptNames.insert(s.name);
  if (YAML::Node is = m.get("instances"); is.IsDefined()) {
    MapReader all(st.yaml, is, m.pathOf("instances"));
    if (all.valid()) {
      std::map<std::pair<std::string, int>, std::string> vrids;  // (interface, vrid) -> instance
      for (auto it = is.begin(); it != is.end(); ++it) {
        std::string name = it->first.Scalar();
        all.get(name);
        std::string p = all.pathOf(name);
        if (!validName(name)) {
          st.yaml.error(it->first, p, "invalid instance name '" + name + "'");
          continue;
        }
        vrrp::Instance in;
        size_t before = st.yaml.diagnostics().errorCount();
        readInstance(st, name, it->second, p, scriptNames, &in);
        if (st.yaml.diagnostics().errorCount() != before) continue;
        // Two instances with one VRID on one link would fight over the same virtual MAC.
        auto key = std::make_pair(in.interface, static_cast<int>(in.virtualRouterId));
        auto [pos, fresh] = vrids.emplace(key, name);
        if (!fresh) {
          // A copy: yaml-cpp's iterator hands out a temporary pair, so a reference to its
          // `second` dangles (ASan: stack-use-after-scope).
          YAML::Node inst = it->second;
          YAML::Node vr = inst["virtual_router_id"];
          st.yaml.error(vr, p + ".virtual_router_id",
                        "virtual_router_id " + std::to_string(in.virtualRouterId) +
                            " is already used on " + in.interface + " by instance '" + pos->second +
                            "'");
          continue;
        }
        out->instances.push_back(std::move(in));
      }
    }
    all.finish();
  }
  bool runsCommands = !out->scripts.empty();
  for (const auto& in : out->instances)
    runsCommands = runsCommands || !in.notify.master.empty() || !in.notify.backup.empty() ||
                   !in.notify.fault.empty() || !in.notify.stop.empty() || !in.notify.any.empty();
  std::string error, warning;
  if (runsCommands && out->scriptUser.empty() &&
      vrrp::resolveScriptUser("", out->scriptGroup, &error, &warning) && !warning.empty())
    st.yaml.warning(node, "vrrp", warning);
  m.finish();
}

}  // namespace tandem::appliance::schema

// ---- the configuration reference of the keys read above (config_reference.h) -------------

namespace tandem::appliance::reference {

const Part& vrrpReference() {
  static const Part part{
      {
          {.id = "vrrp",
           .title = "VRRP",
           .doc = "The top-level `vrrp:` mapping: the VRRP agent (keepalived's vrrp_script and "
                  "vrrp_instance sections plus its global_defs script settings) - track scripts, "
                  "virtual router instances, and where the agent keeps its control socket and "
                  "state files."},
          {.id = "vrrp_script",
           .title = "Track script",
           .doc = "One entry of vrrp.scripts (keepalived's vrrp_script), keyed by its name: a "
                  "command the agent runs periodically as script_user. Instances that list it in "
                  "track_script change priority or go to FAULT from its result."},
          {.id = "vrrp_instance",
           .title = "VRRP instance",
           .doc = "One entry of vrrp.instances (keepalived's vrrp_instance), keyed by its name: "
                  "one virtual router on one interface, with its VRID, priority, timers, virtual "
                  "addresses, tracking and notify hooks. VRRP is spoken over IPv4; one VRID may be "
                  "used once per interface."},
          {.id = "vrrp_instance.authentication",
           .title = "VRRPv2 authentication",
           .doc = "The `authentication:` mapping of a vrrp instance: RFC 3768 simple-text password "
                  "authentication, for pairing with keepalived's auth_type PASS. Only valid with "
                  "version: 2 (VRRPv3 has no authentication)."},
          {.id = "track_script",
           .title = "Track script reference",
           .doc = "The mapping form of one item of a vrrp instance's track_script list (a bare "
                  "string names the script alone): which vrrp script the instance tracks and, "
                  "optionally, a weight that overrides the script's own for this instance "
                  "(keepalived's track_script NAME weight W)."},
          {.id = "track_proxy",
           .title = "Proxy tracking",
           .doc = "The mapping form of a vrrp instance's track_proxy (a bare true/false switches "
                  "tracking on or off with the default weights): how the instance reacts to the "
                  "supervisor's verdict on the local proxy, reported over the agent's control "
                  "socket."},
          {.id = "notify",
           .title = "Notify hooks",
           .doc =
               "The `notify:` mapping of a vrrp instance (keepalived's notify_* scripts): shell "
               "commands run as script_user on state changes, one at a time in event order, each "
               "called with the arguments INSTANCE NAME STATE PRIORITY and killed after 30 s."},
          {.id = "garp",
           .title = "Gratuitous ARP",
           .doc = "The `garp:` mapping of a vrrp instance (keepalived's garp_master_* settings): "
                  "the gratuitous ARP bursts a new master sends for its IPv4 virtual addresses so "
                  "that neighbours update their ARP caches."},
          {.id = "virtual_ipaddress",
           .title = "Virtual address (mapping form)",
           .doc = "The mapping form of one item of a vrrp instance's virtual_ipaddress list (a "
                  "bare string is the address alone): the address plus the device and label it is "
                  "added with, as keepalived's `ADDRESS dev IF label LABEL`."},
      },
      {
          {.block = "vrrp",
           .key = "notify_fifo",
           .type = "file path",
           .defaultValue = "none",
           .example = "notify_fifo: /run/tandem/vrrp.fifo",
           .equivalent = "keepalived: notify_fifo",
           .doc = "FIFO (created with mode 0600 if missing) that receives one line per state "
                  "change, INSTANCE \"NAME\" STATE PRIORITY, in order; lines are dropped when it "
                  "is full. A change applies at the next agent restart, not on reload.",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::NotifyKeysTest::test_vrrp_notify_fifo_gets_one_line_"
                         "per_state_change"},
          {.block = "vrrp",
           .key = "state_dir",
           .type = "file path (directory)",
           .defaultValue = "/run/tandem",
           .example = "state_dir: /run/tandem",
           .equivalent = "none (Tandem only)",
           .doc = "Directory (created if missing) where the agent keeps one file per instance, "
                  "vrrp-NAME.state, holding its current state (MASTER, BACKUP, FAULT, INIT). A "
                  "change applies at the next agent restart, not on reload.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpTrackingTest::test_notify_hooks_run_in_order_and_"
                         "state_file_follows"},
          {.block = "vrrp",
           .key = "control_socket",
           .type = "file path",
           .defaultValue = "/run/tandem/vrrp.sock",
           .example = "control_socket: /run/tandem/vrrp.sock",
           .equivalent = "none (Tandem only)",
           .doc = "Unix datagram socket on which the agent receives the supervisor's proxy "
                  "liveness (proxy up/down); on reload the agent moves to a new path at once, or "
                  "stays on the old one if it cannot bind the new.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpTrackingTest::test_proxy_down_message_moves_the_"
                         "vip_at_once"},
          {.block = "vrrp",
           .key = "script_user",
           .type = "string",
           .defaultValue = "none (user tandem if it exists, else root with a warning)",
           .example = "script_user: tandem",
           .equivalent = "keepalived: script_user",
           .doc = "User that track scripts and notify hooks run as (the agent itself stays root). "
                  "A user missing on this machine is a warning at check time; the agent refuses to "
                  "start or reload without it.",
           .effectTest =
               "tests/vrrp/"
               "vrrp_netns_test.py::VrrpTrackingTest::test_scripts_and_hooks_run_as_script_user"},
          {.block = "vrrp",
           .key = "script_group",
           .type = "string",
           .defaultValue = "none (the primary group of script_user, with its supplementary groups)",
           .example = "script_group: tandem",
           .equivalent = "keepalived: script_user USER GROUP",
           .doc =
               "Group that track scripts and notify hooks run as; when set it is their only group.",
           .effectTest =
               "tests/vrrp/"
               "vrrp_netns_test.py::VrrpTrackingTest::test_scripts_and_hooks_run_as_script_user"},
          {.block = "vrrp",
           .key = "scripts",
           .type = "map of NAME -> vrrp_script",
           .defaultValue = "none",
           .example = "scripts: { chk_dns: { command: \"/usr/local/bin/chk_dns\", interval: 2s, "
                      "weight: -20 } }",
           .equivalent = "keepalived: vrrp_script",
           .doc = "Track scripts, keyed by name (1-64 characters of A-Z a-z 0-9 _ . : -), that "
                  "instances reference in track_script.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpTrackingTest::test_failing_track_script_lowers_"
                         "priority_and_moves_the_vip",
           .child = "vrrp_script"},
          {.block = "vrrp",
           .key = "instances",
           .type = "map of NAME -> vrrp_instance",
           .defaultValue = "none",
           .example = "instances: { VI_1: { interface: eth0, virtual_router_id: 51, "
                      "virtual_ipaddress: [198.18.0.100/24] } }",
           .equivalent = "keepalived: vrrp_instance",
           .doc = "Virtual router instances, keyed by name (1-64 characters of A-Z a-z 0-9 _ . : "
                  "-); two instances may not share a virtual_router_id on one interface.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpNetnsTest::test_election_takeover_and_preemption",
           .child = "vrrp_instance"},
          {.block = "vrrp_script",
           .key = "command",
           .type = "string (shell command)",
           .defaultValue = "required",
           .example = "command: \"/usr/local/bin/chk_dns --quick\"",
           .equivalent = "keepalived: script",
           .doc =
               "Command run through /bin/sh -c as script_user; exit status 0 is success. Its "
               "program and every directory above it must be changeable by root only and it must "
               "exist (keepalived's enable_script_security, always on), checked at load time.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpTrackingTest::test_failing_track_script_lowers_"
                         "priority_and_moves_the_vip"},
          {.block = "vrrp_script",
           .key = "interval",
           .type = "duration (bare number = seconds), 10ms to 1h",
           .defaultValue = "1s",
           .example = "interval: 2s",
           .equivalent = "keepalived: interval",
           .doc = "How often the command is started; a run still going at the next tick is not "
                  "started twice.",
           .effectTest =
               "tests/vrrp/"
               "vrrp_keys_test.py::TrackScriptKeysTest::test_vrrp_script_interval_spaces_the_runs"},
          {.block = "vrrp_script",
           .key = "timeout",
           .type = "duration (bare number = seconds), 10ms to 1h",
           .defaultValue = "1s",
           .example = "timeout: 3s",
           .equivalent = "keepalived: timeout",
           .doc = "A run still going after this long is killed and counts as a failure; a timeout "
                  "longer than interval is a warning.",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::TrackScriptKeysTest::test_vrrp_script_timeout_lets_a_"
                         "slow_run_pass_and_kills_a_slower_one"},
          {.block = "vrrp_script",
           .key = "weight",
           .type = "integer -253 to 253",
           .defaultValue = "0",
           .example = "weight: -20",
           .equivalent = "keepalived: weight",
           .doc = "0: failing puts the tracking instances in FAULT; positive: added to their "
                  "priority while the script succeeds; negative: added while it fails. The result "
                  "is clamped to 1-254.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpTrackingTest::test_failing_track_script_lowers_"
                         "priority_and_moves_the_vip"},
          {.block = "vrrp_script",
           .key = "fall",
           .type = "integer 1-1000",
           .defaultValue = "1",
           .example = "fall: 2",
           .equivalent = "keepalived: fall",
           .doc = "Consecutive failed runs that turn the script's state to failing.",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::TrackScriptKeysTest::test_vrrp_script_fall_is_the_"
                         "failures_that_make_it_fail"},
          {.block = "vrrp_script",
           .key = "rise",
           .type = "integer 1-1000",
           .defaultValue = "1",
           .example = "rise: 2",
           .equivalent = "keepalived: rise",
           .doc = "Consecutive successful runs that turn the script's state back to OK.",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::TrackScriptKeysTest::test_vrrp_script_rise_is_the_"
                         "successes_that_make_it_succeed"},
          {.block = "vrrp_instance",
           .key = "interface",
           .type = "string (interface name, 1-15 characters)",
           .defaultValue = "required",
           .example = "interface: eth0",
           .equivalent = "keepalived: interface",
           .doc = "Interface the instance sends and receives advertisements on and adds its "
                  "virtual addresses to (unless an address names its own dev); the instance is in "
                  "FAULT while its link is down.",
           .effectTest =
               "tests/vrrp/"
               "vrrp_netns_test.py::VrrpNetnsTest::test_election_takeover_and_preemption"},
          {.block = "vrrp_instance",
           .key = "virtual_router_id",
           .type = "integer 1-255",
           .defaultValue = "required",
           .example = "virtual_router_id: 51",
           .equivalent = "keepalived: virtual_router_id",
           .doc = "VRID carried in every advertisement; adverts with another VRID are ignored. It "
                  "must be unique per interface among this node's instances and equal on the peers "
                  "of one virtual router.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpNetnsTest::test_wire_format_v3_decodes_in_tshark_"
                         "with_a_good_checksum"},
          {.block = "vrrp_instance",
           .key = "priority",
           .type = "integer 1-254",
           .defaultValue = "100",
           .example = "priority: 150",
           .equivalent = "keepalived: priority",
           .doc = "Election priority: the highest effective priority (after track script and "
                  "track_proxy weights) becomes master, ties going to the higher primary address.",
           .effectTest =
               "tests/vrrp/"
               "vrrp_netns_test.py::VrrpNetnsTest::test_election_takeover_and_preemption"},
          {.block = "vrrp_instance",
           .key = "version",
           .type = "integer 2-3",
           .defaultValue = "3",
           .example = "version: 2",
           .equivalent = "keepalived: version (vrrp_version)",
           .doc = "VRRP protocol version: 3 (RFC 5798, centisecond intervals) or 2 (RFC 3768, "
                  "whole seconds, IPv4 only, optional PASS authentication); must match the peers.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpNetnsTest::test_wire_format_v2_with_auth_decodes_"
                         "in_tshark_with_a_good_checksum"},
          {.block = "vrrp_instance",
           .key = "advert_int",
           .type = "duration (bare number = seconds); v3: 10ms to 40.95s in 10ms steps, v2: whole "
                   "seconds 1s to 255s",
           .defaultValue = "1s",
           .example = "advert_int: 100ms",
           .equivalent = "keepalived: advert_int",
           .doc = "Interval between a master's advertisements; backups declare the master dead "
                  "after 3 intervals plus skew, so it sets the failover time.",
           .effectTest =
               "tests/vrrp/"
               "vrrp_netns_test.py::VrrpNetnsTest::test_election_takeover_and_preemption"},
          {.block = "vrrp_instance",
           .key = "state",
           .type = "one of BACKUP, MASTER",
           .defaultValue = "BACKUP",
           .example = "state: MASTER",
           .equivalent = "keepalived: state",
           .doc = "Initial state: MASTER takes the virtual addresses at start without waiting for "
                  "the master-down timer (and then follows the election); BACKUP starts as backup.",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::InstanceKeysTest::test_vrrp_instance_state_master_"
                         "takes_the_vip_without_waiting"},
          {.block = "vrrp_instance",
           .key = "preempt",
           .type = "boolean",
           .defaultValue = "true",
           .example = "preempt: false",
           .equivalent = "keepalived: nopreempt (inverted)",
           .doc = "Whether a backup with a higher priority takes over from a lower-priority "
                  "master; false keeps the current master.",
           .effectTest =
               "tests/vrrp/"
               "vrrp_netns_test.py::VrrpNetnsTest::test_nopreempt_keeps_the_current_master"},
          {.block = "vrrp_instance",
           .key = "nopreempt",
           .type = "boolean",
           .defaultValue = "false",
           .example = "nopreempt: true",
           .equivalent = "keepalived: nopreempt",
           .doc = "keepalived spelling of preempt: false; setting both preempt and nopreempt to "
                  "contradicting values is an error.",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::InstanceKeysTest::test_vrrp_instance_nopreempt_keeps_"
                         "the_current_master"},
          {.block = "vrrp_instance",
           .key = "preempt_delay",
           .type = "duration (bare number = seconds), 0 to 1000s",
           .defaultValue = "0s",
           .example = "preempt_delay: 30s",
           .equivalent = "keepalived: preempt_delay",
           .doc = "After start-up, how long a higher-priority backup accepts a lower-priority "
                  "master before preempting it; a warning with preempt off.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpNetnsTest::test_preempt_delay_holds_off_a_"
                         "returning_higher_priority_node"},
          {.block = "vrrp_instance",
           .key = "authentication",
           .type = "mapping",
           .defaultValue = "none (no authentication)",
           .example = "authentication: { type: PASS, password: secret }",
           .equivalent = "keepalived: authentication",
           .doc = "VRRPv2 simple-password authentication; adverts with another type or password "
                  "are discarded. Needs version: 2.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpNetnsTest::test_v2_with_pass_authentication_and_"
                         "a_wrong_password_is_ignored",
           .child = "vrrp_instance.authentication"},
          {.block = "vrrp_instance",
           .key = "unicast_src_ip",
           .type = "string (IP address)",
           .defaultValue = "none (the interface's primary IPv4 address)",
           .example = "unicast_src_ip: 198.18.0.1",
           .equivalent = "keepalived: unicast_src_ip",
           .doc = "Source address of this instance's advertisements, also the tie-breaker address "
                  "in elections; no unicast_peer may equal it.",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::InstanceKeysTest::test_vrrp_instance_unicast_src_ip_"
                         "is_the_advert_source"},
          {.block = "vrrp_instance",
           .key = "unicast_peer",
           .type = "list of IP addresses (a scalar is a one-item list)",
           .defaultValue = "none (multicast to 224.0.0.18)",
           .example = "unicast_peer: [198.18.0.2]",
           .equivalent = "keepalived: unicast_peer",
           .doc = "Peers that advertisements are sent to by unicast instead of multicast; the "
                  "instance then never joins the multicast group. An empty list is an error.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpNetnsTest::test_unicast_peers_without_multicast"},
          {.block = "vrrp_instance",
           .key = "virtual_ipaddress",
           .type = "list of ADDRESS[/PREFIX] strings or mappings (a scalar is a one-item list)",
           .defaultValue = "required",
           .example = "virtual_ipaddress: [198.18.0.100/24]",
           .equivalent = "keepalived: virtual_ipaddress",
           .doc = "Addresses the master adds (with their subnet prefix, /32 when omitted) and a "
                  "backup removes; each listed once, all of one family. IPv6 is refused for now "
                  "and VRRPv2 carries IPv4 only.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpNetnsTest::test_election_takeover_and_preemption",
           .child = "virtual_ipaddress"},
          {.block = "vrrp_instance",
           .key = "track_script",
           .type = "list of script names or mappings (a scalar is a one-item list)",
           .defaultValue = "none",
           .example = "track_script: [chk_dns, { name: chk_disk, weight: -10 }]",
           .equivalent = "keepalived: track_script",
           .doc = "vrrp scripts whose results adjust this instance's priority or put it in FAULT "
                  "(per the weight); each name must be defined in vrrp.scripts.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpTrackingTest::test_failing_track_script_lowers_"
                         "priority_and_moves_the_vip",
           .child = "track_script"},
          {.block = "vrrp_instance",
           .key = "track_interface",
           .type = "list of interface names (a scalar is a one-item list)",
           .defaultValue = "none",
           .example = "track_interface: [eth1]",
           .equivalent = "keepalived: track_interface",
           .doc = "Further interfaces whose link is watched: while any is down or missing, the "
                  "instance is in FAULT (no per-interface weight).",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::InstanceKeysTest::test_vrrp_instance_track_interface_"
                         "down_means_fault"},
          {.block = "vrrp_instance",
           .key = "track_proxy",
           .type = "boolean or mapping",
           .defaultValue = "true (weight 0, backends_down_weight -254)",
           .example = "track_proxy: { weight: -50 }",
           .equivalent = "none (Tandem only; replaces a keepalived chk_haproxy track_script)",
           .doc = "Whether the instance follows the supervisor's verdict on the local proxy; false "
                  "ignores it, a mapping keeps it on and sets the weights.",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::TrackProxyKeysTest::test_vrrp_instance_track_proxy_"
                         "false_ignores_the_proxy",
           .child = "track_proxy"},
          {.block = "vrrp_instance",
           .key = "notify",
           .type = "mapping",
           .defaultValue = "none",
           .example = "notify: { master: \"/usr/local/bin/on_master\" }",
           .equivalent =
               "keepalived: notify_master / notify_backup / notify_fault / notify_stop / notify",
           .doc = "Commands run on this instance's state changes.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpTrackingTest::test_notify_hooks_run_in_order_and_"
                         "state_file_follows",
           .child = "notify"},
          {.block = "vrrp_instance",
           .key = "garp",
           .type = "mapping",
           .defaultValue = "none (master_delay 5s, master_repeat 5, master_refresh 60s)",
           .example = "garp: { master_delay: 1s, master_repeat: 3 }",
           .equivalent = "keepalived: garp_master_delay / garp_master_repeat / garp_master_refresh",
           .doc = "Gratuitous ARP bursts sent for the virtual addresses when this node becomes "
                  "master and while it stays master.",
           .effectTest =
               "tests/vrrp/"
               "vrrp_keys_test.py::GarpKeysTest::test_garp_master_repeat_is_the_burst_size",
           .child = "garp"},
          {.block = "vrrp_instance.authentication",
           .key = "type",
           .type = "one of PASS, NONE",
           .defaultValue = "NONE",
           .example = "type: PASS",
           .equivalent = "keepalived: auth_type",
           .doc = "PASS sends and requires the password in every advertisement (RFC 3768 simple "
                  "text); NONE disables it. PASS needs version: 2.",
           .effectTest = "tests/vrrp/"
                         "keepalived_interop_test.py::KeepalivedInteropTest::test_v2_pass_auth_"
                         "tandem_master_keepalived_backup"},
          {.block = "vrrp_instance.authentication",
           .key = "password",
           .type = "string (1-8 characters)",
           .defaultValue = "required with type PASS",
           .example = "password: secret",
           .equivalent = "keepalived: auth_pass",
           .doc = "Shared password compared with every received advertisement; a mismatch is "
                  "logged and the advert discarded. Read only with type PASS.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpNetnsTest::test_v2_with_pass_authentication_and_"
                         "a_wrong_password_is_ignored"},
          {.block = "track_script",
           .key = "name",
           .type = "string (a name defined in vrrp.scripts)",
           .defaultValue = "required",
           .example = "name: chk_dns",
           .equivalent = "keepalived: track_script NAME",
           .doc =
               "The tracked vrrp script; an undefined name is an error with a did-you-mean hint.",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::TrackScriptKeysTest::test_track_script_name_and_"
                         "weight_pick_the_script_and_override_its_weight"},
          {.block = "track_script",
           .key = "weight",
           .type = "integer -253 to 253",
           .defaultValue = "none (the script's own weight)",
           .example = "weight: -30",
           .equivalent = "keepalived: track_script NAME weight W",
           .doc = "Overrides the script's weight for this instance only, with the same meaning (0: "
                  "FAULT on failure, positive: added while OK, negative: added while failing).",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::TrackScriptKeysTest::test_track_script_name_and_"
                         "weight_pick_the_script_and_override_its_weight"},
          {.block = "track_proxy",
           .key = "weight",
           .type = "integer -253 to 0",
           .defaultValue = "0",
           .example = "weight: -50",
           .equivalent = "none (Tandem only)",
           .doc = "While the local proxy is down (worker gone or probe failing): 0 puts the "
                  "instance in FAULT (priority 0 is sent, the peer takes over after its skew "
                  "time); a negative value is added to the priority instead.",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::TrackProxyKeysTest::test_track_proxy_weight_lowers_"
                         "the_priority_instead_of_fault"},
          {.block = "track_proxy",
           .key = "backends_down_weight",
           .type = "integer -254 to 0",
           .defaultValue = "-254",
           .example = "backends_down_weight: -100",
           .equivalent = "none (Tandem only)",
           .doc = "Added to the priority while the proxy serves but some backend has servers and "
                  "none usable (all DOWN, MAINT or DRAIN), so a healthy peer wins; 0 disables it.",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::TrackProxyKeysTest::test_track_proxy_backends_down_"
                         "weight_is_added_while_backends_are_down"},
          {.block = "notify",
           .key = "master",
           .type = "string (shell command)",
           .defaultValue = "none",
           .example = "master: \"/usr/local/bin/on_master\"",
           .equivalent = "keepalived: notify_master",
           .doc = "Run when the instance enters MASTER; the program must pass the same "
                  "root-only-writable check as track scripts.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpTrackingTest::test_notify_hooks_run_in_order_and_"
                         "state_file_follows"},
          {.block = "notify",
           .key = "backup",
           .type = "string (shell command)",
           .defaultValue = "none",
           .example = "backup: \"/usr/local/bin/on_backup\"",
           .equivalent = "keepalived: notify_backup",
           .doc = "Run when the instance enters BACKUP.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpTrackingTest::test_notify_hooks_run_in_order_and_"
                         "state_file_follows"},
          {.block = "notify",
           .key = "fault",
           .type = "string (shell command)",
           .defaultValue = "none",
           .example = "fault: \"/usr/local/bin/on_fault\"",
           .equivalent = "keepalived: notify_fault",
           .doc = "Run when the instance enters FAULT (link down, tracked script with weight 0 "
                  "failing, local proxy down with track_proxy weight 0).",
           .effectTest =
               "tests/vrrp/vrrp_keys_test.py::NotifyKeysTest::test_notify_fault_runs_on_fault"},
          {.block = "notify",
           .key = "stop",
           .type = "string (shell command)",
           .defaultValue = "none",
           .example = "stop: \"/usr/local/bin/on_stop\"",
           .equivalent = "keepalived: notify_stop",
           .doc = "Run when the instance stops (state INIT), e.g. when the agent shuts down.",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpTrackingTest::test_notify_hooks_run_in_order_and_"
                         "state_file_follows"},
          {.block = "notify",
           .key = "any",
           .type = "string (shell command)",
           .defaultValue = "none",
           .example = "any: \"logger -t vrrp\"",
           .equivalent = "keepalived: notify",
           .doc = "Run on every state change, after the state-specific hook; a simple command gets "
                  "INSTANCE NAME STATE PRIORITY appended as arguments ($1-$4 in a shell command).",
           .effectTest = "tests/vrrp/"
                         "vrrp_netns_test.py::VrrpTrackingTest::test_notify_hooks_run_in_order_and_"
                         "state_file_follows"},
          {.block = "garp",
           .key = "master_delay",
           .type = "duration (bare number = seconds), 0 to 1h",
           .defaultValue = "5s",
           .example = "master_delay: 1s",
           .equivalent = "keepalived: garp_master_delay",
           .doc = "Delay of the second gratuitous ARP burst after becoming master; 0 sends no "
                  "second burst and no refresh.",
           .effectTest =
               "tests/vrrp/"
               "vrrp_keys_test.py::GarpKeysTest::test_garp_master_delay_times_the_second_burst"},
          {.block = "garp",
           .key = "master_repeat",
           .type = "integer 1-255",
           .defaultValue = "5",
           .example = "master_repeat: 3",
           .equivalent = "keepalived: garp_master_repeat",
           .doc = "Gratuitous ARPs sent per virtual IPv4 address in each burst (also when "
                  "re-announcing after seeing another master).",
           .effectTest =
               "tests/vrrp/"
               "vrrp_keys_test.py::GarpKeysTest::test_garp_master_repeat_is_the_burst_size"},
          {.block = "garp",
           .key = "master_refresh",
           .type = "duration (bare number = seconds), 0 to 24h",
           .defaultValue = "60s",
           .example = "master_refresh: 10s",
           .equivalent = "keepalived: garp_master_refresh",
           .doc = "Period of repeated bursts while the node stays master, after the second burst; "
                  "0 disables the refresh.",
           .effectTest =
               "tests/vrrp/"
               "vrrp_keys_test.py::GarpKeysTest::test_garp_master_refresh_repeats_the_bursts"},
          {.block = "garp",
           .key = "interval",
           .type = "refused",
           .defaultValue = "none",
           .example = "interval: 10ms",
           .equivalent = "keepalived: garp_interval",
           .doc = "Refused: a gap between the gratuitous ARPs of one burst is not applied yet (a "
                  "burst goes back to back), so `tandem check` rejects the key.",
           .effectTest = "tests/appliance/broken_configs_test.cc::Table/"
                         "BrokenConfigTest.RejectedAtExactLocation/garp_interval_refused"},
          {.block = "virtual_ipaddress",
           .key = "address",
           .type = "string (IPv4 address with optional /PREFIX)",
           .defaultValue = "required",
           .example = "address: 198.18.0.100/24",
           .equivalent = "keepalived: virtual_ipaddress ADDRESS",
           .doc = "The virtual address and its subnet prefix (/32 when omitted; host bits are "
                  "expected), as in the bare-string form.",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::InstanceKeysTest::test_virtual_ipaddress_address_sets_"
                         "the_address_and_prefix"},
          {.block = "virtual_ipaddress",
           .key = "dev",
           .type = "string (interface name, 1-15 characters)",
           .defaultValue = "none (the instance interface)",
           .example = "dev: eth1",
           .equivalent = "keepalived: virtual_ipaddress ... dev",
           .doc = "Interface the address is added to instead of the instance's interface.",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::InstanceKeysTest::test_virtual_ipaddress_dev_puts_the_"
                         "address_on_another_interface"},
          {.block = "virtual_ipaddress",
           .key = "label",
           .type = "string (at most 15 characters)",
           .defaultValue = "none",
           .example = "label: \"eth0:vip\"",
           .equivalent = "keepalived: virtual_ipaddress ... label",
           .doc = "Label given to the added address, as `ip addr add ... label LABEL` (for example "
                  "eth0:vip).",
           .effectTest = "tests/vrrp/"
                         "vrrp_keys_test.py::InstanceKeysTest::test_virtual_ipaddress_label_labels_"
                         "the_address"},
      }};
  return part;
}

}  // namespace tandem::appliance::reference
