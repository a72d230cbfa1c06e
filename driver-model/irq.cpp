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

namespace {
sc_core::sc_time now() { return sc_core::sc_time_stamp(); }

bool is_vm_fault(const IhEntry& e) {
  return (e.client_id == ih_client::kUtcl2 && e.src_id == ih_src::kUtcl2Fault) ||
         (e.client_id == ih_client::kVmc && e.src_id == ih_src::kVmFault);
}

// An IH0 entry's timeline slice name.
const char* entry_kind(const IhEntry& e) {
  if (is_vm_fault(e)) return mmu::fault_retry(e.src_data) ? "retry_fault" : "vm_fault";
  if (e.client_id == ih_client::kIh && e.src_id == ih_src::kIhSelf) return "self_irq";
  if (e.src_id == ih_src::kSdmaTrap) return "sdma_trap";
  return "entry";
}
}  // namespace

void IrqHandler::set_timeline(Timeline* t) {
  const std::string n = name();
  tl_isr_ = std::make_unique<TimelineTrack>(*t, n + ".isr", timeline_sort::kIrqIsr);
  tl_ih1_ = std::make_unique<TimelineTrack>(*t, n + ".ih1_worker", timeline_sort::kIrqIh1Worker);
  tl_soft_ = std::make_unique<TimelineTrack>(*t, n + ".soft_worker", timeline_sort::kIrqSoftWorker);
  service_->set_timeline(tl_ih1_.get());
}

void IrqHandler::validate(const config::IrqHandling& cfg, const std::string& key) {
  const uint32_t s = cfg.soft_ring_bytes();
  if ((s & (s - 1)) != 0 || s < 64) {
    throw InputError(key + ".soft_ring_bytes = " + std::to_string(s) +
                     ": must be a power of two of at least 64");
  }
}

void IrqHandler::validate_hardware(const config::IrqHandling& cfg, const std::string& key, bool has_ih1,
                                   bool replay_on_command) {
  const bool batched = cfg.fault_service() == config::IrqHandling::BATCHED;
  if (batched && !has_ih1) {
    throw InputError(key + ".fault_service = BATCHED fetches faults from IH1: set soc.gpu.ih.ring1_bytes > 0");
  }
  if (replay_on_command && !batched) {
    throw InputError("soc.gpu.cu.replay = ON_REPLAY_COMMAND needs a fault service that replays: set " + key +
                     ".fault_service = BATCHED");
  }
  if (replay_on_command && cfg.replay_policy() == config::IrqHandling::NONE) {
    throw InputError("soc.gpu.cu.replay = ON_REPLAY_COMMAND with " + key +
                     ".replay_policy = NONE: the parked accesses would never replay");
  }
}

IrqHandler::IrqHandler(sc_core::sc_module_name name, const config::IrqHandling& cfg,
                       hw::HostCpu& cpu, hw::SparseMemory& host_mem, const Rings& rings,
                       SdmaScheduler& jobs, FaultHandler& faults, FaultTrace* trace)
    : sc_module(name),
      cfg_(cfg),
      cpu_(cpu),
      host_mem_(host_mem),
      rings_(rings),
      jobs_(jobs),
      faults_(faults),
      trace_(trace),
      filter_(cfg.filter_ring_order(), cfg.filter_hash_order(), cfg.filter_timeout_ticks()),
      wptr_by_register_(cfg.fault_service() == config::IrqHandling::BATCHED) {
  validate(cfg, this->name());
  service_ = FaultService::make(cfg, faults, batch_stats_);
  SC_HAS_PROCESS(IrqHandler);
  SC_THREAD(isr_thread);
  SC_THREAD(soft_thread);
  SC_THREAD(ih1_thread);
  SC_THREAD(replay_timer_thread);
}

bool IrqHandler::idle() const {
  return !msi_pending_ && !isr_running_ && soft_.empty() && !soft_worker_.scheduled &&
         !soft_worker_.running && !ih1_worker_.scheduled && !ih1_worker_.running &&
         ih1_rptr_ == ih1_wptr_ && !timer_armed_;
}

void IrqHandler::on_msi() {
  if (msi_pending_) return;  // already latched; the handler will see the new entries
  msi_pending_ = true;
  msi_at_ = now();
  msi_event_.notify(sc_core::SC_ZERO_TIME);
}

void IrqHandler::schedule(Worker& w) {
  if (w.scheduled) return;  // schedule_work on pending work is a no-op
  w.scheduled = true;
  w.kick.notify(sc_core::SC_ZERO_TIME);
}

void IrqHandler::wait_for_work(Worker& w) {
  while (!w.scheduled) sc_core::wait(w.kick);
  sc_core::wait(from_ns(cfg_.worker_wakeup_ns()));
  // The work item is running: scheduling it again queues another run.
  w.scheduled = false;
  w.running = true;
  ++worker_runs_;
}

// ------------------------------------------------------------------------- IH0

void IrqHandler::isr_thread() {
  guard_process(name(), [this] {
    for (;;) {
      while (!msi_pending_) sc_core::wait(msi_event_);
      msi_pending_ = false;
      isr_running_ = true;
      const sc_core::sc_time msi_at = msi_at_;
      ++interrupts_;
      const uint64_t tl_begin = now_ps();
      const uint64_t entries_before = entries_.value();
      const uint64_t passes_before = passes_.value();
      DriverThread t(cpu_, hw::WorkClass::kHardIrq);
      t.compute_ns(cfg_.isr_entry_ns());
      process_ih0(t, msi_at);
      t.release();
      isr_running_ = false;
      if (tl_isr_ != nullptr) {
        tl_isr_->slice("isr", tl_begin, now_ps(),
                       TimelineArgs().num("entries", entries_.value() - entries_before).num("passes", passes_.value() - passes_before));
      }
    }
  });
}

void IrqHandler::process_ih0(DriverThread& t, const sc_core::sc_time& msi_at) {
  const uint32_t mask = rings_.ih0_bytes - 1;
  bool first = true;
  for (;;) {
    ++passes_;
    uint32_t wb = host_mem_.read32(rings_.ih0_wptr_wb);
    if (wb & 1u) {
      // Overflow: entries up to WPTR were overwritten; the oldest intact one follows it.
      ++overflows_;
      const uint32_t wptr = wb & mask & ~(kIhEntryBytes - 1);
      ih0_rptr_ = (wptr + kIhEntryBytes) & mask;
      t.mmio_write(hw::regs::kIhRbCntl, hw::regs::kIhRbCntlWptrOverflowClear);
      wb = wptr;
    }
    const uint32_t wptr = wb & mask & ~(kIhEntryBytes - 1);
    // Entries found by the first WPTR read were announced by the MSI.
    const sc_core::sc_time seen = first ? msi_at : now();
    first = false;
    uint32_t count = cfg_.entries_per_pass();
    while (ih0_rptr_ != wptr && --count > 0) {
      const uint64_t slot = rings_.ih0_base + ih0_rptr_;
      const uint64_t report = trace_ != nullptr ? trace_->ih_read(slot) : 0;
      if (report != 0) trace_->milestone(report, Milestone::kDelivered, seen);
      IhEntry::Words w;
      host_mem_.read(slot, w.data(), kIhEntryBytes);
      const IhEntry e = IhEntry::decode(w);
      ++entries_;
      const uint64_t tl_begin = now_ps();
      t.compute_ns(cfg_.entry_ns());
      dispatch_ih0(t, e, report, seen);
      if (tl_isr_ != nullptr) {
        TimelineArgs a;
        if (is_vm_fault(e)) a.hex("va", mmu::fault_address(e.src_data));
        tl_isr_->slice(entry_kind(e), tl_begin, now_ps(), a);
      }
      if (FaultFilter::ts_after(ih0_processed_ts_, e.timestamp)) ih0_processed_ts_ = e.timestamp;
      ih0_rptr_ = (ih0_rptr_ + kIhEntryBytes) & mask;
    }
    t.mmio_write(hw::regs::kIhRbRptr, ih0_rptr_);
    const uint32_t again = host_mem_.read32(rings_.ih0_wptr_wb);
    if ((again & mask & ~(kIhEntryBytes - 1)) == ih0_rptr_ && (again & 1u) == 0) return;
  }
}

void IrqHandler::dispatch_ih0(DriverThread& t, const IhEntry& e, uint64_t report,
                              const sc_core::sc_time& seen) {
  if (e.client_id == ih_client::kIh && e.src_id == ih_src::kIhSelf) {
    // vega10_ih_self_irq: ring 1 has new entries up to src_data[0].
    if (e.ring_id != 1 || rings_.ih1_bytes == 0) return;
    ++self_interrupts_;
    if (wptr_by_register_) {
      // The fault service reads WPTR from the IH itself; the interrupt only wakes it.
      last_irq_ = Announce{0, seen, now()};
      have_irq_ = true;
    } else {
      const uint32_t wptr = e.src_data[0] & (rings_.ih1_bytes - 1) & ~(kIhEntryBytes - 1);
      ih1_announced_ += ((wptr - ih1_wptr_) & (rings_.ih1_bytes - 1)) / kIhEntryBytes;
      ih1_wptr_ = wptr;
      announcements_.push_back(Announce{ih1_announced_, seen, now()});
    }
    schedule(ih1_worker_);
    return;
  }
  if (is_vm_fault(e)) {
    if (!mmu::fault_retry(e.src_data)) {
      // gmc_v9_0_process_interrupt logs it; KFD treats it as fatal for the process.
      ++vm_faults_;
      RetryFault f;
      f.pasid = e.pasid;
      f.vmid = e.vmid;
      f.page_addr = mmu::fault_address(e.src_data);
      f.write = mmu::fault_write(e.src_data);
      f.timestamp = e.timestamp;
      if (!vm_fault_) {
        throw SimError("GPUVM no-retry fault at " + hex(f.page_addr) + " and no handler for it");
      }
      vm_fault_(f);
      return;
    }
    ++retry_faults_;
    if (filtered(e, ih0_processed_ts_)) {
      ++filtered_;
      if (report != 0) trace_->outcome(report, Outcome::kFiltered);
      return;
    }
    // amdgpu_irq_delegate: copy to ih_soft and schedule its worker.
    t.compute_ns(cfg_.delegate_ns());
    if (soft_.size() * kIhEntryBytes >= cfg_.soft_ring_bytes()) {
      ++soft_full_;
      if (rings_.retry_cam) cam_ack(t, e);
      if (report != 0) trace_->outcome(report, Outcome::kRingLost);
      return;
    }
    soft_depth_.sample(static_cast<double>(soft_.size()));
    soft_.push_back(SoftEntry{e, report});
    ++delegated_;
    if (report != 0) trace_->milestone(report, Milestone::kIsrDone, now());
    schedule(soft_worker_);
    return;
  }
  if (e.src_id == ih_src::kSdmaTrap) {
    if (SdmaJobs* j = jobs_.by_client(e.client_id)) {
      j->process_trap(t);
      return;
    }
  }
  ++unhandled_;
}

// ------------------------------------------------------------------------- workers

void IrqHandler::retry_fault(DriverThread& t, const IhEntry& e, uint64_t report, TimelineTrack* tl) {
  const uint64_t tl_begin = now_ps();
  if (report != 0) trace_->milestone(report, Milestone::kHandlerStart, now());
  RetryFault f;
  f.pasid = e.pasid;
  f.vmid = e.vmid;
  f.page_addr = mmu::fault_address(e.src_data);
  f.write = mmu::fault_write(e.src_data);
  f.timestamp = e.timestamp;
  f.report = report;
  const bool ack_first = cfg_.cam_ack() == config::IrqHandling::BEFORE_PTE_UPDATE;
  if (rings_.retry_cam && ack_first) cam_ack(t, e);
  if (faults_.handle_retry_fault(t, f) == FaultResult::kAgain && !rings_.retry_cam) {
    ++again_;
    filter_.remove(f.page_addr, f.pasid, f.timestamp);
  }
  if (rings_.retry_cam && !ack_first) cam_ack(t, e);
  if (tl != nullptr) tl->slice("fault", tl_begin, now_ps(), TimelineArgs().hex("va", f.page_addr).num("pasid", f.pasid));
}

bool IrqHandler::filtered(const IhEntry& e, uint64_t processed_ts) {
  if (rings_.retry_cam) return false;  // amdgpu_gmc_filter_faults is skipped with the CAM
  return filter_.filter(mmu::fault_address(e.src_data), e.pasid, e.timestamp, processed_ts);
}

void IrqHandler::cam_ack(DriverThread& t, const IhEntry& e) {
  ++cam_acks_;
  t.mmio_write(hw::regs::kIhRetryCamDoorbell, e.src_data[2] & hw::regs::kIhCamIndexMask);
}

void IrqHandler::soft_thread() {
  soft_worker_.process = sc_core::sc_get_current_process_b();
  guard_process(name(), [this] {
    for (;;) {
      wait_for_work(soft_worker_);
      const uint64_t tl_begin = now_ps();
      uint64_t handled = 0;
      DriverThread t(cpu_, hw::WorkClass::kWorker);
      // amdgpu_irq_handle_ih_soft: these faults were filtered when delegated.
      while (!soft_.empty()) {
        const SoftEntry s = soft_.front();
        soft_.pop_front();
        t.compute_ns(cfg_.entry_ns());
        retry_fault(t, s.entry, s.report, tl_soft_.get());
        ++handled;
      }
      t.release();
      soft_worker_.running = false;
      if (tl_soft_ != nullptr) tl_soft_->slice("run", tl_begin, now_ps(), TimelineArgs().num("entries", handled));
    }
  });
}

void IrqHandler::ih1_thread() {
  ih1_worker_.process = sc_core::sc_get_current_process_b();
  guard_process(name(), [this] {
    for (;;) {
      wait_for_work(ih1_worker_);
      const uint64_t tl_begin = now_ps();
      const uint64_t entries_before = ih1_entries_.value();
      DriverThread t(cpu_, hw::WorkClass::kWorker);
      process_ih1(t);
      t.release();
      ih1_worker_.running = false;
      if (tl_ih1_ != nullptr) {
        tl_ih1_->slice("run", tl_begin, now_ps(), TimelineArgs().num("entries", ih1_entries_.value() - entries_before));
      }
    }
  });
}

void IrqHandler::process_ih1(DriverThread& t) { service_->drain(t, *this); }

std::optional<FetchedFault> IrqHandler::read(DriverThread& t) {
  const uint32_t mask = rings_.ih1_bytes - 1;
  const uint64_t slot = rings_.ih1_base + ih1_rptr_;
  const uint64_t report = trace_ != nullptr ? trace_->ih_read(slot) : 0;
  // The self-interrupt that announced this entry tells when the host learnt of it.
  while (!announcements_.empty() && announcements_.front().end <= ih1_read_) announcements_.pop_front();
  if (report != 0 && !announcements_.empty()) {
    trace_->milestone(report, Milestone::kDelivered, announcements_.front().msi_at);
    trace_->milestone(report, Milestone::kIsrDone, announcements_.front().isr_at);
  }
  IhEntry::Words w;
  host_mem_.read(slot, w.data(), kIhEntryBytes);
  const IhEntry e = IhEntry::decode(w);
  ++ih1_entries_;
  ++ih1_read_;
  ih1_rptr_ = (ih1_rptr_ + kIhEntryBytes) & mask;
  t.compute_ns(cfg_.entry_ns());
  const uint64_t before = ih1_processed_ts_;
  if (FaultFilter::ts_after(ih1_processed_ts_, e.timestamp)) ih1_processed_ts_ = e.timestamp;
  if (!is_vm_fault(e) || !mmu::fault_retry(e.src_data)) {
    ++unhandled_;
    return std::nullopt;
  }
  ++retry_faults_;
  return FetchedFault{e, report, before};
}

void IrqHandler::refresh(DriverThread& t) {
  if (!wptr_by_register_) return;
  const uint32_t mask = rings_.ih1_bytes - 1;
  // The register is read at the IH, so it is never behind what the driver knows, and the
  // IH drops entries rather than pass the RPTR the driver wrote.
  const uint32_t wptr = t.mmio_read(hw::regs::kIhRbWptrRing1) & mask & ~(kIhEntryBytes - 1);
  if (wptr == ih1_wptr_) return;
  ih1_announced_ += ((wptr - ih1_wptr_) & mask) / kIhEntryBytes;
  ih1_wptr_ = wptr;
  // The host learnt of these entries from the last interrupt, or from this read.
  const Announce a = have_irq_ ? last_irq_ : Announce{0, now(), now()};
  announcements_.push_back(Announce{ih1_announced_, a.msi_at, a.isr_at});
  have_irq_ = false;
}

void IrqHandler::write_rptr(DriverThread& t) { t.mmio_write(hw::regs::kIhRbRptrRing1, ih1_rptr_); }

void IrqHandler::handle_one(DriverThread& t, const FetchedFault& f) {
  if (filtered(f.entry, f.processed_ts)) {
    ++filtered_;
    outcome(f, Outcome::kFiltered);
    return;
  }
  retry_fault(t, f.entry, f.report, tl_ih1_.get());
}

void IrqHandler::ack(DriverThread& t, const IhEntry& e) {
  if (rings_.retry_cam) cam_ack(t, e);
}

void IrqHandler::replay(DriverThread& t) {
  ++replays_;
  t.mmio_write(hw::regs::kVmFaultReplay, hw::regs::kVmFaultReplayStart);
}

void IrqHandler::replay_after(double ns) {
  if (timer_armed_) return;
  timer_armed_ = true;
  timer_event_.notify(from_ns(ns));
}

void IrqHandler::outcome(const FetchedFault& f, Outcome o) {
  if (f.report != 0) trace_->outcome(f.report, o);
}

void IrqHandler::handler_start(const FetchedFault& f) {
  if (f.report != 0) trace_->milestone(f.report, Milestone::kHandlerStart, now());
}

void IrqHandler::replay_timer_thread() {
  guard_process(name(), [this] {
    for (;;) {
      sc_core::wait(timer_event_);  // notified only by replay_after, which arms it
      // The timer fires in softirq context on a core.
      DriverThread t(cpu_, hw::WorkClass::kHardIrq);
      replay(t);
      t.release();
      timer_armed_ = false;
    }
  });
}

}  // namespace fl::driver
