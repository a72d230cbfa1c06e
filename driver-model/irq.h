// amdgpu interrupt handling (amdgpu_irq.c, amdgpu_ih.c, vega10_ih.c, gmc_v9_0.c
// gmc_v9_0_process_interrupt) for rings IH0, IH1 and the software ring ih_soft.
//
// Models:
// - IH0, in hard-interrupt context: an MSI wakes the handler (isr_entry_ns), which runs
//   amdgpu_ih_process: read WPTR from its write-back (on overflow, resume at the oldest
//   entry not overwritten and clear the flag), handle up to entries_per_pass - 1 entries
//   (entry_ns each), write RPTR, re-read WPTR and start again if it moved. Entries: a
//   copy-engine trap signals fences; a self-interrupt for IH1 records IH1's WPTR and
//   schedules the IH1 worker; a retry fault (only when there is no IH1) passes the fault
//   filter or is dropped, and one that passes is copied to ih_soft (delegate_ns; dropped if
//   ih_soft is full) and the ih_soft worker scheduled.
// - IH1 and ih_soft, each in its own worker (process context, so fault handling may sleep):
//   the worker starts worker_wakeup_ns after being scheduled and runs amdgpu_ih_process on
//   its ring (entry_ns an entry). An IH1 retry fault passes the fault filter or is dropped;
//   ih_soft entries were filtered already. A fault that passes goes to the fault handler.
// - With the IH's retry CAM (soc.gpu.ih.dedup = HARDWARE_CAM) the software filter is
//   skipped and each retry fault's CAM entry is acknowledged by a doorbell write
//   (WDOORBELL32 of src_data[2] & 0x3ff, gmc_v9_0.c) after the fault is handled, or, with
//   cam_ack = BEFORE_PTE_UPDATE, before (the race: a replay in between faults again). A
//   fault dropped because ih_soft is full is acknowledged too, so its access can fault again.
// - The IH1 worker's loop is the fault-service policy (driver-model/fault_service.h):
//   amdgpu's per-entry loop above, or UVM-style batches that end in a fault-replay
//   command (a register write to the VM block); replay_policy TIMER replays from a timer
//   in interrupt context.
// Abstracts away: IH2, threaded interrupts, IRQ affinity, other interrupt
// sources (only GPUVM faults, copy-engine traps and IH self-interrupts are raised).
#pragma once

#include <deque>
#include <functional>
#include <systemc>

#include "driver-model/driver_thread.h"
#include "driver-model/fault_filter.h"
#include "driver-model/fault_service.h"
#include "driver-model/sdma_jobs.h"
#include "hw/ih_entry.h"
#include "hw/sparse_memory.h"
#include "sim/core/fault_trace.h"
#include "sim/core/waits.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/timeline.h"
#include "sim/core/waits.h"

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

// What amdgpu_vm_handle_fault's caller learns: kAgain is svm_range_restore_pages returning
// -EAGAIN (the range changed under it), after which the fault's filter entry is removed so
// the replayed access can fault again (amdgpu_gmc_filter_faults_remove).
enum class FaultResult { kHandled, kAgain };

class FaultHandler {
 public:
  virtual ~FaultHandler() = default;
  virtual FaultResult handle_retry_fault(DriverThread& t, const RetryFault& f) = 0;
  // Serves faults of one PASID in one 2 MiB block at once (a batched fault service's
  // group): sorted by address, one per page.
  virtual void handle_fault_group(DriverThread& t, const std::vector<RetryFault>& faults) = 0;
};

// In the wait-for graph (sim/core/waits.h) the interrupt handler is "the retry-fault
// service": its owners are the worker threads that service faults (IH1's and ih_soft's), so
// an unmap waiting for pending faults leads to whatever those threads wait for.
class IrqHandler : public sc_core::sc_module, public WaitResource, private FaultRing {
 public:
  // Where the driver put the IH rings (ring 1 absent when ih1_bytes is 0).
  struct Rings {
    uint64_t ih0_base;
    uint32_t ih0_bytes;
    uint64_t ih0_wptr_wb;
    uint64_t ih1_base;
    uint32_t ih1_bytes;
    bool retry_cam = false;  // the IH de-duplicates retry faults in a CAM (no software filter)
  };

  IrqHandler(sc_core::sc_module_name name, const config::IrqHandling& cfg, hw::HostCpu& cpu,
             hw::SparseMemory& host_mem, const Rings& rings, SdmaScheduler& jobs, FaultHandler& faults,
             FaultTrace* trace);

  // The host interrupt controller calls this when the IH's MSI arrives.
  void on_msi();
  // Called (in interrupt context) for each no-retry GPUVM fault found on IH0.
  void set_vm_fault_handler(std::function<void(const RetryFault&)> fn) { vm_fault_ = std::move(fn); }

  // No interrupt pending or being handled and no worker with work.
  bool idle() const;
  // Draws the interrupt handler's and the workers' runs on `t`: tracks "driver.irq.isr",
  // "driver.irq.ih1_worker", "driver.irq.soft_worker" (sim/core/timeline.h).
  void set_timeline(Timeline* t);

  std::string wait_label() const override { return "the retry-fault service of " + std::string(name()); }
  const char* owner_relation() const override { return "run by"; }
  void wait_owners(std::vector<const sc_core::sc_process_b*>& p, std::vector<const WaitResource*>&) const override {
    for (const sc_core::sc_process_b* w : {ih1_worker_.process, soft_worker_.process}) {
      if (w != nullptr) p.push_back(w);
    }
  }

  // Checks parameter combinations (throws InputError).
  static void validate(const config::IrqHandling& cfg, const std::string& key);
  // Checks the fault service against the hardware: BATCHED needs IH1; a GPU that replays
  // only on command needs a service that replays (throws InputError).
  static void validate_hardware(const config::IrqHandling& cfg, const std::string& key, bool has_ih1,
                                bool replay_on_command);

 private:
  // A worker of the system workqueue (ih_soft, IH1).
  struct Worker {
    bool scheduled = false;
    bool running = false;
    sc_core::sc_event kick;
    const sc_core::sc_process_b* process = nullptr;  // its thread, once started
  };
  struct SoftEntry {
    hw::IhEntry entry;
    uint64_t report;
  };
  // An IH1 WPTR announced by a self-interrupt, with when the host learnt it.
  struct Announce {
    uint64_t end;  // IH1 entries written up to here (absolute count)
    sc_core::sc_time msi_at;
    sc_core::sc_time isr_at;
  };

  void isr_thread();
  void soft_thread();
  void ih1_thread();
  void schedule(Worker& w);
  // Waits for `w` to be scheduled, then for the wake-up; returns with w.running set.
  void wait_for_work(Worker& w);
  void process_ih0(DriverThread& t, const sc_core::sc_time& msi_at);
  void dispatch_ih0(DriverThread& t, const hw::IhEntry& e, uint64_t report, const sc_core::sc_time& seen);
  void process_ih1(DriverThread& t);
  void replay_timer_thread();
  // FaultRing: IH1 as the fault service drives it.
  uint64_t available() const override { return ih1_announced_ - ih1_read_; }
  void refresh(DriverThread& t) override;
  std::optional<FetchedFault> read(DriverThread& t) override;
  void write_rptr(DriverThread& t) override;
  void handle_one(DriverThread& t, const FetchedFault& f) override;
  void ack(DriverThread& t, const hw::IhEntry& e) override;
  void replay(DriverThread& t) override;
  void replay_after(double ns) override;
  void outcome(const FetchedFault& f, Outcome o) override;
  void handler_start(const FetchedFault& f) override;
  // `tl`: the track of the worker running it (null: no timeline).
  void retry_fault(DriverThread& t, const hw::IhEntry& e, uint64_t report, TimelineTrack* tl);
  // The software filter, unless the IH de-duplicates in its CAM; true: drop the fault.
  bool filtered(const hw::IhEntry& e, uint64_t processed_ts);
  void cam_ack(DriverThread& t, const hw::IhEntry& e);

  config::IrqHandling cfg_;
  hw::HostCpu& cpu_;
  hw::SparseMemory& host_mem_;
  Rings rings_;
  SdmaScheduler& jobs_;
  FaultHandler& faults_;
  std::function<void(const RetryFault&)> vm_fault_;
  FaultTrace* trace_;
  FaultFilter filter_;

  // IH0
  uint32_t ih0_rptr_ = 0;
  uint64_t ih0_processed_ts_ = 0;
  bool msi_pending_ = false;
  bool isr_running_ = false;
  sc_core::sc_time msi_at_;
  sc_core::sc_event msi_event_;
  // IH1
  Worker ih1_worker_;
  uint32_t ih1_rptr_ = 0;
  uint32_t ih1_wptr_ = 0;        // as the last self-interrupt announced it
  uint64_t ih1_announced_ = 0;   // entries announced (absolute)
  uint64_t ih1_read_ = 0;        // entries read (absolute)
  uint64_t ih1_processed_ts_ = 0;
  std::deque<Announce> announcements_;
  std::unique_ptr<FaultService> service_;
  // BATCHED: IH1's WPTR is read from the IH (refresh), self-interrupts only wake the
  // worker; their times stand for when the host learnt of the entries read next.
  bool wptr_by_register_;
  Announce last_irq_{};
  bool have_irq_ = false;
  bool timer_armed_ = false;
  sc_core::sc_event timer_event_;
  // ih_soft
  Worker soft_worker_;
  std::deque<SoftEntry> soft_;
  std::unique_ptr<TimelineTrack> tl_isr_, tl_ih1_, tl_soft_;  // null: no timeline

  stats::Group stats_;
  stats::Counter interrupts_{stats_, "interrupts", "count", "Interrupt handler invocations"};
  stats::Counter entries_{stats_, "entries", "count", "IH0 entries handled"};
  stats::Counter passes_{stats_, "passes", "count", "Passes of amdgpu_ih_process over IH0 (each ends with an RPTR write)"};
  stats::Counter ih1_entries_{stats_, "ih1_entries", "count", "IH1 entries handled"};
  stats::Counter self_interrupts_{stats_, "self_interrupts", "count", "IH self-interrupts announcing IH1 entries"};
  stats::Counter vm_faults_{stats_, "vm_faults", "count", "No-retry GPUVM fault entries (fatal for the process)"};
  stats::Counter retry_faults_{stats_, "retry_faults", "count", "Retry-fault entries seen (IH0 and IH1)"};
  stats::Counter filtered_{stats_, "filtered", "count", "Retry faults dropped by the fault filter"};
  stats::Counter delegated_{stats_, "delegated", "count", "Retry faults copied from IH0 to ih_soft"};
  stats::Counter again_{stats_, "filter_removals", "count", "Filter entries removed because handling returned -EAGAIN"};
  stats::Counter cam_acks_{stats_, "cam_acks", "count", "Retry CAM entries acknowledged by a doorbell write"};
  stats::Counter soft_full_{stats_, "soft_ring_drops", "count", "Retry faults dropped because ih_soft was full"};
  stats::Counter overflows_{stats_, "ring_overflows", "count", "IH0 overflows seen in the WPTR write-back"};
  stats::Counter unhandled_{stats_, "unhandled", "count", "Entries from sources with no handler"};
  stats::Counter replays_{stats_, "replays", "count", "Fault-replay commands written to the GPU (BATCHED fault service)"};
  stats::Counter worker_runs_{stats_, "worker_runs", "count", "Runs of the ih_soft and IH1 workers"};
  stats::Histogram soft_depth_{stats_, "soft_ring_entries", "entries", "ih_soft occupancy when a fault is delegated"};
  BatchStats batch_stats_{stats_};
};

}  // namespace fl::driver
