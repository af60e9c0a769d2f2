#include "appliance/config/config_reference.h"

#include <algorithm>
#include <functional>
#include <map>
#include <sstream>

namespace tandem::appliance::reference {
namespace {

const std::vector<const Part*>& parts() {
  static const std::vector<const Part*> all = {&nodeReference(), &proxyReference(),
                                               &vrrpReference(), &supervisorReference(),
                                               &pairReference()};
  return all;
}

// How a key's value leads to its child block in a display path.
std::string childSuffix(const KeyDoc& k) {
  if (k.type.starts_with("map of NAME")) return ".<name>";
  if (k.type.starts_with("list")) return "[]";
  return "";
}

// Walks the tree from the top: f(block, path) for every place a block appears.
void walk(const std::function<void(std::string_view, const std::string&)>& f) {
  std::vector<std::string> stack;
  std::function<void(std::string_view, const std::string&)> visit = [&](std::string_view block,
                                                                        const std::string& path) {
    if (std::find(stack.begin(), stack.end(), block) != stack.end()) return;
    f(block, path);
    stack.emplace_back(block);
    for (const KeyDoc* k : keysOf(block)) {
      if (k->child.empty()) continue;
      std::string p = path.empty() ? std::string(k->key) : path + "." + std::string(k->key);
      visit(k->child, p + childSuffix(*k));
    }
    stack.pop_back();
  };
  visit("root", "");
}

std::string entry(const KeyDoc& k, bool markdownHeading) {
  std::ostringstream o;
  std::vector<std::string> paths = pathsOf(k.block);
  std::string where;
  for (const auto& p : paths) {
    std::string full = p.empty() ? std::string(k.key) : p + "." + std::string(k.key);
    where += (where.empty() ? "" : ", ") + (markdownHeading ? "`" + full + "`" : full);
  }
  if (markdownHeading)
    o << "### `" << k.key << "`\n\n";
  else
    o << k.key << "\n";
  auto line = [&](const char* label, std::string_view v) {
    if (v.empty()) return;
    if (markdownHeading)
      o << "- **" << label << "**: " << v << "\n";
    else
      o << "  " << label << ": " << v << "\n";
  };
  line("At", where);
  line("Type", k.type);
  line("Default", k.defaultValue);
  std::string example =
      markdownHeading ? "`" + std::string(k.example) + "`" : std::string(k.example);
  line("Example", k.example.empty() ? "" : example);
  line("Equivalent", k.equivalent);
  line("Effect proven by", k.effectTest);
  if (markdownHeading)
    o << "\n" << k.doc << "\n\n";
  else
    o << "\n  " << k.doc << "\n";
  return o.str();
}

}  // namespace

std::vector<const BlockDoc*> allBlocks() {
  std::vector<const BlockDoc*> out;
  for (const Part* p : parts())
    for (const auto& b : p->blocks) out.push_back(&b);
  return out;
}

std::vector<const KeyDoc*> allKeys() {
  std::vector<const KeyDoc*> out;
  for (const Part* p : parts())
    for (const auto& k : p->keys) out.push_back(&k);
  return out;
}

const BlockDoc* findBlock(std::string_view id) {
  for (const BlockDoc* b : allBlocks())
    if (b->id == id) return b;
  return nullptr;
}

std::vector<const KeyDoc*> keysOf(std::string_view block) {
  std::vector<const KeyDoc*> out;
  if (block == "listen") {  // a frontend and a backend of one name, wired together
    for (std::string_view half : {"frontend", "backend"})
      for (const KeyDoc* k : keysOf(half)) {
        if (k->key == "use_backend" || k->key == "default_backend") continue;
        if (std::none_of(out.begin(), out.end(), [&](const KeyDoc* o) { return o->key == k->key; }))
          out.push_back(k);
      }
    return out;
  }
  for (const KeyDoc* k : allKeys())
    if (k->block == block) out.push_back(k);
  return out;
}

const KeyDoc* findKey(std::string_view block, std::string_view key) {
  for (const KeyDoc* k : keysOf(block))
    if (k->key == key) return k;
  return nullptr;
}

std::vector<std::string> pathsOf(std::string_view block) {
  std::vector<std::string> out;
  walk([&](std::string_view b, const std::string& path) {
    if (b == block) out.push_back(path);
  });
  if (block == "frontend" || block == "backend") {  // and through listens
    for (const auto& p : pathsOf("listen")) out.push_back(p);
  }
  return out;
}

std::string explain(std::string_view path, std::string* error) {
  std::vector<std::string> segments;
  std::string seg;
  for (char c : std::string(path) + ".") {
    if (c == '.') {
      if (!seg.empty()) segments.push_back(seg);
      seg.clear();
    } else if (c == '[') {
      if (!seg.empty()) segments.push_back(seg);
      seg = "[";
    } else {
      seg += c;
    }
  }
  std::string_view block = "root";
  const KeyDoc* key = nullptr;
  bool nameMayFollow = false;
  for (const auto& s : segments) {
    if (s.front() == '[') continue;  // an index
    if (key) {
      if (key->child.empty()) {
        *error = "'" + std::string(key->key) + "' has no keys below it";
        return {};
      }
      block = key->child;
    }
    const KeyDoc* next = findKey(block, s);
    if (!next && nameMayFollow) {  // a frontend's, backend's, ACL's... own name
      nameMayFollow = false;
      key = nullptr;
      continue;
    }
    if (!next) {
      std::string known;
      for (const KeyDoc* k : keysOf(block))
        known += (known.empty() ? "" : ", ") + std::string(k->key);
      *error = "no key '" + s + "' in " + std::string(block) + " (keys: " + known + ")";
      return {};
    }
    key = next;
    nameMayFollow = key->type.starts_with("map of NAME");
  }
  if (!key) {
    *error = "no key named in '" + std::string(path) + "'";
    return {};
  }
  std::string out = entry(*key, false);
  if (!key->child.empty()) {
    out += "\n  Keys of its " + std::string(key->child) + ":";
    for (const KeyDoc* k : keysOf(key->child)) out += " " + std::string(k->key);
    out += "\n";
  }
  return out;
}

std::string markdown() {
  std::ostringstream o;
  o << "# Configuration reference\n\n"
       "Generated by `tandem check --reference` from the entries kept next to the code that "
       "reads each key (`appliance/config/*_schema.cc`, `appliance/config/config_loader.cc`); do "
       "not edit by hand. `tandem check --explain PATH` prints one entry, e.g. `tandem check "
       "--explain "
       "backends.servers.weight`.\n\n"
       "Every key listed here takes effect; `tandem check` refuses any other key, and refuses "
       "combinations that would have no effect. \"Effect proven by\" names the test that fails "
       "when the key's effect is removed.\n\n";
  std::vector<std::string> seen;
  o << "## Contents\n\n";
  walk([&](std::string_view b, const std::string& path) {
    if (std::find(seen.begin(), seen.end(), b) != seen.end()) return;
    seen.emplace_back(b);
    const BlockDoc* doc = findBlock(b);
    o << "- [" << (path.empty() ? "top level" : path) << "](#block-" << b << ")"
      << (doc ? " - " + std::string(doc->title) : "") << "\n";
  });
  o << "\n";
  for (const auto& b : seen) {
    const BlockDoc* doc = findBlock(b);
    o << "## <a id=\"block-" << b << "\"></a>" << (doc ? doc->title : b) << " (`" << b << "`)\n\n";
    std::string where;
    for (const auto& p : pathsOf(b))
      where +=
          (where.empty() ? "" : ", ") + ("`" + (p.empty() ? std::string("(top level)") : p) + "`");
    o << "Appears at: " << where << "\n\n";
    if (doc) o << doc->doc << "\n\n";
    if (b == "listen") {
      o << "A listen takes every key of a [frontend](#block-frontend) except use_backend and "
           "default_backend, and every key of a [backend](#block-backend).\n\n";
      continue;
    }
    for (const KeyDoc* k : keysOf(b)) o << entry(*k, true);
  }
  return o.str();
}

}  // namespace tandem::appliance::reference
