// libFuzzer target: any bytes fed to the config loader must produce a result or diagnostics,
// never a crash, hang or sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string>

#include "appliance/config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto result = tandem::appliance::loadConfigString(text, "fuzz.yaml");
  for (const auto& d : result.diagnostics.all()) (void)d.format();
  return 0;
}
