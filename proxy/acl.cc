#include "proxy/acl.h"

#include <strings.h>

#include <algorithm>
#include <functional>

namespace tandem::proxy {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool equalsMaybeCase(std::string_view a, std::string_view b, bool ci) {
  if (a.size() != b.size()) return false;
  return ci ? strncasecmp(a.data(), b.data(), a.size()) == 0 : a == b;
}

bool containsMaybeCase(std::string_view hay, std::string_view needle, bool ci) {
  if (!ci) return hay.find(needle) != std::string_view::npos;
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (strncasecmp(hay.data() + i, needle.data(), needle.size()) == 0) return true;
  return false;
}

}  // namespace

CompiledAcl::CompiledAcl(const Acl& acl)
    : kind_(acl.kind),
      header_(acl.header),
      networks_(acl.networks),
      caseInsensitive_(acl.caseInsensitive) {
  for (const auto& v : acl.values) {
    if (kind_ == Acl::Kind::PathReg || kind_ == Acl::Kind::HeaderReg) {
      // Validated by `tandem check`; a failure here cannot happen with a loaded config.
      if (auto re = Regex::compile(v, caseInsensitive_, nullptr)) regexes_.push_back(*re);
    } else {
      values_.push_back(kind_ == Acl::Kind::Host ? lower(v) : v);
    }
  }
}

bool CompiledAcl::match(const RequestView& req) const {
  switch (kind_) {
    case Acl::Kind::Host: {
      std::string_view h = req.host();
      for (const auto& v : values_)
        if (equalsMaybeCase(h, v, true)) return true;
      return false;
    }
    case Acl::Kind::Path:
      for (const auto& v : values_)
        if (equalsMaybeCase(req.path(), v, caseInsensitive_)) return true;
      return false;
    case Acl::Kind::PathBeg:
      for (const auto& v : values_)
        if (req.path().size() >= v.size() &&
            equalsMaybeCase(req.path().substr(0, v.size()), v, caseInsensitive_))
          return true;
      return false;
    case Acl::Kind::PathEnd:
      for (const auto& v : values_)
        if (req.path().size() >= v.size() &&
            equalsMaybeCase(req.path().substr(req.path().size() - v.size()), v, caseInsensitive_))
          return true;
      return false;
    case Acl::Kind::PathReg:
      for (const auto& re : regexes_)
        if (re.search(req.path())) return true;
      return false;
    case Acl::Kind::Method:
      for (const auto& v : values_)
        if (req.method() == v) return true;
      return false;
    case Acl::Kind::HeaderEq:
      return req.anyHeader(header_, [&](std::string_view hv) {
        for (const auto& v : values_)
          if (equalsMaybeCase(hv, v, caseInsensitive_)) return true;
        return false;
      });
    case Acl::Kind::HeaderSub:
      return req.anyHeader(header_, [&](std::string_view hv) {
        for (const auto& v : values_)
          if (containsMaybeCase(hv, v, caseInsensitive_)) return true;
        return false;
      });
    case Acl::Kind::HeaderReg:
      return req.anyHeader(header_, [&](std::string_view hv) {
        for (const auto& re : regexes_)
          if (re.search(hv)) return true;
        return false;
      });
    case Acl::Kind::HeaderExists:
      return req.anyHeader(header_, [](std::string_view) { return true; });
    case Acl::Kind::Src:
      for (const auto& n : networks_)
        if (n.contains(req.clientAddress())) return true;
      return false;
    case Acl::Kind::Ssl:
      return req.tls();
    case Acl::Kind::SslClientUsed: {
      const PeerCertificate* c = req.clientCertificate();
      return c && c->presented;
    }
    case Acl::Kind::SslClientVerify:
    case Acl::Kind::SslClientSubject:
    case Acl::Kind::SslClientSha256: {
      const PeerCertificate* c = req.clientCertificate();
      if (!c || !c->presented) return false;
      std::string got = kind_ == Acl::Kind::SslClientVerify    ? std::to_string(c->verifyResult)
                        : kind_ == Acl::Kind::SslClientSubject ? c->subject
                                                               : c->sha256;
      for (const auto& v : values_)
        if (equalsMaybeCase(v, got, kind_ == Acl::Kind::SslClientSha256)) return true;
      return false;
    }
  }
  return false;
}

CompiledCondition::CompiledCondition(const Guard& guard, const std::vector<std::string>& names) {
  if (!guard.condition) return;
  always_ = false;
  negate_ = guard.negate;
  root_ = compile(*guard.condition, names);
}

CompiledCondition::Node CompiledCondition::compile(const Condition& c,
                                                   const std::vector<std::string>& names) {
  Node n{c.op, -1, {}};
  if (c.op == Condition::Op::Acl) {
    auto it = std::find(names.begin(), names.end(), c.acl);
    n.acl = it == names.end() ? -1 : static_cast<int>(it - names.begin());
  }
  for (const auto& o : c.operands) n.operands.push_back(compile(o, names));
  return n;
}

bool CompiledCondition::evalNode(const Node& n, const std::vector<CompiledAcl>& acls,
                                 const RequestView& req) {
  switch (n.op) {
    case Condition::Op::Acl:
      return n.acl >= 0 && acls[n.acl].match(req);
    case Condition::Op::Not:
      return !evalNode(n.operands[0], acls, req);
    case Condition::Op::And:
      for (const auto& o : n.operands)
        if (!evalNode(o, acls, req)) return false;
      return true;
    case Condition::Op::Or:
      for (const auto& o : n.operands)
        if (evalNode(o, acls, req)) return true;
      return false;
  }
  return false;
}

bool CompiledCondition::eval(const std::vector<CompiledAcl>& acls, const RequestView& req) const {
  if (always_) return true;
  bool r = evalNode(root_, acls, req);
  return negate_ ? !r : r;
}

}  // namespace tandem::proxy
