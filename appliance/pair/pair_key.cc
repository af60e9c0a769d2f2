#include "appliance/pair/pair_key.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/fd.h"

namespace tandem::appliance::pair {

namespace {
constexpr const char* kMagic = "tandem-pair-key-v1";

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}
}  // namespace

std::optional<PairKey> generatePairKey() {
  PairKey key;
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) return std::nullopt;
  return key;
}

std::string formatPairKey(const PairKey& key) {
  return std::string("# tandem pair key: keep it secret, give it to both nodes of the pair\n") +
         kMagic + " " + hex(key.data(), key.size()) + "\n";
}

std::optional<PairKey> parsePairKey(const std::string& text, std::string* error) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string magic, digits, extra;
    words >> magic >> digits >> extra;
    if (magic != kMagic || !extra.empty()) {
      *error =
          "not a pair key (expected a line \"tandem-pair-key-v1 <64 hex digits>\", as "
          "`tandem pair keygen` writes)";
      return std::nullopt;
    }
    if (digits.size() != 64) {
      *error =
          "the key must be 64 hex digits (32 bytes), this one has " + std::to_string(digits.size());
      return std::nullopt;
    }
    PairKey key;
    for (size_t i = 0; i < key.size(); ++i) {
      int hi = hexValue(digits[2 * i]), lo = hexValue(digits[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        *error = "the key has a character that is not a hex digit";
        return std::nullopt;
      }
      key[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    return key;
  }
  *error = "the file holds no key (make one with `tandem pair keygen`)";
  return std::nullopt;
}

std::optional<PairKey> readPairKeyFile(const std::string& path, std::string* error) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    *error =
        path + " is readable by others (mode " + mode + "): the pair key is a secret; chmod 600 it";
    return std::nullopt;
  }
  std::ifstream f(path);
  if (!f) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::stringstream text;
  text << f.rdbuf();
  std::string why;
  auto key = parsePairKey(text.str(), &why);
  if (!key) *error = path + ": " + why;
  return key;
}

bool writePairKeyFile(const std::string& path, const PairKey& key, std::string* error) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) {
    *error = "cannot create " + path + ": " + std::strerror(errno) +
             (errno == EEXIST ? " (a key is never overwritten: remove the old file first)" : "");
    return false;
  }
  std::string text = formatPairKey(key);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd.get()) != 0) {
    *error = "cannot write " + path + ": " + std::strerror(errno);
    ::unlink(path.c_str());
    return false;
  }
  return true;
}

namespace {
std::string sha256Hex(const void* data, size_t size, size_t bytes) {
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data, size, digest, &len, EVP_sha256(), nullptr);
  return hex(digest, std::min<size_t>(bytes, len));
}
}  // namespace

std::string pairKeyFingerprint(const PairKey& key) {
  return sha256Hex(key.data(), key.size(), 4);
}

std::string configHash(const std::string& text) {
  return sha256Hex(text.data(), text.size(), 8);
}

}  // namespace tandem::appliance::pair
