#include "appliance/supervisor/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tandem::appliance {

namespace {

std::string sysError(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

}  // namespace

bool dropPrivileges(const RunAs& runAs, std::string* error) {
  if (runAs.user.empty() && runAs.group.empty() && runAs.chroot.empty()) return true;
  // Names resolve before chroot: NSS reads /etc.
  bool setUser = !runAs.user.empty();
  bool setGroup = !runAs.group.empty();
  uid_t uid = 0;
  gid_t gid = 0;
  if (setUser) {
    const passwd* pw = ::getpwnam(runAs.user.c_str());
    if (!pw) {
      *error = "global.user: no user '" + runAs.user + "' on this machine";
      return false;
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;  // the user's own group unless global.group says otherwise
    setGroup = true;
  }
  if (!runAs.group.empty()) {
    const group* gr = ::getgrnam(runAs.group.c_str());
    if (!gr) {
      *error = "global.group: no group '" + runAs.group + "' on this machine";
      return false;
    }
    gid = gr->gr_gid;
  }
  // Already that user (started unprivileged, e.g. by a service manager): nothing to give up.
  if (runAs.chroot.empty() && (!setUser || ::getuid() == uid) && ::getgid() == gid &&
      ::geteuid() == ::getuid() && ::getuid() != 0)
    return true;
  // Changing credentials clears the parent-death signal (prctl(2)); it is set again below so a
  // supervised worker still dies with its supervisor.
  int deathSignal = 0;
  ::prctl(PR_GET_PDEATHSIG, &deathSignal);
  pid_t parent = ::getppid();

  if (!runAs.chroot.empty()) {
    if (::chroot(runAs.chroot.c_str()) != 0)
      return *error = sysError("chroot " + runAs.chroot), false;
    if (::chdir("/") != 0) return *error = sysError("chdir / in " + runAs.chroot), false;
  }
  if (setGroup) {
    if (::setgroups(1, &gid) != 0) return *error = sysError("setgroups"), false;
    if (::setgid(gid) != 0) return *error = sysError("setgid " + std::to_string(gid)), false;
  }
  if (setUser) {
    if (::setuid(uid) != 0) return *error = sysError("setuid " + std::to_string(uid)), false;
    // setuid() from root sets all three ids; make sure there is no way back.
    if (uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
      *error = "root could be regained after setuid " + std::to_string(uid);
      return false;
    }
  }
  if (deathSignal != 0) {
    ::prctl(PR_SET_PDEATHSIG, deathSignal);
    if (::getppid() != parent) ::raise(deathSignal);  // the parent died meanwhile
  }
  return true;
}

}  // namespace tandem::appliance
