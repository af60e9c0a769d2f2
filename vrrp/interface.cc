#include "vrrp/interface.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fd.h"

namespace tandem::vrrp {

std::optional<InterfaceInfo> readInterface(const std::string& name,
                                           const std::vector<IpAddress>& exclude,
                                           std::string* error) {
  InterfaceInfo info;
  info.name = name;
  info.index = static_cast<int>(if_nametoindex(name.c_str()));
  if (info.index == 0) {
    *error = "no interface '" + name + "'";
    return std::nullopt;
  }
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFHWADDR, &ifr) == 0)
    std::memcpy(info.mac.data(), ifr.ifr_hwaddr.sa_data, 6);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) == 0)
    info.up = (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* a = list; a; a = a->ifa_next) {
      if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || name != a->ifa_name) continue;
      IpAddress ip;
      ip.family = AF_INET;
      std::memcpy(ip.bytes.data(), &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, 4);
      bool ours = false;
      for (const auto& e : exclude) ours |= e == ip;
      if (!ours) {
        info.primaryV4 = ip;
        break;
      }
    }
    freeifaddrs(list);
  }
  return info;
}

}  // namespace tandem::vrrp
