// Fuzzes the trace reader (sim/trace/trace_file.h) with arbitrary bytes as a trace file:
// the replay's first pass (load_trace) and a full read. Input is raw (libFuzzer mutates the
// compressed bytes; the seed corpus holds small real traces), so most inputs fail gzip's
// checks early; the interesting ones are the valid streams with odd records. Bad input must
// end in fl::InputError; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sim/core/errors.h"
#include "sim/platform/trace_io.h"
#include "sim/trace/trace_file.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fl::fuzz::write_input("input.fltrace", data, size);
  try {
    const fl::platform::TraceWorkload tw = fl::platform::load_trace(path);
    fl::trace::Reader r(path);
    fl::trace::pb::Record rec;
    while (r.next(&rec)) {
    }
  } catch (const fl::InputError&) {
  }
  return 0;
}
