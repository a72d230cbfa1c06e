// Importer of KFD SMI event logs (sim/trace/smi_log.h) into a faultline trace, so that the
// page faults and migrations a real system's driver logged replay through faultline's
// hardware and driver models, and the run's SMI output (run --smi-events) can be compared
// with the log line by line (faultline compare, sim/trace/smi_compare.h).
//
// One process's events are imported: the only pid of the log's timed events, or the one
// named by SmiImportOptions::pid (a log of several processes without it is an error that
// lists them). What the trace gets:
// - every timed event of the process as a DriverEvent record, times relative to its first
//   event (VMFAULT, PROCESS_*, resets and DROPPED_EVENT carry no time and are counted only);
// - the memory: the 2 MiB blocks that the process's events name (fault, migration and unmap
//   addresses) grouped into regions (blocks closer than kRegionGapBytes share one; at most
//   kMaxRegions, merging the closest), each an mmap at the log's own virtual address, so
//   the replay's SMI lines carry the log's addresses. The memory starts in system memory, as
//   an SVM range the GPU has not touched does;
// - the page faults: each PAGE_FAULT_START becomes one GPU access (read or write as logged,
//   `access_bytes` at the faulting page's start) issued at the fault's time. Which wave
//   faulted is not logged, so a fault goes to the first stream whose previous fault has
//   ended (its PAGE_FAULT_END is logged): a region's kernel has as many waves as the log
//   has faults in flight at once, launched at the start on its own queue ("smi<N>").
//   Replayed --open-loop, each fault issues at its logged time; closed-loop, each stream's
//   faults are a dependent chain;
// - the migrations the process asked for: MIGRATE_START with the PREFETCH trigger becomes a
//   set_attr prefetch of that range to where it went, and one with the PAGEFAULT_CPU trigger
//   a CPU touch of that range, each after a sleep to its logged time. (Sleeps are relative:
//   an operation that takes time delays the ones after it.) Migrations the GPU faults or
//   TTM caused, queue evictions and restores, unmaps and the other events are the driver's
//   responses, left to the model and kept only as DriverEvents to compare with.
// What it abstracts: a fault's issue time is when the driver logged it, so the replay's
// faults start later than the real ones by the hardware's report latency (UTCL2 to IH to
// the driver's handler, a few microseconds), and the streams are a reconstruction.
//
// The log is read twice (regions and process, then the records); memory holds, per
// process, the spans of 2 MiB blocks named and the faults per block, not the events.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sim/trace/import_jsonl.h"  // ImportSummary
#include "sim/trace/smi_log.h"

namespace fl::trace {

struct SmiImportOptions {
  SmiOptions smi;
  std::optional<uint32_t> pid;  // the process to import; default: the only one
  uint32_t access_bytes = 8;    // size of each faulting access (a pointer-sized load)
};

constexpr uint64_t kRegionGapBytes = uint64_t{64} << 20;
constexpr size_t kMaxRegions = 16;

// Throws fl::InputError naming the file and line.
ImportSummary import_smi(const std::string& in_path, const std::string& out_path, const SmiImportOptions& opts);

}  // namespace fl::trace
