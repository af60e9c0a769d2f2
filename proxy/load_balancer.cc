#include "proxy/load_balancer.h"

#include <algorithm>
#include <cmath>

namespace tandem::proxy {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t hashKey(std::string_view key) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, then mixed
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return splitmix64(h);
}

LoadBalancer::LoadBalancer(BackendRuntime& backend)
    : backend_(backend), currentWeight_(backend.servers.size(), 0) {}

void LoadBalancer::usableServers(const ServerRuntime* avoid,
                                 std::vector<ServerRuntime*>* out) const {
  out->clear();
  // Active servers first; backups only when no active server is usable (HAProxy semantics):
  // the first usable backup, or all of them with `allbackups`.
  for (const auto& s : backend_.servers)
    if (!s->config->backup && s->health.usable()) out->push_back(s.get());
  if (out->empty()) {
    for (const auto& s : backend_.servers) {
      if (!s->config->backup || !s->health.usable()) continue;
      out->push_back(s.get());
      if (!backend_.config->allbackups) break;
    }
  }
  if (avoid && out->size() > 1) {
    for (size_t i = 0; i < out->size(); ++i)
      if ((*out)[i] == avoid) {
        out->erase(out->begin() + i);
        break;
      }
  }
}

ServerRuntime* LoadBalancer::pick(const PickContext& ctx, const ServerRuntime* avoid,
                                  PickFailure* why) {
  *why = PickFailure::None;
  usableServers(avoid, &scratch_);
  if (scratch_.empty()) {
    *why = PickFailure::NoServer;
    return nullptr;
  }
  // Each pass removes a server found full since the choice, until one slot is taken.
  while (!scratch_.empty()) {
    ServerRuntime* s = nullptr;
    switch (backend_.config->balance.algorithm) {
      case Balance::Algorithm::RoundRobin:
        s = roundRobin(scratch_);
        break;
      case Balance::Algorithm::LeastConn:
        s = leastConn(scratch_);
        break;
      case Balance::Algorithm::Source: {
        std::string_view key;
        if (ctx.client) {
          size_t n = ctx.client->family == AF_INET ? 4 : 16;
          key = {reinterpret_cast<const char*>(ctx.client->bytes.data()), n};
        }
        s = hashed(scratch_, key);
        break;
      }
      case Balance::Algorithm::Uri:
        s = hashed(scratch_, backend_.config->balance.uriWhole ? ctx.fullUri : ctx.path);
        break;
      case Balance::Algorithm::First:
        s = scratch_.front();
        break;
    }
    if (s->acquireSlot(backend_.serverLimit(*s))) {
      s->served.fetch_add(1, std::memory_order_relaxed);
      return s;
    }
    for (size_t i = 0; i < scratch_.size(); ++i)
      if (scratch_[i] == s) {
        scratch_.erase(scratch_.begin() + i);
        break;
      }
  }
  *why = PickFailure::AllFull;
  return nullptr;
}

ServerRuntime* LoadBalancer::pickAgain(ServerRuntime& failed, const PickContext& ctx,
                                       PickFailure* why) {
  usableServers(nullptr, &scratch_);
  if (std::find(scratch_.begin(), scratch_.end(), &failed) == scratch_.end())
    return pick(ctx, nullptr, why);
  if (!failed.acquireSlot(backend_.serverLimit(failed))) {
    *why = PickFailure::AllFull;
    return nullptr;
  }
  *why = PickFailure::None;
  failed.served.fetch_add(1, std::memory_order_relaxed);
  return &failed;
}

ServerRuntime* LoadBalancer::roundRobin(const std::vector<ServerRuntime*>& c) {
  int64_t total = 0;
  ServerRuntime* best = nullptr;
  for (ServerRuntime* s : c) {
    int64_t w = s->health.effectiveWeight();
    total += w;
    currentWeight_[s->index] += w;
    if (!best || currentWeight_[s->index] > currentWeight_[best->index]) best = s;
  }
  currentWeight_[best->index] -= total;
  return best;
}

ServerRuntime* LoadBalancer::leastConn(const std::vector<ServerRuntime*>& c) {
  ServerRuntime* best = nullptr;
  uint64_t bestActive = 0;
  int64_t bestWeight = 1;
  size_t n = c.size();
  size_t start = rotation_++ % n;
  for (size_t k = 0; k < n; ++k) {
    ServerRuntime* s = c[(start + k) % n];
    uint64_t a = s->active.load(std::memory_order_relaxed) + 1;
    int64_t w = s->health.effectiveWeight();
    // a/w < bestActive/bestWeight without division
    if (!best || a * static_cast<uint64_t>(bestWeight) < bestActive * static_cast<uint64_t>(w)) {
      best = s;
      bestActive = a;
      bestWeight = w;
    }
  }
  return best;
}

ServerRuntime* LoadBalancer::hashed(const std::vector<ServerRuntime*>& c, std::string_view key) {
  // Weighted rendezvous hashing: score = -w / ln(u), u uniform in (0,1) from hash(key, server).
  uint64_t kh = hashKey(key);
  ServerRuntime* best = nullptr;
  double bestScore = 0;
  for (ServerRuntime* s : c) {
    uint64_t h = splitmix64(kh ^ splitmix64(s->index + 1));
    double u = (static_cast<double>(h >> 11) + 0.5) / 9007199254740992.0;  // (0,1)
    double score = -static_cast<double>(s->health.effectiveWeight()) / std::log(u);
    if (!best || score > bestScore) {
      best = s;
      bestScore = score;
    }
  }
  return best;
}

}  // namespace tandem::proxy
