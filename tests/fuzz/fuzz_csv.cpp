// Fuzzes the CSV access importer (sim/trace/import_csv.h), then reads back the trace it
// wrote as a replay would (load_trace): bad input must end in fl::InputError; any other
// exception, a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sim/core/errors.h"
#include "sim/platform/trace_io.h"
#include "sim/trace/import_csv.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in = fl::fuzz::write_input("accesses.csv", data, size);
  const std::string out = fl::fuzz::scratch_dir() + "/imported_csv.fltrace";
  try {
    fl::trace::import_csv(in, out, {});
    (void)fl::platform::load_trace(out);
  } catch (const fl::InputError&) {
  }
  return 0;
}
