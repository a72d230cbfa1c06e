// Host-memory admission: a run whose models would need more host memory than the host can
// give is refused before anything is built (fl::InputError, exit 2), instead of being
// killed by the kernel's OOM killer hours in.
//
// What grows with a workload is bookkeeping, not data: GPU and copy-engine data accesses
// are timing-only, so simulated bytes cost host memory only where the models keep
// per-page state. estimate_host_memory adds, per operation, an upper bound of the pages it
// can give such state and what each costs:
// - a page the GPU maps (a launch's footprint, bounded by its accesses times the pages one
//   fault can migrate and map; a prefetch; a vram_alloc): its PTE in the simulated page
//   table (8 bytes, held by SparseMemory), its SVM bitmaps (2 bytes) and, when it moves to
//   VRAM, its exception entry in the CPU address space (AddressSpace::
//   kHostBytesPerExceptionPage);
// - a page a cpu_touch may make an exception (COW after fork) and a page of a dma_copy
//   window (one IOMMU PTE when the IOMMU translates);
// - a pointer-chase permutation (8 bytes per slot) and a fixed base for the models.
// Frees (munmap) are not subtracted, so the estimate is an upper bound of what the
// operations can hold at once. It is compared with the host's available memory
// (MemAvailable, and the cgroup's memory.max less memory.current when one is set), or with
// sim.host_memory_limit_bytes when that is set. This is the only input check that depends on
// the host; it never changes a result, only whether the run starts.
#pragma once

#include <cstdint>
#include <string>

#include "sim/core/schema.h"
#include "sim/platform/workload.h"

namespace fl::platform {

struct HostMemoryEstimate {
  uint64_t bytes = 0;           // upper bound for the whole run
  uint64_t largest_bytes = 0;   // of the operation that contributes most
  std::string largest_op;       // Workload::where of that operation; empty: none
};

HostMemoryEstimate estimate_host_memory(const Workload& w, const config::Config& cfg);

// Bytes the host can give this process now: /proc/meminfo MemAvailable, capped by the
// cgroup v2 limit (memory.max - memory.current) when there is one; 0 if neither is readable.
uint64_t host_memory_available();

// Throws fl::InputError if the estimate exceeds sim.host_memory_limit_bytes or, when that
// is 0, host_memory_available().
void check_host_memory(const Workload& w, const config::Config& cfg);

}  // namespace fl::platform
