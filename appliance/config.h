// The whole node configuration after loading: the per-component structs plus what only the
// appliance itself uses. Nothing outside appliance/ sees YAML.
#pragma once

#include <string>

#include "common/logging.h"
#include "proxy/config.h"
#include "vrrp/config.h"

namespace tandem::appliance {

struct RunAs {
  std::string user;
  std::string group;
  std::string chroot;
};

struct AdminSocket {
  std::string path = "/run/tandem/admin.sock";
  unsigned mode = 0660;
};

struct Config {
  std::string sourcePath;  // the file it was loaded from
  logging::Config log;
  RunAs runAs;
  AdminSocket admin;
  proxy::Config proxy;
  vrrp::Config vrrp;
};

}  // namespace tandem::appliance
