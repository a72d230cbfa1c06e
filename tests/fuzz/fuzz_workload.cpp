// Fuzzes workload loading and validation against the built-in default config: bad input
// must end in fl::InputError; any other exception, a crash or a sanitizer report is a
// finding.
#include <cstddef>
#include <cstdint>

#include "sim/core/config_loader.h"
#include "sim/core/errors.h"
#include "sim/platform/workload.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fl::ResolvedConfig defaults = fl::resolve_config("", {}, std::nullopt);
  const std::string path = fl::fuzz::write_input("workload.textproto", data, size);
  try {
    const fl::platform::Workload w = fl::platform::load_workload(path);
    fl::platform::validate_workload(w, defaults.msg);
  } catch (const fl::InputError&) {
  }
  return 0;
}
