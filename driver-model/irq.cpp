#include "driver-model/irq.h"

#include "hw/gpu_regs.h"
#include "mmu/fault_report.h"
#include "sim/core/errors.h"
#include "sim/core/format.h"
#include "sim/core/interrupt.h"
#include "sim/core/sim_status.h"
#include "sim/core/time.h"

namespace fl::driver {

using hw::IhEntry;
using hw::kIhEntryBytes;

void IrqHandler::validate(const config::IrqHandling& cfg, const std::string& key) {
  const uint32_t s = cfg.soft_ring_bytes();
  if ((s & (s - 1)) != 0 || s < 64) {
    throw InputError(key + ".soft_ring_bytes = " + std::to_string(s) +
                     ": must be a power of two of at least 64");
  }
}

IrqHandler::IrqHandler(sc_core::sc_module_name name, const config::IrqHandling& cfg,
                       hw::HostCpu& cpu, hw::SparseMemory& host_mem, const Ring& ring,
                       SdmaJobs& jobs, FaultHandler& faults, FaultTrace* trace)
    : sc_module(name),
      cfg_(cfg),
      cpu_(cpu),
      host_mem_(host_mem),
      ring_(ring),
      jobs_(jobs),
      faults_(faults),
      trace_(trace),
      filter_(cfg.filter_ring_order(), cfg.filter_hash_order(), cfg.filter_timeout_ticks()) {
  validate(cfg, this->name());
  SC_HAS_PROCESS(IrqHandler);
  SC_THREAD(isr_thread);
  SC_THREAD(worker_thread);
}

void IrqHandler::on_msi() {
  if (msi_pending_) return;  // already latched; the handler will see the new entries
  msi_pending_ = true;
  msi_at_ = sc_core::sc_time_stamp();
  msi_event_.notify(sc_core::SC_ZERO_TIME);
}

void IrqHandler::isr_thread() {
  guard_process(name(), [this] {
    for (;;) {
      while (!msi_pending_) sc_core::wait(msi_event_);
      msi_pending_ = false;
      const sc_core::sc_time msi_at = msi_at_;
      ++interrupts_;
      DriverThread t(cpu_, hw::WorkClass::kHardIrq);
      t.compute_ns(cfg_.isr_entry_ns());
      process_ring(t, msi_at);
      t.release();
    }
  });
}

void IrqHandler::process_ring(DriverThread& t, const sc_core::sc_time& msi_at) {
  const uint32_t mask = ring_.bytes - 1;
  bool first = true;
  for (;;) {
    ++passes_;
    uint32_t wb = host_mem_.read32(ring_.wptr_wb_addr);
    if (wb & 1u) {
      // Overflow: entries up to WPTR were overwritten; the oldest intact one follows it.
      ++overflows_;
      const uint32_t wptr = wb & mask & ~(kIhEntryBytes - 1);
      rptr_ = (wptr + kIhEntryBytes) & mask;
      t.mmio_write(hw::regs::kIhRbCntl, hw::regs::kIhRbCntlWptrOverflowClear);
      wb = wptr;
    }
    const uint32_t wptr = wb & mask & ~(kIhEntryBytes - 1);
    // Entries found by the first WPTR read were announced by the MSI.
    const sc_core::sc_time seen = first ? msi_at : sc_core::sc_time_stamp();
    first = false;
    uint32_t count = cfg_.entries_per_pass();
    while (rptr_ != wptr && --count > 0) {
      const uint64_t slot = ring_.base + rptr_;
      const uint64_t report = trace_ != nullptr ? trace_->ih_read(slot) : 0;
      if (report != 0) trace_->milestone(report, Milestone::kDelivered, seen);
      IhEntry::Words w;
      host_mem_.read(slot, w.data(), kIhEntryBytes);
      const IhEntry e = IhEntry::decode(w);
      ++entries_;
      t.compute_ns(cfg_.entry_ns());
      dispatch(t, e, report);
      if (FaultFilter::ts_after(processed_ts_, e.timestamp)) processed_ts_ = e.timestamp;
      rptr_ = (rptr_ + kIhEntryBytes) & mask;
    }
    t.mmio_write(hw::regs::kIhRbRptr, rptr_);
    const uint32_t again = host_mem_.read32(ring_.wptr_wb_addr);
    if ((again & mask & ~(kIhEntryBytes - 1)) == rptr_ && (again & 1u) == 0) return;
  }
}

void IrqHandler::dispatch(DriverThread& t, const IhEntry& e, uint64_t report) {
  const bool vm_fault = (e.client_id == ih_client::kUtcl2 && e.src_id == ih_src::kUtcl2Fault) ||
                        (e.client_id == ih_client::kVmc && e.src_id == ih_src::kVmFault);
  if (vm_fault) {
    if (!mmu::fault_retry(e.src_data)) {
      throw SimError("GPUVM no-retry fault at " + hex(mmu::fault_address(e.src_data)) +
                     " (fatal VM faults are not modelled yet)");
    }
    ++retry_faults_;
    const uint64_t addr = mmu::fault_address(e.src_data);
    if (filter_.filter(addr, e.pasid, e.timestamp, processed_ts_)) {
      ++filtered_;
      if (report != 0) trace_->outcome(report, Outcome::kFiltered);
      return;
    }
    t.compute_ns(cfg_.delegate_ns());
    if (soft_.size() * kIhEntryBytes >= cfg_.soft_ring_bytes()) {
      ++soft_full_;
      if (report != 0) trace_->outcome(report, Outcome::kRingLost);
      return;
    }
    soft_depth_.sample(static_cast<double>(soft_.size()));
    soft_.push_back(SoftEntry{e, report});
    ++delegated_;
    if (report != 0) trace_->milestone(report, Milestone::kIsrDone, sc_core::sc_time_stamp());
    if (!work_scheduled_) {
      work_scheduled_ = true;
      work_event_.notify(sc_core::SC_ZERO_TIME);
    }
    return;
  }
  if (e.client_id == ih_client::kSdma0 && e.src_id == ih_src::kSdmaTrap) {
    jobs_.process_trap(t);
    return;
  }
  ++unhandled_;
}

void IrqHandler::worker_thread() {
  guard_process(name(), [this] {
    for (;;) {
      while (!work_scheduled_) sc_core::wait(work_event_);
      sc_core::wait(from_ns(cfg_.worker_wakeup_ns()));
      ++worker_runs_;
      // The work item is running: a new schedule_work queues another run.
      work_scheduled_ = false;
      DriverThread t(cpu_, hw::WorkClass::kWorker);
      while (!soft_.empty()) {
        const SoftEntry s = soft_.front();
        soft_.pop_front();
        t.compute_ns(cfg_.entry_ns());
        if (s.report != 0) trace_->milestone(s.report, Milestone::kHandlerStart, sc_core::sc_time_stamp());
        RetryFault f;
        f.pasid = s.entry.pasid;
        f.vmid = s.entry.vmid;
        f.page_addr = mmu::fault_address(s.entry.src_data);
        f.write = mmu::fault_write(s.entry.src_data);
        f.timestamp = s.entry.timestamp;
        f.report = s.report;
        faults_.handle_retry_fault(t, f);
        if (FaultFilter::ts_after(soft_processed_ts_, f.timestamp)) soft_processed_ts_ = f.timestamp;
      }
      t.release();
    }
  });
}

}  // namespace fl::driver
