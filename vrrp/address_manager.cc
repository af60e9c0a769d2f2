#include "vrrp/address_manager.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>

#include <cstring>

namespace tandem::vrrp {
namespace {

struct AddrFree {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct NlAddrFree {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};

std::unique_ptr<rtnl_addr, AddrFree> build(int ifindex, const VirtualIp& vip) {
  std::unique_ptr<rtnl_addr, AddrFree> a(rtnl_addr_alloc());
  int family = vip.address.network.family;
  std::unique_ptr<nl_addr, NlAddrFree> local(
      nl_addr_build(family, vip.address.network.bytes.data(), family == AF_INET ? 4 : 16));
  nl_addr_set_prefixlen(local.get(), vip.address.prefixLength);
  rtnl_addr_set_ifindex(a.get(), ifindex);
  rtnl_addr_set_local(a.get(), local.get());
  rtnl_addr_set_prefixlen(a.get(), vip.address.prefixLength);
  if (!vip.label.empty()) rtnl_addr_set_label(a.get(), vip.label.c_str());
  return a;
}

}  // namespace

AddressManager::AddressManager() {
  sock_ = nl_socket_alloc();
  if (sock_ && nl_connect(sock_, NETLINK_ROUTE) != 0) {
    nl_socket_free(sock_);
    sock_ = nullptr;
  }
}

AddressManager::~AddressManager() {
  if (sock_) nl_socket_free(sock_);
}

bool AddressManager::add(int ifindex, const VirtualIp& vip, std::string* error) {
  auto a = build(ifindex, vip);
  int rc = rtnl_addr_add(sock_, a.get(), NLM_F_CREATE | NLM_F_REPLACE);
  if (rc < 0 && rc != -NLE_EXIST) {
    *error = std::string("cannot add ") + vip.address.network.toString() + ": " + nl_geterror(rc);
    return false;
  }
  return true;
}

bool AddressManager::remove(int ifindex, const VirtualIp& vip, std::string* error) {
  auto a = build(ifindex, vip);
  int rc = rtnl_addr_delete(sock_, a.get(), 0);
  if (rc < 0 && rc != -NLE_NOADDR && rc != -NLE_OBJ_NOTFOUND) {
    *error =
        std::string("cannot remove ") + vip.address.network.toString() + ": " + nl_geterror(rc);
    return false;
  }
  return true;
}

bool AddressManager::present(int ifindex, const VirtualIp& vip) {
  char name[IF_NAMESIZE] = {};
  if (!if_indextoname(static_cast<unsigned>(ifindex), name)) return false;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* a = list; a && !found; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != vip.address.network.family) continue;
    if (std::strncmp(a->ifa_name, name, IF_NAMESIZE) != 0 &&
        std::strncmp(a->ifa_name, vip.label.c_str(), IF_NAMESIZE) != 0)
      continue;
    const void* bytes =
        vip.address.network.family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr);
    found = std::memcmp(bytes, vip.address.network.bytes.data(),
                        vip.address.network.family == AF_INET ? 4 : 16) == 0;
  }
  freeifaddrs(list);
  return found;
}

}  // namespace tandem::vrrp
