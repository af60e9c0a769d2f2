// Reading YAML with precise diagnostics: every read names file:line:column and the key path,
// records an error instead of throwing, and lets loading continue so one run reports all errors.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "appliance/config/diagnostics.h"
#include "common/duration.h"

namespace tandem::appliance {

class YamlContext {
 public:
  YamlContext(std::string file, Diagnostics& diagnostics)
      : file_(std::move(file)), diagnostics_(diagnostics) {}

  Location at(const YAML::Node& node) const;
  void error(const YAML::Node& node, const std::string& path, std::string message);
  void warning(const YAML::Node& node, const std::string& path, std::string message);
  Diagnostics& diagnostics() { return diagnostics_; }
  const std::string& file() const { return file_; }

  // Every (block, key) a MapReader of a documented block declares goes here when set: the
  // reference's guard test checks them against the configuration reference.
  using KeyRecorder = std::set<std::pair<std::string, std::string>>;  // = DeclaredKeys
  void recordKeysInto(KeyRecorder* recorder) { recorder_ = recorder; }
  void declared(std::string_view block, std::string_view key) {
    if (recorder_ && !block.empty()) recorder_->emplace(block, key);
  }

 private:
  std::string file_;
  Diagnostics& diagnostics_;
  KeyRecorder* recorder_ = nullptr;
};

// Closest candidate within a small edit distance, for "did you mean" hints; empty if none.
std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or "".
std::string didYouMean(std::string_view word, const std::vector<std::string>& candidates);

std::string describe(const YAML::Node& node);  // "a list", "'abc'", "nothing"

std::optional<std::string> readString(YamlContext& ctx, const YAML::Node& node,
                                      const std::string& path);
std::optional<int64_t> readInt(YamlContext& ctx, const YAML::Node& node, const std::string& path,
                               int64_t min, int64_t max);
std::optional<bool> readBool(YamlContext& ctx, const YAML::Node& node, const std::string& path);
std::optional<Duration> readDuration(YamlContext& ctx, const YAML::Node& node,
                                     const std::string& path, DefaultUnit bare, Duration min,
                                     Duration max);
std::optional<uint64_t> readSize(YamlContext& ctx, const YAML::Node& node, const std::string& path);

template <class E>
using Choices = std::vector<std::pair<std::string_view, E>>;

template <class E>
std::optional<E> readChoice(YamlContext& ctx, const YAML::Node& node, const std::string& path,
                            const Choices<E>& choices) {
  auto s = readString(ctx, node, path);
  if (!s) return std::nullopt;
  std::vector<std::string> names;
  for (const auto& [name, value] : choices) {
    if (*s == name) return value;
    names.emplace_back(name);
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  ctx.error(node, path, "expected one of " + list + ", got '" + *s + "'" + didYouMean(*s, names));
  return std::nullopt;
}

// The items of a list; a single scalar counts as a one-item list when `scalarOk`.
std::vector<YAML::Node> readList(YamlContext& ctx, const YAML::Node& node, const std::string& path,
                                 bool scalarOk);

// Reads one mapping. Every key asked for is declared; finish() reports the keys nobody asked
// for as unknown, with a "did you mean" from the declared ones. Duplicate keys are errors.
class MapReader {
 public:
  // `block`: the id of this mapping in the configuration reference (config_reference.h);
  // empty for mappings whose keys are names the user chooses (frontends, acls, ...).
  MapReader(YamlContext& ctx, const YAML::Node& node, std::string path,
            std::string_view block = {});
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;

  bool valid() const { return valid_; }
  YamlContext& ctx() { return ctx_; }
  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  std::string pathOf(std::string_view key) const;

  // The value of `key`, or an undefined node when absent. Declares the key.
  YAML::Node get(std::string_view key);
  bool has(std::string_view key);
  // The node of the key itself (for locating errors about the key).
  YAML::Node keyNode(std::string_view key) const;

  void string(std::string_view key, std::string* out);
  void boolean(std::string_view key, bool* out);
  void duration(std::string_view key, Duration* out, DefaultUnit bare = DefaultUnit::Milliseconds,
                Duration min = Duration(0), Duration max = Duration::max());
  void optionalDuration(std::string_view key, std::optional<Duration>* out,
                        DefaultUnit bare = DefaultUnit::Milliseconds, Duration min = Duration(0),
                        Duration max = Duration::max());
  void size(std::string_view key, uint64_t* out);
  template <class Int>
  void integer(std::string_view key, Int* out, int64_t min, int64_t max) {
    YAML::Node n = get(key);
    if (!n.IsDefined()) return;
    if (auto v = readInt(ctx_, n, pathOf(key), min, max)) *out = static_cast<Int>(*v);
  }
  template <class E>
  void choice(std::string_view key, E* out, const Choices<E>& choices) {
    YAML::Node n = get(key);
    if (!n.IsDefined()) return;
    if (auto v = readChoice(ctx_, n, pathOf(key), choices)) *out = *v;
  }

  // A key that must be present; reports "missing required key" at the mapping.
  bool require(std::string_view key);
  // Report keys never asked for. Call after all reads.
  void finish();

 private:
  YamlContext& ctx_;
  YAML::Node node_;
  std::string path_;
  bool valid_ = false;
  std::string block_;
  std::set<std::string, std::less<>> declared_;
};

}  // namespace tandem::appliance
