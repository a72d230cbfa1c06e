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
// no core time is charged).
// Abstracts away: the GPU scheduler (drm_sched) and its dependencies, indirect buffers,
// multiple rings, fence-wait polling modes.
#pragma once

#include <vector>
#include <systemc>

#include "driver-model/driver_thread.h"
#include "hw/copy_engine.h"
#include "hw/sparse_memory.h"
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

 private:
  config::SdmaJobs cfg_;
  hw::CopyEngine& engine_;
  hw::SparseMemory& host_mem_;
  uint64_t fence_addr_;
  uint32_t next_seq_ = 0;
  uint32_t signalled_ = 0;
  sc_core::sc_event signal_;
  sc_core::sc_event fallback_;
  void on_fallback();

  stats::Group stats_;
  stats::Counter jobs_{stats_, "jobs", "count", "Jobs submitted to the copy engine"};
  stats::Counter packets_{stats_, "packets", "count", "Packets submitted, fences and traps included"};
  stats::Counter traps_{stats_, "traps", "count", "Copy-engine trap interrupts processed"};
  stats::Counter fallbacks_{stats_, "fallback_signals", "count", "Fences signalled by the fallback timer (their trap interrupt was lost)"};
  stats::Histogram wait_ns_{stats_, "fence_wait_ns", "ns", "Time a thread waited for a job's fence, wake-up included"};
};

}  // namespace fl::driver
