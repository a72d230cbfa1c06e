// faultline compare: a KFD SMI event log set against another, line by line; in use, a log
// captured on a real system (or the trace imported from it) against the SMI output of its
// replay (faultline replay TRACE --open-loop --smi-events FILE).
//
// Each side is an SMI log (sim/trace/smi_log.h) or a faultline trace whose DriverEvent
// records came from one (faultline import smi). One process per side is compared: the only
// one with timed events, or the one `pid` names on the measured side. Times are taken
// relative to each side's first timed event.
//
// Matching: two events match when they are the same event about the same thing: kind,
// address and size in pages, direction (read/write, migrated/updated), migration source and
// destination as system memory or GPU (GPU ids differ between machines), trigger and the
// rescheduled flag; the n-th such event of one side is paired with the n-th of the other.
// The report gives, per event kind, the counts of each side, matched and unmatched, and the
// offset of matched events' times (simulated minus measured: p50, p90); the durations
// each side's driver took (page fault: PAGE_FAULT_START to the PAGE_FAULT_END of the same
// page; migration: MIGRATE_START to the MIGRATE_END of the same range) as count, p50, p90,
// p99 and max; and the first `show` unmatched lines of each side.
//
// Memory holds both sides' events (about 120 bytes each).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sim/trace/smi_log.h"

namespace fl::trace {

struct SmiCompareOptions {
  SmiOptions smi;               // how both sides' event 14 is read
  std::optional<uint32_t> pid;  // measured side's process; default: the only one
  size_t show = 10;             // unmatched lines listed per side
};

struct SmiComparison {
  std::string report;  // the text faultline compare prints
  uint64_t measured_events = 0;
  uint64_t simulated_events = 0;
  uint64_t matched = 0;
};

// Throws fl::InputError naming the file (and line) it cannot read.
SmiComparison compare_smi(const std::string& measured_path, const std::string& simulated_path,
                          const SmiCompareOptions& opts);

}  // namespace fl::trace
