// Copy-engine jobs and their fences (amdgpu_job.c, amdgpu_fence.c, sdma_v4_0.c ring emit).
//
// Models: a job is the caller's packets followed by FENCE (the job's sequence number, to a
// fence location in host memory) and TRAP; submitting costs the CPU submit_ns, writes the
// packets into the ring and rings the doorbell (a posted MMIO write). The TRAP's interrupt
// reaches the IH ring; the interrupt handler reads the fence value from memory
// (fence_process_ns) and wakes threads waiting on sequence numbers up to it, which resume
// wakeup_ns later. As amdgpu_fence_fallback does, a timer re-armed at every submission
// (and kept while fences are outstanding) re-reads the fence after fallback_timeout_ns, so a
// lost trap interrupt delays its waiter instead of blocking it forever (timer context:
// no core time is charged). With wait_mode SPIN a waiter instead keeps its core and
// re-reads the fence every spin_poll_ns (UVM's tracker wait); the trap interrupt still
// arrives and is processed, off the waiter's path.
// Abstracts away: the GPU scheduler (drm_sched) and its dependencies, indirect buffers,
// multiple rings.
#pragma once

#include <vector>
#include <systemc>

#include "driver-model/driver_thread.h"
#include "hw/copy_engine.h"
#include "hw/sparse_memory.h"
#include "sim/core/interrupt.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"

namespace fl::driver {

class SdmaJobs : public sc_core::sc_module {
 public:
  SdmaJobs(sc_core::sc_module_name name, const config::SdmaJobs& cfg, hw::CopyEngine& engine,
           hw::SparseMemory& host_mem, uint64_t fence_addr);

  // Submits `packets` as one job; returns its fence sequence number.
  uint32_t submit(DriverThread& t, std::vector<hw::SdmaPacket> packets);
  // Blocks `t` until fence `seq` has signalled.
  void wait(DriverThread& t, uint32_t seq);
  // Interrupt handler: a copy-engine trap arrived.
  void process_trap(DriverThread& t);

  uint32_t signalled() const { return signalled_; }
  // Reads the fence from memory and wakes waiters if it moved; true if it did.
  bool update_from_memory();
  // Every submitted job's fence has signalled.
  bool idle() const { return signalled_ == next_seq_; }
  // Jobs submitted and not yet signalled (the GPU scheduler's load score).
  uint32_t outstanding() const { return next_seq_ - signalled_; }
  uint32_t engine() const { return engine_.engine(); }

 private:
  config::SdmaJobs cfg_;
  hw::CopyEngine& engine_;
  hw::SparseMemory& host_mem_;
  uint64_t fence_addr_;
  uint32_t next_seq_ = 0;
  uint32_t signalled_ = 0;
  sc_core::sc_event signal_;
  // The fallback timer, moved forward lazily: a submission only moves the deadline, and a
  // wake-up before it re-arms for the rest. Cancelling and re-notifying the event at every
  // submission (mod_timer's literal shape) would leave a cancelled notification per job in
  // SystemC's timed queue until its time, and every kernel time step would pay for them.
  sc_core::sc_event fallback_;
  uint64_t fallback_deadline_ps_ = 0;
  bool fallback_armed_ = false;
  void arm_fallback();
  void on_fallback();

  stats::Group stats_;
  stats::Counter jobs_{stats_, "jobs", "count", "Jobs submitted to the copy engine"};
  stats::Counter packets_{stats_, "packets", "count", "Packets submitted, fences and traps included"};
  stats::Counter traps_{stats_, "traps", "count", "Copy-engine trap interrupts processed"};
  stats::Counter fallbacks_{stats_, "fallback_signals", "count", "Fences signalled by the fallback timer (their trap interrupt was lost)"};
  stats::Histogram wait_ns_{stats_, "fence_wait_ns", "ns", "Time a thread waited for a job's fence, wake-up included"};
};

// The copy-engine rings the driver submits to, one SdmaJobs per engine (SDMA0 first).
// Buffer moves use SDMA0 (adev->mman.buffer_funcs_ring); page-table updates go to the
// engine with the fewest outstanding jobs, ties to the lowest (drm_sched_pick_best over
// vm_pte_scheds).
class SdmaScheduler {
 public:
  explicit SdmaScheduler(std::vector<SdmaJobs*> engines) : engines_(std::move(engines)) {}

  SdmaJobs& buffer_moves() { return *engines_.front(); }
  SdmaJobs& pick_for_pte() {
    SdmaJobs* best = engines_.front();
    for (SdmaJobs* j : engines_) {
      if (j->outstanding() < best->outstanding()) best = j;
    }
    return *best;
  }
  // The engine whose trap interrupt carries IH client `client`, or nullptr.
  SdmaJobs* by_client(uint8_t client) {
    const int e = ih_client::sdma_engine(client);
    for (SdmaJobs* j : engines_) {
      if (e >= 0 && j->engine() == static_cast<uint32_t>(e)) return j;
    }
    return nullptr;
  }
  bool idle() const {
    for (const SdmaJobs* j : engines_) {
      if (!j->idle()) return false;
    }
    return true;
  }

 private:
  std::vector<SdmaJobs*> engines_;
};

}  // namespace fl::driver
