// The pair key: 32 random bytes both nodes hold, made once by `tandem pair keygen`. It is the
// TLS 1.3 external pre-shared key of the pair channel (RFC 8446 §2.2), so a node proves it
// holds the key in every handshake and nothing reaches the other supervisor without it.
//
// File format (text, mode 0600):
//   # tandem pair key: keep it secret, give it to both nodes of the pair
//   tandem-pair-key-v1 <64 hex digits>
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace tandem::appliance::pair {

using PairKey = std::array<uint8_t, 32>;

// A new key from OpenSSL's CSPRNG; nullopt if it could not supply one.
std::optional<PairKey> generatePairKey();
std::string formatPairKey(const PairKey& key);
// Parses a key file's text; on failure nullopt and *error says what is wrong with it.
std::optional<PairKey> parsePairKey(const std::string& text, std::string* error);
// Reads and parses a key file. A file others may read is refused: the key is a secret.
std::optional<PairKey> readPairKeyFile(const std::string& path, std::string* error);
// Writes a new key file with mode 0600; refuses to replace an existing file.
bool writePairKeyFile(const std::string& path, const PairKey& key, std::string* error);
// The first 8 hex digits of the key's SHA-256: names a key in logs and status without
// revealing it (the two nodes' fingerprints match when they hold the same key).
std::string pairKeyFingerprint(const PairKey& key);
// What the two nodes compare of their configurations: the first 16 hex digits of the SHA-256
// of the file's text (one `nodes:` file gives both nodes the same hash).
std::string configHash(const std::string& text);

}  // namespace tandem::appliance::pair
