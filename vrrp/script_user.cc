#include "vrrp/script_user.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <string_view>

namespace tandem::vrrp {

namespace {

std::vector<gid_t> supplementaryGroups(const char* name, gid_t gid) {
  int n = 64;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  if (::getgrouplist(name, gid, groups.data(), &n) == -1) {
    groups.resize(static_cast<size_t>(n));
    if (::getgrouplist(name, gid, groups.data(), &n) == -1) return {gid};
  }
  groups.resize(static_cast<size_t>(n));
  return groups;
}

std::string userName(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  return pw ? std::string(pw->pw_name) : "uid " + std::to_string(uid);
}

std::string groupName(gid_t gid) {
  const group* gr = ::getgrgid(gid);
  return gr ? std::string(gr->gr_name) : "gid " + std::to_string(gid);
}

// Why `st` (of `path`) can be changed by someone other than root, or "".
std::string writableByOthers(const std::string& path, const struct stat& st) {
  bool dir = S_ISDIR(st.st_mode);
  std::string what;
  if (st.st_uid != 0)
    what = "owned by " + userName(st.st_uid);
  else if ((st.st_mode & S_IWGRP) && st.st_gid != 0)
    what = "writable by group " + groupName(st.st_gid);
  else if ((st.st_mode & S_IWOTH) && !(dir && (st.st_mode & S_ISVTX)))
    what = "writable by everyone";
  if (what.empty()) return "";
  return path + " is " + what +
         ", and scripts run from files only root can change (keepalived's "
         "enable_script_security); fix: chown root:root " +
         path + " && chmod go-w " + path;
}

// Checks `path` and every directory above it, as written (a link is judged by the directory
// that holds it) and as resolved.
std::string checkChain(const std::string& path) {
  std::vector<std::string> chain;
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1))
    chain.push_back(path.substr(0, slash));
  chain.insert(chain.begin(), "/");
  chain.push_back(path);
  std::array<char, PATH_MAX> real{};
  if (::realpath(path.c_str(), real.data()) && path != real.data()) {
    std::string r = real.data();
    for (size_t slash = r.find('/', 1); slash != std::string::npos; slash = r.find('/', slash + 1))
      chain.push_back(r.substr(0, slash));
    chain.push_back(r);
  }
  std::set<std::string> seen;
  for (const auto& p : chain) {
    if (!seen.insert(p).second) continue;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return p + ": " + std::strerror(errno);
    if (S_ISLNK(st.st_mode)) continue;  // its target is checked through the resolved chain
    std::string why = writableByOthers(p, st);
    if (!why.empty()) return why;
  }
  return "";
}

bool isShellWord(std::string_view w) {
  static const std::set<std::string_view> kBuiltins = {
      "!",     "{",      "(",    ".",      ":",      "[[",    "case",   "cd",    "eval",
      "exit",  "export", "for",  "if",     "return", "set",   "source", "unset", "until",
      "while", "wait",   "trap", "ulimit", "umask",  "local", "shift",  "read",  "let"};
  if (kBuiltins.count(w)) return true;
  return w.find_first_of("=$`;|&<>(){}'\"\\*?") != std::string_view::npos;
}

std::string findOnPath(const std::string& name) {
  const char* env = std::getenv("PATH");
  std::string path =
      env && *env ? env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::istringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty() || dir.front() != '/') continue;  // a relative PATH entry is never searched
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

}  // namespace

std::optional<ScriptUser> resolveScriptUser(const std::string& user, const std::string& group,
                                            std::string* error, std::string* warning) {
  ScriptUser out;
  const passwd* pw = nullptr;
  if (user.empty()) {
    pw = ::getpwnam(kDefaultScriptUser);
    if (!pw) {
      if (warning)
        *warning = std::string("no user '") + kDefaultScriptUser +
                   "' on this machine (the package creates it): track scripts and notify hooks "
                   "run as root; set vrrp.script_user";
      pw = ::getpwuid(0);
    }
  } else {
    pw = ::getpwnam(user.c_str());
    if (!pw) {
      *error = "no user '" + user + "' on this machine";
      return std::nullopt;
    }
  }
  if (!pw) {
    *error = "cannot read the user database";
    return std::nullopt;
  }
  out.name = pw->pw_name;
  out.uid = pw->pw_uid;
  out.gid = pw->pw_gid;
  if (!group.empty()) {
    const struct group* gr = ::getgrnam(group.c_str());
    if (!gr) {
      *error = "no group '" + group + "' on this machine";
      return std::nullopt;
    }
    out.gid = gr->gr_gid;
    out.groups = {out.gid};
  } else {
    out.groups = supplementaryGroups(pw->pw_name, out.gid);
  }
  return out;
}

std::string scriptProgram(const std::string& command) {
  std::istringstream words(command);
  std::string first;
  words >> first;
  if (first == "exec") words >> first;
  if (first.empty() || isShellWord(first)) return "";
  if (first.find('/') != std::string::npos) return first;
  std::string found = findOnPath(first);
  return found.empty() ? first : found;
}

std::string scriptSecurityProblem(const std::string& command) {
  std::string program = scriptProgram(command);
  if (program.empty()) return "";
  if (program.front() != '/') {
    if (program.find('/') != std::string::npos)
      return "'" + program + "' is a relative path: give the script's absolute path";
    return "no program '" + program + "' on PATH";
  }
  struct stat st {};
  if (::stat(program.c_str(), &st) != 0) return program + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111)) return program + " is not an executable file";
  return checkChain(program);
}

}  // namespace tandem::vrrp
