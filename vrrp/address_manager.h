// Adds and removes the virtual addresses with rtnetlink (libnl-route), the way `ip addr`
// does, and finds leftovers of a crashed agent.
#pragma once

#include <memory>
#include <string>

#include "vrrp/config.h"

struct nl_sock;

namespace tandem::vrrp {

class AddressManager {
 public:
  AddressManager();
  ~AddressManager();
  AddressManager(const AddressManager&) = delete;
  AddressManager& operator=(const AddressManager&) = delete;

  bool ok() const { return sock_ != nullptr; }
  // Adds vip on the interface (already present counts as success). false + *error otherwise.
  bool add(int ifindex, const VirtualIp& vip, std::string* error);
  // Removes vip (absent counts as success).
  bool remove(int ifindex, const VirtualIp& vip, std::string* error);
  // Whether the address is configured on the interface now.
  bool present(int ifindex, const VirtualIp& vip);

 private:
  nl_sock* sock_ = nullptr;
};

}  // namespace tandem::vrrp
