// amdgpu interrupt handling for ring 0 and the software ring (amdgpu_irq.c, amdgpu_ih.c,
// gmc_v9_0.c gmc_v9_0_process_interrupt).
//
// Models: an MSI wakes the interrupt handler, which costs isr_entry_ns to start and then
// runs amdgpu_ih_process: read WPTR from its write-back location (on overflow, resume at the
// oldest entry not overwritten and clear the flag), handle up to entries_per_pass - 1
// entries (entry_ns each), write RPTR, re-read WPTR and start again if it moved. A retry
// fault passes the fault filter or is dropped; one that passes is copied to ih_soft
// (delegate_ns; dropped if ih_soft is full) and the worker scheduled. A copy-engine trap
// signals fences. The worker starts worker_wakeup_ns after being scheduled, takes entries
// from ih_soft in order (entry_ns each) and hands each to the fault handler; it sleeps
// (without its core) while the handler waits for the GPU.
// Abstracts away: IH1/IH2, the retry CAM, interrupt threads, IRQ affinity, and other
// interrupt sources (only GPUVM faults and copy-engine traps are raised so far).
#pragma once

#include <deque>
#include <systemc>

#include "driver-model/driver_thread.h"
#include "driver-model/fault_filter.h"
#include "driver-model/sdma_jobs.h"
#include "hw/ih_entry.h"
#include "hw/sparse_memory.h"
#include "sim/core/fault_trace.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"

namespace fl::driver {

// A retry fault handed to the fault handler (amdgpu_vm_handle_fault's arguments).
struct RetryFault {
  uint16_t pasid = 0;
  uint8_t vmid = 0;
  uint64_t page_addr = 0;
  bool write = false;
  uint64_t timestamp = 0;  // IH ticks
  uint64_t report = 0;     // fault-ledger id (instrumentation)
};

class FaultHandler {
 public:
  virtual ~FaultHandler() = default;
  virtual void handle_retry_fault(DriverThread& t, const RetryFault& f) = 0;
};

class IrqHandler : public sc_core::sc_module {
 public:
  struct Ring {
    uint64_t base;          // IH ring 0 in host memory
    uint32_t bytes;
    uint64_t wptr_wb_addr;  // WPTR write-back location
  };

  IrqHandler(sc_core::sc_module_name name, const config::IrqHandling& cfg, hw::HostCpu& cpu,
             hw::SparseMemory& host_mem, const Ring& ring, SdmaJobs& jobs, FaultHandler& faults,
             FaultTrace* trace);

  // The host interrupt controller calls this when the IH's MSI arrives.
  void on_msi();

  // Checks parameter combinations (throws InputError).
  static void validate(const config::IrqHandling& cfg, const std::string& key);

 private:
  struct SoftEntry {
    hw::IhEntry entry;
    uint64_t report;
  };
  void isr_thread();
  void worker_thread();
  void process_ring(DriverThread& t, const sc_core::sc_time& msi_at);
  void dispatch(DriverThread& t, const hw::IhEntry& e, uint64_t report);

  config::IrqHandling cfg_;
  hw::HostCpu& cpu_;
  hw::SparseMemory& host_mem_;
  Ring ring_;
  SdmaJobs& jobs_;
  FaultHandler& faults_;
  FaultTrace* trace_;
  FaultFilter filter_;

  uint32_t rptr_ = 0;
  uint64_t processed_ts_ = 0;       // ring 0
  uint64_t soft_processed_ts_ = 0;  // ih_soft
  bool msi_pending_ = false;
  sc_core::sc_time msi_at_;
  sc_core::sc_event msi_event_;
  std::deque<SoftEntry> soft_;
  bool work_scheduled_ = false;
  sc_core::sc_event work_event_;

  stats::Group stats_;
  stats::Counter interrupts_{stats_, "interrupts", "count", "Interrupt handler invocations"};
  stats::Counter entries_{stats_, "entries", "count", "Ring-0 entries handled"};
  stats::Counter passes_{stats_, "passes", "count", "Passes of amdgpu_ih_process over ring 0 (each ends with an RPTR write)"};
  stats::Counter retry_faults_{stats_, "retry_faults", "count", "Retry-fault entries seen on ring 0"};
  stats::Counter filtered_{stats_, "filtered", "count", "Retry faults dropped by the fault filter"};
  stats::Counter delegated_{stats_, "delegated", "count", "Retry faults copied to ih_soft"};
  stats::Counter soft_full_{stats_, "soft_ring_drops", "count", "Retry faults dropped because ih_soft was full"};
  stats::Counter overflows_{stats_, "ring_overflows", "count", "Ring-0 overflows seen in the WPTR write-back"};
  stats::Counter unhandled_{stats_, "unhandled", "count", "Entries from sources with no handler"};
  stats::Counter worker_runs_{stats_, "worker_runs", "count", "Runs of the ih_soft worker"};
  stats::Histogram soft_depth_{stats_, "soft_ring_entries", "entries", "ih_soft occupancy when a fault is delegated"};
};

}  // namespace fl::driver
