// The guard of the configuration reference: what the loader reads and what the reference
// documents agree key for key, every documented key names the test that proves its effect,
// and docs/configuration.md is what `tandem check --reference` generates.
#include "appliance/config/config_reference.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "appliance/config/config_loader.h"
#include "appliance/pair/pair_key.h"

namespace tandem::appliance::reference {
namespace {

const std::string kSource = TANDEM_SOURCE_DIR;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Loads files that between them reach every block, collecting what the readers ask for.
DeclaredKeys declaredByTheLoader() {
  DeclaredKeys declared;
  for (const char* f : {"/examples/tandem.yaml", "/examples/minimal.yaml",
                        "/tests/appliance/testdata/every_block.yaml"}) {
    LoadResult r = loadConfigFile(kSource + f, &declared);
    EXPECT_EQ(r.diagnostics.errorCount(), 0u) << f;
    for (const auto& d : r.diagnostics.sorted())
      if (d.severity == Severity::Error) ADD_FAILURE() << d.format();
  }
  // `pair:` names a key file that must be private (mode 0600), which a checkout does not
  // keep: the file and its key are made here.
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("tandem-reference-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string error;
  auto key = pair::generatePairKey();
  EXPECT_TRUE(key && pair::writePairKeyFile((dir / "pair.key").string(), *key, &error)) << error;
  {
    std::ofstream y(dir / "pair.yaml");
    y << "frontends: { f: { bind: \"127.0.0.1:8080\", default_backend: b } }\n"
         "backends: { b: { servers: [ { name: s, address: \"127.0.0.1:9\" } ] } }\n"
         "pair: { address: \"127.0.0.1:7400\", peer: \"127.0.0.1:7401\", key_file: "
      << (dir / "pair.key").string() << ", heartbeat: 1s, dead_after: 3s }\n";
  }
  LoadResult r = loadConfigFile((dir / "pair.yaml").string(), &declared);
  EXPECT_EQ(r.diagnostics.errorCount(), 0u) << "pair.yaml";
  for (const auto& d : r.diagnostics.sorted())
    if (d.severity == Severity::Error) ADD_FAILURE() << d.format();
  std::filesystem::remove_all(dir);
  return declared;
}

TEST(ConfigReference, EveryKeyTheLoaderReadsIsDocumented) {
  for (const auto& [block, key] : declaredByTheLoader())
    EXPECT_NE(findKey(block, key), nullptr)
        << block << "." << key << " is read by the loader but has no entry in the reference";
}

TEST(ConfigReference, EveryDocumentedKeyIsReadByTheLoader) {
  DeclaredKeys declared = declaredByTheLoader();
  auto readIn = [&](std::string_view block, std::string_view key) {
    return declared.count({std::string(block), std::string(key)}) > 0;
  };
  for (const KeyDoc* k : allKeys()) {
    bool read = readIn(k->block, k->key) ||
                ((k->block == "frontend" || k->block == "backend") && readIn("listen", k->key));
    EXPECT_TRUE(read) << k->block << "." << k->key
                      << " is documented but no test file reaches it (or the loader lost it)";
  }
}

TEST(ConfigReference, EveryEntryIsComplete) {
  std::set<std::string> ids;
  for (const BlockDoc* b : allBlocks()) {
    EXPECT_TRUE(ids.insert(std::string(b->id)).second) << "block " << b->id << " twice";
    EXPECT_FALSE(b->title.empty() || b->doc.empty()) << b->id;
    EXPECT_FALSE(pathsOf(b->id).empty()) << "block " << b->id << " is reached from no key";
  }
  std::set<std::pair<std::string, std::string>> keys;
  for (const KeyDoc* k : allKeys()) {
    std::string name = std::string(k->block) + "." + std::string(k->key);
    EXPECT_TRUE(keys.insert({std::string(k->block), std::string(k->key)}).second)
        << name << " twice";
    EXPECT_NE(findBlock(k->block), nullptr) << name << ": unknown block";
    EXPECT_FALSE(k->type.empty() || k->doc.empty() || k->example.empty() || k->equivalent.empty() ||
                 k->defaultValue.empty())
        << name << ": type, default, example, equivalent and doc are all needed";
    if (!k->child.empty()) {
      EXPECT_NE(findBlock(k->child), nullptr) << name << ": child";
    }
  }
}

// "tests/DIR/FILE.py::Class::method" or "tests/DIR/FILE.cc::Suite.Name" (parameterized:
// "Prefix/Suite.Name/param") must name a test that exists.
bool testExists(std::string_view id, std::string* why) {
  std::string s(id);
  size_t sep = s.find("::");
  if (sep == std::string::npos) {
    *why = "expected FILE::TEST";
    return false;
  }
  std::string file = kSource + "/" + s.substr(0, sep);
  std::string name = s.substr(sep + 2);
  if (!std::filesystem::exists(file)) {
    *why = "no file " + file;
    return false;
  }
  std::string text = readFile(file);
  if (file.ends_with(".py")) {
    size_t c = name.find("::");
    if (c == std::string::npos) {
      *why = "expected Class::method";
      return false;
    }
    std::string cls = name.substr(0, c), method = name.substr(c + 2);
    if (text.find("class " + cls + "(") == std::string::npos) *why = "no class " + cls;
    if (text.find("def " + method + "(") == std::string::npos) *why = "no method " + method;
    return why->empty();
  }
  // GoogleTest: Suite.Name, or Prefix/Suite.Name/param for a parameterized case (clang-format
  // writes the macros as `TEST(Suite, Name)`).
  std::string param;
  if (size_t slash = name.find('/'); slash != std::string::npos) {
    size_t last = name.rfind('/');
    if (last == slash) {
      *why = "cannot read the test name '" + name + "'";
      return false;
    }
    param = name.substr(last + 1);
    name = name.substr(slash + 1, last - slash - 1);
  }
  size_t dot = name.find('.');
  if (dot == std::string::npos) {
    *why = "cannot read the test name '" + name + "'";
    return false;
  }
  std::string args = "(" + name.substr(0, dot) + ", " + name.substr(dot + 1) + ")";
  if (!param.empty()) {
    if (text.find("TEST_P" + args) == std::string::npos ||
        text.find("{\"" + param + "\"") == std::string::npos)
      *why = "no parameterized case " + s;
  } else if (text.find("TEST" + args) == std::string::npos &&
             text.find("TEST_F" + args) == std::string::npos) {
    *why = "no test " + s;
  }
  return why->empty();
}

TEST(ConfigReference, EveryKeyNamesTheTestThatProvesItsEffect) {
  for (const KeyDoc* k : allKeys()) {
    std::string name = std::string(k->block) + "." + std::string(k->key);
    // A key without an effect test: write one, or refuse the key in the loader.
    EXPECT_FALSE(k->effectTest.empty()) << name << " names no test proving its effect";
    if (k->effectTest.empty()) continue;
    std::string why;
    EXPECT_TRUE(testExists(k->effectTest, &why)) << name << ": " << k->effectTest << ": " << why;
  }
}

TEST(ConfigReference, CheckedInDocumentIsCurrent) {
  std::string want = markdown();
  std::string have = readFile(kSource + "/docs/configuration.md");
  EXPECT_TRUE(have == want) << "docs/configuration.md is stale: run `make reference` "
                               "(tandem check --reference > docs/configuration.md)";
}

TEST(ConfigReference, ExplainFindsKeysWithOrWithoutNames) {
  std::string why;
  std::string a = explain("backends.servers.weight", &why);
  EXPECT_NE(a.find("backends.<name>.servers[].weight"), std::string::npos) << a << why;
  EXPECT_EQ(explain("backends.app.servers[0].weight", &why), a);
  EXPECT_NE(explain("listens.db.timeout.connect", &why).find("HAProxy: timeout connect"),
            std::string::npos);
  EXPECT_TRUE(explain("backends.servers.wieght", &why).empty());
  EXPECT_NE(why.find("no key 'wieght' in server"), std::string::npos) << why;
}

}  // namespace
}  // namespace tandem::appliance::reference
