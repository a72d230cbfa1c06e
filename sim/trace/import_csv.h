// Importer of access CSV files into a faultline trace (docs/traces.md), for captures in no
// other supported format.
//
// Input: a header line naming the columns, in any order,
//     time_ns,stream,address,size,rw
// then one access per line: its start time in ns (any origin; times need not be sorted),
// its stream (a thread, warp or queue: accesses of a stream are replayed in file order),
// its virtual address (decimal or 0x hex), its size in bytes (1 to 4096, not crossing a
// 4 KiB page) and R or W. Blank lines and lines starting with '#' are skipped; fields may
// be surrounded by spaces; no quoting.
//
// What it becomes: one buffer covering every address (from the lowest page touched to the
// end of the highest), system memory that starts host-resident; one kernel with a wave per
// stream (streams are numbered 0..S-1 in the trace by first appearance, spread over `cus`
// compute units), one outstanding access per wave; each access keeps its offset into the
// buffer, size, direction and start time since the earliest one (the open-loop replay
// issues it then); then a wait.
//
// The file is read twice (the buffer's extent, then the accesses), so memory holds only
// the stream numbering, not the accesses.
#pragma once

#include <cstdint>
#include <string>

#include "sim/trace/import_jsonl.h"  // ImportSummary

namespace fl::trace {

struct CsvOptions {
  uint32_t cus = 0;  // compute units the streams spread over; 0: min(streams, 104)
};

// Throws fl::InputError naming the file and line.
ImportSummary import_csv(const std::string& in_path, const std::string& out_path, const CsvOptions& opts);

}  // namespace fl::trace
