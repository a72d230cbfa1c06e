// Fuzzes config resolution: the config text (with `base:` inheritance from the shipped
// configs, or from itself), then `--set` overrides. Input: lines starting with "--set "
// are overrides, the rest is the config file. Bad input must end in fl::InputError; any
// other exception, a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/config_loader.h"
#include "sim/core/errors.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text;
  std::vector<std::string> sets;
  const std::string in(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  while (pos <= in.size()) {
    const size_t nl = in.find('\n', pos);
    const std::string line = in.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (line.rfind("--set ", 0) == 0) {
      sets.push_back(line.substr(6));
    } else {
      text += line + "\n";
    }
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  const std::string path =
      fl::fuzz::write_input("fuzz.textproto", reinterpret_cast<const uint8_t*>(text.data()), text.size());
  try {
    const fl::ResolvedConfig rc = fl::resolve_config(path, sets, std::nullopt);
    // The resolved config must print and re-parse: it is written to every run's outputs.
    (void)fl::to_textproto(rc.msg, fl::Annotate::kOrigin, &rc.origin);
  } catch (const fl::InputError&) {
  }
  return 0;
}
