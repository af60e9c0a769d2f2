// The configuration reference: every key the loader accepts, with its type, default, example,
// HAProxy/keepalived equivalent, what it does and the test that proves it takes effect. Each
// schema reader keeps the entries of the keys it reads (config_loader.cc, proxy_schema.cc,
// vrrp_schema.cc, supervisor_schema.cc), next to the code that reads them; MapReaders name
// their block, so a guard test can check that what is read and what is documented agree.
// docs/configuration.md and `tandem check --explain` are generated from these entries.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tandem::appliance::reference {

// A mapping of the file: a section, or a nested mapping such as `timeout` or one server.
struct BlockDoc {
  std::string_view id;  // as given to MapReader
  std::string_view title;
  std::string_view doc;
};

struct KeyDoc {
  std::string_view block;
  std::string_view key;
  std::string_view type;
  std::string_view defaultValue;
  std::string_view example;
  std::string_view equivalent;  // "HAProxy: ...", "keepalived: ...", or Tandem only
  std::string_view doc;
  // The test that fails when the key's effect is removed: "tests/DIR/FILE.py::Class::method"
  // or "tests/DIR/FILE.cc::Suite.Name". Empty while none exists (the guard test keeps a list).
  std::string_view effectTest;
  std::string_view child = {};  // the block this key's value is (or holds), if any
};

struct Part {
  std::vector<BlockDoc> blocks;
  std::vector<KeyDoc> keys;
};

// The parts, one per schema reader.
const Part& nodeReference();        // config_loader.cc: top level, global, defaults
const Part& proxyReference();       // proxy_schema.cc: frontends, backends, listens, stats
const Part& vrrpReference();        // vrrp_schema.cc
const Part& supervisorReference();  // supervisor_schema.cc
const Part& pairReference();        // pair_schema.cc

std::vector<const BlockDoc*> allBlocks();
std::vector<const KeyDoc*> allKeys();
const BlockDoc* findBlock(std::string_view id);
// The keys of a block in file order; a listen has the keys of a frontend and of a backend.
std::vector<const KeyDoc*> keysOf(std::string_view block);
const KeyDoc* findKey(std::string_view block, std::string_view key);

// Where a block appears, as display paths ("backends.<name>.servers[]"), in tree order.
std::vector<std::string> pathsOf(std::string_view block);

// `tandem check --explain PATH`: the entry of a key given by a dotted path from the top
// ("backends.servers.weight"; names and [indexes] may be written or left out). Empty with
// *error set when the path names no key.
std::string explain(std::string_view path, std::string* error);

// docs/configuration.md.
std::string markdown();

}  // namespace tandem::appliance::reference
