#include "proxy/tls_ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <cstring>

namespace tandem::proxy {
namespace {

std::optional<std::vector<unsigned char>> base64(std::string_view text) {
  std::string in(text);
  std::vector<unsigned char> out(in.size() / 4 * 3 + 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0 || in.size() % 4 != 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as bytes: take them off.
  size_t pad = 0;
  for (size_t i = in.size(); i > 0 && in[i - 1] == '=' && pad < 2; --i) ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

// Which key, set up on `cipher`/`mac` (OpenSSL 3's ticket callback): 1 done, 2 done and the
// ticket should be renewed (an older key), 0 unknown key (a full handshake), -1 failure.
int onTicketKey(SSL* ssl, unsigned char keyName[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                EVP_MAC_CTX* mac, int encrypt) {
  auto* keys =
      static_cast<const std::vector<TicketKey>*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (!keys || keys->empty()) return -1;
  const TicketKey* key = nullptr;
  int result = 1;
  if (encrypt) {
    key = &keys->front();
    std::memcpy(keyName, key->name.data(), key->name.size());
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
  } else {
    for (size_t i = 0; i < keys->size() && !key; ++i)
      if (std::memcmp(keyName, (*keys)[i].name.data(), 16) == 0) {
        key = &(*keys)[i];
        if (i > 0) result = 2;
      }
    if (!key) return 0;
  }
  const EVP_CIPHER* aes = key->aes.size() == 32 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(
          OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key->hmac.data()), key->hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  int ok = encrypt ? EVP_EncryptInit_ex(cipher, aes, nullptr, key->aes.data(), iv)
                   : EVP_DecryptInit_ex(cipher, aes, nullptr, key->aes.data(), iv);
  return ok == 1 ? result : -1;
}

}  // namespace

std::optional<std::vector<TicketKey>> parseTicketKeys(std::string_view text, std::string* error) {
  std::vector<TicketKey> keys;
  size_t lineNo = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++lineNo;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto bytes = base64(line);
    if (!bytes || (bytes->size() != 48 && bytes->size() != 80)) {
      *error = "line " + std::to_string(lineNo) +
               ": not a ticket key (base64 of 48 or 80 bytes, e.g. openssl rand 80 | base64 -w0)";
      return std::nullopt;
    }
    TicketKey k;
    size_t half = (bytes->size() - 16) / 2;  // 16 (AES-128, HMAC 16) or 32 (AES-256, HMAC 32)
    std::memcpy(k.name.data(), bytes->data(), 16);
    k.aes.assign(bytes->begin() + 16, bytes->begin() + 16 + static_cast<long>(half));
    k.hmac.assign(bytes->begin() + 16 + static_cast<long>(half), bytes->end());
    keys.push_back(std::move(k));
  }
  if (keys.empty()) {
    *error = "no ticket key in the file";
    return std::nullopt;
  }
  return keys;
}

void useTicketKeys(SSL_CTX* ctx, const std::vector<TicketKey>* keys) {
  SSL_CTX_set_app_data(ctx, const_cast<std::vector<TicketKey>*>(keys));
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, onTicketKey);
}

}  // namespace tandem::proxy
