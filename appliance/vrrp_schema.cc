// vrrp: -> vrrp::Config. Range rules follow RFC 5798 (v3) and RFC 3768 (v2) and keepalived.
#include <net/if.h>

#include <set>

#include "appliance/schema.h"
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
    MapReader m(st.yaml, it->second, p);
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
      vm.emplace(st.yaml, items[i], p);
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
  MapReader m(st.yaml, node, path);
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
    MapReader am(st.yaml, a, m.pathOf("authentication"));
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
        MapReader rm(st.yaml, items[i], p);
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
      MapReader pm(st.yaml, tp, p);
      pm.integer("weight", &in->trackProxy.weight, -253, 0);
      pm.integer("backends_down_weight", &in->trackProxy.backendsDownWeight, -254, 0);
      pm.finish();
    }
  }
  if (YAML::Node nt = m.get("notify"); nt.IsDefined()) {
    MapReader nm(st.yaml, nt, m.pathOf("notify"));
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
    MapReader gm(st.yaml, g, m.pathOf("garp"));
    gm.duration("master_delay", &in->garp.masterDelay, DefaultUnit::Seconds, 0s, 1h);
    gm.integer("master_repeat", &in->garp.masterRepeat, 1, 255);
    gm.duration("master_refresh", &in->garp.masterRefresh, DefaultUnit::Seconds, 0s, 24h);
    gm.duration("interval", &in->garp.interval, DefaultUnit::Milliseconds, 0s, 1s);
    gm.finish();
  }
  m.finish();
}

}  // namespace

void readVrrp(LoaderState& st, const YAML::Node& node, vrrp::Config* out) {
  MapReader m(st.yaml, node, "vrrp");
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
