// Who runs track scripts and notify hooks, and from which files: keepalived's `script_user` and
// `enable_script_security`. The agent is root (it moves addresses, sends raw packets); a script
// it starts as root from a file some other user can change is a way to root for that user.
// So scripts run as an unprivileged user, and only from files nobody but root can change.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace tandem::vrrp {

struct ScriptUser {
  std::string name = "root";
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups of the user

  bool operator==(const ScriptUser&) const = default;
};

// The user the package creates, used when `vrrp.script_user` is not set.
inline constexpr const char* kDefaultScriptUser = "tandem";

// Resolves `user` (and `group`, default: the user's own group). An empty `user` means
// kDefaultScriptUser when it exists on this machine, else root with *warning set (keepalived
// falls back the same way). Null + *error when a name does not resolve.
std::optional<ScriptUser> resolveScriptUser(const std::string& user, const std::string& group,
                                            std::string* error, std::string* warning);

// The file a command runs: its first word, found on PATH when it has no slash. Empty when the
// command starts with a shell builtin or keyword (`exit 1`, `test …` is /usr/bin/test), an
// assignment or shell syntax; nothing on disk to check then.
std::string scriptProgram(const std::string& command);

// "" when the program `command` runs exists and neither it nor any directory above it can be
// changed by anyone but root (a sticky directory such as /tmp is fine: others cannot replace
// an entry they do not own). Otherwise what is wrong, naming the path and the fix.
std::string scriptSecurityProblem(const std::string& command);

}  // namespace tandem::vrrp
