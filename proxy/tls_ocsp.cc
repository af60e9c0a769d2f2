#include "proxy/tls_ocsp.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tandem::proxy {

namespace {
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct ResponseFree {
  void operator()(OCSP_RESPONSE* r) const { OCSP_RESPONSE_free(r); }
};
struct BasicFree {
  void operator()(OCSP_BASICRESP* r) const { OCSP_BASICRESP_free(r); }
};
struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// The first certificate of a PEM file and the one after it (its issuer, when the chain is
// there).
bool readPair(const std::string& file, X509Ptr* cert, X509Ptr* next) {
  std::unique_ptr<FILE, FileClose> f(std::fopen(file.c_str(), "r"));
  if (!f) return false;
  cert->reset(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (*cert) next->reset(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return *cert != nullptr;
}

bool readFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}
}  // namespace

std::unique_ptr<OcspStaple> OcspStaple::forCertificate(const std::string& certificateFile,
                                                       std::string* error) {
  X509Ptr cert, issuer;
  if (!readPair(certificateFile, &cert, &issuer)) {
    *error = "cannot read the certificate in '" + certificateFile + "'";
    return nullptr;
  }
  if (!issuer) {
    X509Ptr ignored;
    readPair(certificateFile + ".issuer", &issuer, &ignored);
  }
  if (!issuer) {
    *error = "OCSP: no issuer for '" + certificateFile +
             "': put the chain after the certificate, or the issuer in '" + certificateFile +
             ".issuer'";
    return nullptr;
  }
  std::unique_ptr<OcspStaple> s(new OcspStaple());
  s->file_ = certificateFile;
  s->id_ = OCSP_cert_to_id(nullptr, cert.get(), issuer.get());
  if (!s->id_) {
    *error = "OCSP: cannot make the certificate id of '" + certificateFile + "'";
    ERR_clear_error();
    return nullptr;
  }
  return s;
}

OcspStaple::~OcspStaple() {
  OCSP_CERTID_free(id_);
}

std::optional<std::string> OcspStaple::check(const std::string& der) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!id_) return "no issuer known for this certificate";
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<OCSP_RESPONSE, ResponseFree> resp(
      d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp) {
    ERR_clear_error();
    return "not a DER OCSP response";
  }
  int status = OCSP_response_status(resp.get());
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    return std::string("the responder answered ") + OCSP_response_status_str(status);
  std::unique_ptr<OCSP_BASICRESP, BasicFree> basic(OCSP_response_get1_basic(resp.get()));
  if (!basic) {
    ERR_clear_error();
    return "no basic response in it";
  }
  int certStatus = 0, reason = 0;
  ASN1_GENERALIZEDTIME *thisUpdate = nullptr, *nextUpdate = nullptr;
  if (OCSP_resp_find_status(basic.get(), id_, &certStatus, &reason, nullptr, &thisUpdate,
                            &nextUpdate) != 1)
    return "it is about another certificate";
  // As HAProxy: a response that can never go out of date, or that says nothing, is no use.
  if (!nextUpdate) return "it has no nextUpdate (it could never be judged out of date)";
  if (certStatus == V_OCSP_CERTSTATUS_UNKNOWN) return "the responder does not know the certificate";
  // Five minutes of clock skew either way, as OpenSSL's own tools allow.
  if (OCSP_check_validity(thisUpdate, nextUpdate, 300, -1) != 1) {
    ERR_clear_error();
    return "it is out of date (past its nextUpdate, or not yet valid)";
  }
  if (certStatus == V_OCSP_CERTSTATUS_REVOKED) return "it says the certificate is revoked";
  return std::nullopt;
}

void OcspStaple::set(std::string der) {
  // (check() and set() each lock: a rebind between them leaves a response the next check
  // would refuse; `set ssl ocsp-response` and `commit ssl cert` come one at a time.)
  auto next = std::make_shared<const std::string>(std::move(der));
  std::lock_guard<std::mutex> lock(mutex_);
  der_ = std::move(next);
}

std::shared_ptr<const std::string> OcspStaple::response() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return der_;
}

bool OcspStaple::loadFile(std::string* error) {
  std::string path = file_ + ".ocsp", der;
  if (!readFile(path, &der)) return true;  // nothing to staple
  if (auto why = check(der)) {
    *error = "OCSP response '" + path + "': " + *why;
    return false;
  }
  set(std::move(der));
  return true;
}

namespace {
int stapleIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
}  // namespace

void OcspStaple::attach(SSL_CTX* ctx) {
  SSL_CTX_set_ex_data(ctx, stapleIndex(), this);
  enable(ctx);
}

OcspStaple* OcspStaple::of(SSL_CTX* ctx) {
  return static_cast<OcspStaple*>(SSL_CTX_get_ex_data(ctx, stapleIndex()));
}

void OcspStaple::rebind(X509* certificate, X509* issuer) {
  OCSP_CERTID* id = issuer ? OCSP_cert_to_id(nullptr, certificate, issuer) : nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  OCSP_CERTID_free(id_);
  id_ = id;
  der_.reset();
}

void OcspStaple::enable(SSL_CTX* ctx) {
  SSL_CTX_set_tlsext_status_cb(ctx, &OcspStaple::onStatusRequest);
}

int OcspStaple::onStatusRequest(SSL* ssl, void*) {
  // The certificate's context, as the SNI chose it.
  auto* self = static_cast<OcspStaple*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), stapleIndex()));
  if (!self) return SSL_TLSEXT_ERR_NOACK;
  std::shared_ptr<const std::string> der = self->response();
  if (!der || der->empty()) return SSL_TLSEXT_ERR_NOACK;
  // OpenSSL frees what it is given: a copy in its allocator.
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(der->size()));
  if (!copy) return SSL_TLSEXT_ERR_NOACK;
  std::memcpy(copy, der->data(), der->size());
  SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(der->size()));
  return SSL_TLSEXT_ERR_OK;
}

std::optional<std::string> checkOcspFile(const std::string& certificateFile) {
  std::string der;
  if (!readFile(certificateFile + ".ocsp", &der)) return std::nullopt;
  std::string error;
  auto staple = OcspStaple::forCertificate(certificateFile, &error);
  if (!staple) return error;
  if (!staple->loadFile(&error)) return error;
  return std::nullopt;
}

}  // namespace tandem::proxy
