#include "appliance/config/config_snapshot.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tandem::appliance {

UniqueFd writeConfigSnapshot(const std::string& text, std::string* error) {
  UniqueFd fd(::memfd_create("tandem-config", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) {
    *error = std::string("memfd_create: ") + std::strerror(errno);
    return UniqueFd();
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = std::string("writing the configuration snapshot: ") + std::strerror(errno);
      return UniqueFd();
    }
    done += static_cast<size_t>(n);
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0) {
    *error = std::string("sealing the configuration snapshot: ") + std::strerror(errno);
    return UniqueFd();
  }
  return fd;
}

std::optional<std::string> readConfigSnapshot(int fd, std::string* error) {
  std::string text;
  char buf[16384];
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof(buf), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = std::string("reading the configuration snapshot (fd ") + std::to_string(fd) +
               "): " + std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
    offset += n;
  }
}

}  // namespace tandem::appliance
