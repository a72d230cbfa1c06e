// Importer of per-access JSON Lines captures into a faultline trace (docs/traces.md).
//
// Input, one JSON object per line (blank lines and lines starting with '#' are skipped):
// - a header per captured experiment, before its accesses:
//     {"exp": "tracecap", "name": NAME, "warps": W, "per_warp": N, "footprint": BYTES,
//      "stride": BYTES, "order": "random" | "seq"}
// - one line per access:
//     {"trace": NAME, "w": STREAM, "i": INDEX, "off": BYTES, "t_ns": NS, "lat_ns": NS}
//   `off` is a byte offset into the experiment's one buffer, `t_ns` the access's start
//   relative to the experiment's first access, `lat_ns` its measured latency.
// Keys other than these are ignored; the ones listed must be present with the right type.
//
// What the capture means, as imported: each experiment ran one kernel of W streams (warps)
// over one buffer of managed memory that starts host-resident, each stream a dependent
// chain (one access outstanding). The trace gets, per experiment in file order: an mmap of
// the buffer (system memory, faulted to the GPU on first touch), a launch of a kernel named
// NAME with one wave per warp (spread over `cus` compute units, outstanding 1, pattern
// unused), the accesses, and a wait for the kernel before the next experiment. An access
// keeps its index, offset, start time and latency; its size is `access_bytes` (the capture
// does not record it). Experiments run one after another, so an access of an experiment
// after the next one's header is an error.
//
// Memory: one counter per stream of the current experiment; the input streams through.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace fl::trace {

struct JsonlOptions {
  uint32_t access_bytes = 8;  // size of every access (a pointer-chasing load)
  uint32_t cus = 0;           // compute units the warps spread over; 0: min(warps, 104)
};

struct ImportSummary {
  uint64_t lines = 0;
  uint64_t accesses = 0;
  uint64_t experiments = 0;
  // Streams whose access count differs from their header's per_warp (not an error: a
  // capture may be cut short), one line each.
  std::vector<std::string> notes;
};

// Reads `in` (named `name` in messages) and writes the trace to `out_path` (whole, or not
// at all). Throws fl::InputError naming the input and line.
ImportSummary import_jsonl(std::istream& in, const std::string& name, const std::string& out_path,
                           const JsonlOptions& opts);

}  // namespace fl::trace
