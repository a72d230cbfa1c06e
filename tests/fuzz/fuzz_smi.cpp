// Fuzzes the KFD SMI event log parser (sim/trace/smi_log.h) through its importer
// (import_smi.h), reads back the trace it wrote as a replay would (load_trace), and
// compares the log with itself and with that trace (smi_compare.h). The first input byte
// picks how event 14 is read (unset, DROPPED_EVENT, QUEUE_RESTORE_RESCHEDULED), so every
// path of the parser is reachable. Bad input must end in fl::InputError; any other
// exception, a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sim/core/errors.h"
#include "sim/platform/trace_io.h"
#include "sim/trace/import_smi.h"
#include "sim/trace/smi_compare.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  fl::trace::SmiImportOptions o;
  o.smi.event14 = static_cast<fl::trace::SmiEvent14>(data[0] % 3);
  const std::string in = fl::fuzz::write_input("events.smi", data + 1, size - 1);
  const std::string out = fl::fuzz::scratch_dir() + "/imported_smi.fltrace";
  try {
    fl::trace::import_smi(in, out, o);
    (void)fl::platform::load_trace(out);
    fl::trace::SmiCompareOptions c;
    c.smi = o.smi;
    (void)fl::trace::compare_smi(in, in, c);
    (void)fl::trace::compare_smi(out, in, c);
  } catch (const fl::InputError&) {
  }
  return 0;
}
