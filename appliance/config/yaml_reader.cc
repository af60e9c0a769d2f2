#include "appliance/config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <map>

namespace tandem::appliance {

Location YamlContext::at(const YAML::Node& node) const {
  YAML::Mark m = node.Mark();
  if (m.is_null()) return {file_, 0, 0};
  return {file_, m.line + 1, m.column + 1};
}

void YamlContext::error(const YAML::Node& node, const std::string& path, std::string message) {
  diagnostics_.error(at(node), path, std::move(message));
}

void YamlContext::warning(const YAML::Node& node, const std::string& path, std::string message) {
  diagnostics_.warning(at(node), path, std::move(message));
}

namespace {
size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t bestDist = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    size_t d = editDistance(word, c);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best;
}

std::string didYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string m = closestMatch(word, candidates);
  return m.empty() ? "" : " (did you mean '" + m + "'?)";
}

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "'" + node.Scalar() + "'";
}

std::optional<std::string> readString(YamlContext& ctx, const YAML::Node& node,
                                      const std::string& path) {
  if (!node.IsScalar()) {
    ctx.error(node, path, "expected a string, got " + describe(node));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<int64_t> readInt(YamlContext& ctx, const YAML::Node& node, const std::string& path,
                               int64_t min, int64_t max) {
  std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!node.IsScalar()) {
    ctx.error(node, path, "expected " + range + ", got " + describe(node));
    return std::nullopt;
  }
  const std::string& s = node.Scalar();
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < min || v > max) {
    ctx.error(node, path, "expected " + range + ", got '" + s + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<bool> readBool(YamlContext& ctx, const YAML::Node& node, const std::string& path) {
  if (node.IsScalar()) {
    std::string s = node.Scalar();
    std::transform(s.begin(), s.end(), s.begin(), ::tolower);
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  ctx.error(node, path, "expected true or false, got " + describe(node));
  return std::nullopt;
}

std::optional<Duration> readDuration(YamlContext& ctx, const YAML::Node& node,
                                     const std::string& path, DefaultUnit bare, Duration min,
                                     Duration max) {
  if (!node.IsScalar()) {
    ctx.error(node, path, "expected a duration such as 5s or 500ms, got " + describe(node));
    return std::nullopt;
  }
  std::string why;
  auto d = parseDuration(node.Scalar(), bare, &why);
  if (!d) {
    ctx.error(node, path, why + ", got '" + node.Scalar() + "'");
    return std::nullopt;
  }
  if (*d < min || *d > max) {
    std::string range = "from " + formatDuration(min);
    if (max != Duration::max()) range += " to " + formatDuration(max);
    ctx.error(node, path, "duration must be " + range + ", got '" + node.Scalar() + "'");
    return std::nullopt;
  }
  return d;
}

std::optional<uint64_t> readSize(YamlContext& ctx, const YAML::Node& node,
                                 const std::string& path) {
  if (!node.IsScalar()) {
    ctx.error(node, path, "expected a size such as 16k, got " + describe(node));
    return std::nullopt;
  }
  std::string why;
  auto v = parseSize(node.Scalar(), &why);
  if (!v) ctx.error(node, path, why + ", got '" + node.Scalar() + "'");
  return v;
}

std::vector<YAML::Node> readList(YamlContext& ctx, const YAML::Node& node, const std::string& path,
                                 bool scalarOk) {
  std::vector<YAML::Node> out;
  if (node.IsSequence()) {
    for (const auto& item : node) out.push_back(item);
  } else if (scalarOk && node.IsScalar()) {
    out.push_back(node);
  } else {
    ctx.error(node, path, "expected a list, got " + describe(node));
  }
  return out;
}

MapReader::MapReader(YamlContext& ctx, const YAML::Node& node, std::string path,
                     std::string_view block)
    : ctx_(ctx), node_(node), path_(std::move(path)), block_(block) {
  if (!node.IsMap()) {
    ctx.error(node, path_.empty() ? "(top level)" : path_,
              "expected a mapping (key: value), got " + describe(node));
    return;
  }
  valid_ = true;
  std::map<std::string, int> seen;  // key -> line of first occurrence
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      ctx.error(it->first, path_, "keys must be plain strings");
      continue;
    }
    const std::string& key = it->first.Scalar();
    auto [pos, inserted] = seen.emplace(key, ctx.at(it->first).line);
    if (!inserted) {
      ctx.error(it->first, pathOf(key),
                "duplicate key '" + key + "' (first defined at line " +
                    std::to_string(pos->second) + ")");
    }
  }
}

std::string MapReader::pathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

YAML::Node MapReader::get(std::string_view key) {
  if (declared_.emplace(key).second) ctx_.declared(block_, key);
  if (!valid_) return YAML::Node(YAML::NodeType::Undefined);
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

bool MapReader::has(std::string_view key) {
  return get(key).IsDefined();
}

YAML::Node MapReader::keyNode(std::string_view key) const {
  if (valid_) {
    for (auto it = node_.begin(); it != node_.end(); ++it)
      if (it->first.IsScalar() && it->first.Scalar() == key) return it->first;
  }
  return node_;
}

void MapReader::string(std::string_view key, std::string* out) {
  YAML::Node n = get(key);
  if (!n.IsDefined()) return;
  if (auto v = readString(ctx_, n, pathOf(key))) *out = *v;
}

void MapReader::boolean(std::string_view key, bool* out) {
  YAML::Node n = get(key);
  if (!n.IsDefined()) return;
  if (auto v = readBool(ctx_, n, pathOf(key))) *out = *v;
}

void MapReader::duration(std::string_view key, Duration* out, DefaultUnit bare, Duration min,
                         Duration max) {
  YAML::Node n = get(key);
  if (!n.IsDefined()) return;
  if (auto v = readDuration(ctx_, n, pathOf(key), bare, min, max)) *out = *v;
}

void MapReader::optionalDuration(std::string_view key, std::optional<Duration>* out,
                                 DefaultUnit bare, Duration min, Duration max) {
  YAML::Node n = get(key);
  if (!n.IsDefined()) return;
  if (auto v = readDuration(ctx_, n, pathOf(key), bare, min, max)) *out = *v;
}

void MapReader::size(std::string_view key, uint64_t* out) {
  YAML::Node n = get(key);
  if (!n.IsDefined()) return;
  if (auto v = readSize(ctx_, n, pathOf(key))) *out = *v;
}

bool MapReader::require(std::string_view key) {
  if (has(key)) return true;
  if (valid_) ctx_.error(node_, pathOf(key), "missing required key '" + std::string(key) + "'");
  return false;
}

void MapReader::finish() {
  if (!valid_) return;
  std::vector<std::string> known(declared_.begin(), declared_.end());
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string& key = it->first.Scalar();
    if (declared_.count(key)) continue;
    ctx_.error(it->first, pathOf(key), "unknown key '" + key + "'" + didYouMean(key, known));
  }
}

}  // namespace tandem::appliance
