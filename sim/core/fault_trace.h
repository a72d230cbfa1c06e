// Instrumentation hooks through which the hardware and driver models report each fault's
// progress to the fault ledger (the "fault" module that owns the fault.* stats). Calling
// them never changes what a model does; a model given no tracer skips them.
#pragma once

#include <cstdint>
#include <systemc>

namespace fl {

// Points in a retry fault's service, in the order they are reached.
enum class Milestone : int {
  kDelivered = 0,  // the host sees the IH entry (MSI arrived, or WPTR re-read found it)
  kIsrDone,        // the interrupt handler has filtered and delegated the entry
  kHandlerStart,   // the ih_soft worker starts handling it
  kLookupDone,     // range found, duplicate and permission checks passed, location chosen
  kMigrateDone,    // data migrated to VRAM, or system pages collected and DMA-mapped
  kPteDone,        // the page-table update's fence has signalled
  kTlbDone,        // the TLB flush has been acknowledged
  kCount
};

// What became of one IH fault entry.
enum class Outcome : int {
  kFiltered = 0,   // dropped by the interrupt handler's fault filter
  kRingLost,       // overwritten in the IH ring, or ih_soft was full
  kDuplicate,      // the range was validated within the duplicate window
  kMigrated,       // serviced by migrating to VRAM
  kMapped,         // serviced by mapping system memory
  kRetried,        // the service returned -EAGAIN (the range changed under it): faults again
  kFailed,         // the service failed (-EACCES, -EPERM, -EFAULT): the access becomes fatal
  kDrained,        // dropped while the process drains retry faults after an munmap
  kCount
};

class FaultTrace {
 public:
  virtual ~FaultTrace() = default;

  // UTCL2: a walk found no valid translation for `va`; returns the report id that travels
  // with the fault's IH entry.
  virtual uint64_t fault_detected(uint32_t pasid, uint64_t va, bool write) = 0;
  // IH: report `id` was written to the ring slot at host address `slot_addr`.
  virtual void ih_written(uint64_t id, uint64_t slot_addr) = 0;
  // Driver: the entry in `slot_addr` is read; returns its report id (0 if not a traced fault).
  virtual uint64_t ih_read(uint64_t slot_addr) = 0;
  virtual void milestone(uint64_t id, Milestone m, const sc_core::sc_time& at) = 0;
  virtual void outcome(uint64_t id, Outcome o) = 0;
  // Driver: the service of report `id` (0 when not a fault service, e.g. a prefetch) starts
  // writing the PTEs of [va, va + len) of `pasid`: from now on accesses there may translate,
  // and their latency is attributed to this service's milestones (later ones included).
  virtual void mapping_started(uint64_t id, uint32_t pasid, uint64_t va, uint64_t len) = 0;
  // Compute units: an access NACKed first at `first_detect` (by the walk of report
  // `first_report`) has now completed translation after `nacks` NACKs.
  virtual void access_resolved(uint32_t pasid, uint64_t va, const sc_core::sc_time& first_detect,
                               uint64_t first_report, uint32_t nacks) = 0;
};

}  // namespace fl
