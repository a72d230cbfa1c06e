// The retry-fault service loop of the IH1 worker (driver.irq.fault_service): a policy
// interface with one class per variant.
//
// PerEntryService (amdgpu, amdgpu_ih_process on IH1): up to entries_per_pass - 1 entries
// announced when the pass starts are handled one at a time (software filter, then
// svm_range_restore_pages, then the CAM acknowledgement), RPTR is written, and the worker
// goes on while more entries have been announced.
// BatchedService (NVIDIA UVM, uvm_gpu_replayable_faults.c service_fault_batch): each batch
// reads the ring's WPTR from the hardware (as UVM reads PUT), fetches up to
// batch_max_entries of the entries written so far (entry_ns each) and writes RPTR;
// sorts them by (PASID, page) (sort_compare_ns x (n log2 n + n): the sort and the
// duplicate pass); drops duplicates of a page (a write duplicate makes the kept fault a
// write); groups the rest by PASID and 2 MiB block and hands each group to the fault
// handler, which serves it once; acknowledges CAM entries; then replays per replay_policy:
// AFTER_BLOCK after each group, AFTER_BATCH after the batch, AFTER_BATCH_FLUSH after
// dropping the entries known (up to the cached WPTR: self-interrupts and the last read)
// to have arrived during the batch (their accesses replay with the others
// and fault again if still unresolved), ONCE when no entry is left, TIMER replay_period_ns
// after the first batch since the last replay (from a timer, not the worker), NONE never.
// Entries that arrive while a batch is served wait for the next batch.
// Abstracts away: UVM's fault-buffer entry valid bits and GET/PUT registers (the IH1 ring's
// RPTR/WPTR and self-interrupt stand in), cancelling of faults on fatal errors (a failed
// fault gets a no-retry PTE, as in the per-entry path), and its non-replayable buffer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "driver-model/driver_thread.h"
#include "hw/ih_entry.h"
#include "sim/core/fault_trace.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/timeline.h"

namespace fl::driver {

struct RetryFault;
class FaultHandler;
struct BatchStats;

// An IH1 retry-fault entry read by the worker, with its fault-ledger id.
struct FetchedFault {
  hw::IhEntry entry;
  uint64_t report = 0;
  uint64_t processed_ts = 0;  // the ring's last processed IH timestamp before this entry (the filter's reference)
};

// The IH1 ring and the hardware around it as a fault-service policy drives them
// (implemented by the interrupt handler).
class FaultRing {
 public:
  virtual ~FaultRing() = default;
  // Entries announced by self-interrupts and not yet read.
  virtual uint64_t available() const = 0;
  // Reads the ring's write pointer from the hardware (IH_RB_WPTR_RING1, an MMIO read), so
  // that entries written since the last self-interrupt become available: UVM reads the
  // fault buffer's PUT register before it fetches a batch.
  virtual void refresh(DriverThread& t) = 0;
  // Reads the next entry (entry_ns of core time); nullopt if it is not a retry fault
  // (counted as unhandled).
  virtual std::optional<FetchedFault> read(DriverThread& t) = 0;
  // Writes IH_RB_RPTR_RING1: the slots read so far are free.
  virtual void write_rptr(DriverThread& t) = 0;
  // amdgpu's handling of one retry fault: software filter, fault handler, CAM ack.
  virtual void handle_one(DriverThread& t, const FetchedFault& f) = 0;
  // Acknowledges the entry's retry-CAM slot, if the IH has a CAM.
  virtual void ack(DriverThread& t, const hw::IhEntry& e) = 0;
  // The fault-replay command (a register write to the VM block).
  virtual void replay(DriverThread& t) = 0;
  // Arms the replay timer to fire `ns` from now unless it is armed already.
  virtual void replay_after(double ns) = 0;
  // The fault ledger's outcome for an entry that is not serviced.
  virtual void outcome(const FetchedFault& f, Outcome o) = 0;
  // The fault-ledger milestone of entries handed to the fault handler.
  virtual void handler_start(const FetchedFault& f) = 0;
};

class FaultService {
 public:
  virtual ~FaultService() = default;
  // Services announced entries until none is left.
  virtual void drain(DriverThread& t, FaultRing& ring) = 0;
  // The worker's timeline track, where a policy that batches draws each batch (null: none).
  void set_timeline(TimelineTrack* t) { tl_ = t; }
  // `stats` are the interrupt handler's (present, and zero, whichever policy runs).
  static std::unique_ptr<FaultService> make(const config::IrqHandling& cfg, FaultHandler& handler,
                                            BatchStats& stats);

 protected:
  TimelineTrack* tl_ = nullptr;
};

class PerEntryService : public FaultService {
 public:
  explicit PerEntryService(uint32_t entries_per_pass) : per_pass_(entries_per_pass) {}
  void drain(DriverThread& t, FaultRing& ring) override;

 private:
  uint32_t per_pass_;
};

// One batch's plan: the de-duplicated faults in groups (one PASID and 2 MiB block each,
// sorted by address) and the entries dropped as duplicates. Pure, for tests.
struct BatchPlan {
  std::vector<std::vector<size_t>> groups;  // indices into the batch
  std::vector<size_t> duplicates;
  std::vector<bool> write;  // per batch entry: the kept fault is a write (any duplicate wrote)
};
BatchPlan plan_batch(const std::vector<FetchedFault>& batch);

// The batched service's stats, in the interrupt handler's stats group so that every run
// reports them (zero under the per-entry loop).
struct BatchStats {
  explicit BatchStats(stats::Group& group) : g(group) {}
  stats::Group& g;
  stats::Counter batches_{g, "batch.batches", "count", "Fault batches serviced (BATCHED)"};
  stats::Counter duplicates_{g, "batch.duplicates", "count", "Entries dropped as duplicates of a page already in their batch"};
  stats::Counter flushed_{g, "batch.flushed", "count", "Entries dropped by the flush before a replay (AFTER_BATCH_FLUSH)"};
  stats::Histogram entries_{g, "batch.entries", "entries", "Entries fetched per batch (the batch size)"};
  stats::Histogram unique_{g, "batch.unique_faults", "faults", "Faults serviced per batch after duplicates were dropped"};
  stats::Histogram groups_{g, "batch.groups", "groups", "Block groups per batch"};
  stats::Histogram fetch_ns_{g, "batch.fetch_ns", "ns", "Time to fetch a batch's entries and write RPTR"};
  stats::Histogram sort_ns_{g, "batch.sort_ns", "ns", "Time to sort a batch and drop its duplicates"};
  stats::Histogram service_ns_{g, "batch.service_ns", "ns", "Time to service a batch's groups (migration, page-table update, TLB flush)"};
  stats::Histogram replay_ns_{g, "batch.replay_ns", "ns", "Time to flush (AFTER_BATCH_FLUSH) and write the replay command after a batch"};
  stats::Histogram batch_ns_{g, "batch.batch_ns", "ns", "Time from a batch's first fetch to its replay"};
};

class BatchedService : public FaultService {
 public:
  BatchedService(const config::IrqHandling& cfg, FaultHandler& handler, BatchStats& stats);
  void drain(DriverThread& t, FaultRing& ring) override;

 private:
  void serve_batch(DriverThread& t, FaultRing& ring, uint64_t n);

  config::IrqHandling cfg_;
  FaultHandler& handler_;
  bool replay_owed_ = false;  // ONCE: a batch was serviced since the last replay
  BatchStats& stats_;
};

}  // namespace fl::driver
