// TLS session ticket keys from a file (global.tls.ticket_keys), so that every worker, the ones
// a reload starts included, encrypts and decrypts tickets with the same keys: a client
// returning after a reload resumes instead of paying a full handshake (OpenSSL's keys are
// random per process otherwise). HAProxy's tls-ticket-keys format: one key per line, base64,
// 48 bytes (name 16, AES-128 key 16, HMAC key 16) or 80 bytes (name 16, AES-256 key 32, HMAC
// key 32), e.g. `openssl rand 80 | base64 -w0`. The first key encrypts new tickets; every key
// decrypts, and a ticket under another key is renewed under the first. Rotation: put a new
// key first, drop the oldest, reload.
#pragma once

#include <openssl/types.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::proxy {

struct TicketKey {
  std::array<unsigned char, 16> name{};
  std::vector<unsigned char> aes;   // 16 or 32 bytes
  std::vector<unsigned char> hmac;  // 16 or 32 bytes
  bool operator==(const TicketKey&) const = default;
};

// Lines of base64 (blank lines and # comments skipped); nullopt and *error when one is not a
// 48- or 80-byte key, or there is none.
std::optional<std::vector<TicketKey>> parseTicketKeys(std::string_view text, std::string* error);

// Makes `ctx` use `keys` (which must outlive it) for its tickets.
void useTicketKeys(SSL_CTX* ctx, const std::vector<TicketKey>* keys);

}  // namespace tandem::proxy
