// ACLs compiled from proxy::Acl, and conditions evaluated over one request.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.h"
#include "common/regex.h"
#include "proxy/config.h"
#include "proxy/sample_fetch.h"

namespace tandem::proxy {

// What an ACL may look at: the request head and the connection.
class RequestView {
 public:
  virtual ~RequestView() = default;
  virtual std::string_view method() const = 0;
  virtual std::string_view path() const = 0;  // URL without the query string
  virtual std::string_view host() const = 0;  // Host header without port, "" if absent
  // Calls f(value) for every header named `name` (case-insensitive) until f returns true.
  virtual bool anyHeader(std::string_view name,
                         const std::function<bool(std::string_view)>& f) const = 0;
  virtual const IpAddress& clientAddress() const = 0;
  virtual bool tls() const = 0;
  // The client's certificate (mutual TLS); null on a plain connection.
  virtual const PeerCertificate* clientCertificate() const { return nullptr; }
};

class CompiledAcl {
 public:
  explicit CompiledAcl(const Acl& acl);
  bool match(const RequestView& req) const;

 private:
  Acl::Kind kind_;
  std::string header_;
  std::vector<std::string> values_;  // lower-cased when case-insensitive
  std::vector<Regex> regexes_;
  std::vector<Cidr> networks_;
  bool caseInsensitive_;
};

// A condition whose ACL names are resolved to indexes into a CompiledAcl table.
class CompiledCondition {
 public:
  CompiledCondition() = default;  // always true
  CompiledCondition(const Guard& guard, const std::vector<std::string>& aclNames);
  bool eval(const std::vector<CompiledAcl>& acls, const RequestView& req) const;

 private:
  struct Node {
    Condition::Op op;
    int acl = -1;
    std::vector<Node> operands;
  };
  static Node compile(const Condition& c, const std::vector<std::string>& names);
  static bool evalNode(const Node& n, const std::vector<CompiledAcl>& acls, const RequestView& req);
  bool always_ = true;
  bool negate_ = false;
  Node root_{Condition::Op::Acl, -1, {}};
};

}  // namespace tandem::proxy
