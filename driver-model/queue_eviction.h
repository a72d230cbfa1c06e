// Eviction and restore of a KFD process's user queues (kfd_device_queue_manager.c
// evict_process_queues_cpsch / restore_process_queues_cpsch, kfd_process.c
// kfd_process_evict_queues / restore; driver-facts.md section 4).
//
// Models: eviction is reference counted per process (qpd->evicted): the first evict
// emits QUEUE_EVICTION with its trigger, spends evict_ns of core time and unmaps every
// queue of the process through the hardware scheduler, which preempts them with the
// command processor's preemption mode (CWSR, drain or reset; a preemption that exceeds
// soc.gpu.cp.preemption_timeout_ns resets the queue); the caller blocks until they are off
// the GPU. Later evicts only count. The last restore spends restore_ns, maps the queues
// again (restoring saved waves) and emits QUEUE_RESTORE.
// Abstracts away: MES (the HWS path is modelled). A queue first used while the process is
// evicted is not held back (KFD creates it inactive); workloads that need that order should
// wait for the restore.
#pragma once

#include <functional>
#include <systemc>

#include "driver-model/driver_thread.h"
#include "driver-model/smi_events.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/timeline.h"
#include "sim/core/waits.h"

namespace fl::driver {

// The command processor's side: unmap / map every queue of the process; `done` runs when
// all of them are off (on) the GPU.
struct QueueControl {
  std::function<void(std::function<void()> done)> evict_all;
  std::function<void(std::function<void()> done)> restore_all;
  // What a thread waiting for them waits on, in the wait-for graph (null: not a node).
  const WaitResource* node = nullptr;
  // Whether an unmap now would have to wait for retry faults to be serviced first (the
  // queues have faults pending and the GPU cannot preempt them): what a KFD eviction
  // fence answers to "may this deadlock?". Unset: never.
  std::function<bool()> blocked_by_faults;
};

class QueueEviction : public sc_core::sc_module {
 public:
  QueueEviction(sc_core::sc_module_name name, const config::Kfd& cfg, SmiEvents& smi);

  void set_control(QueueControl c) { control_ = std::move(c); }
  // kfd_process_evict_queues: returns once the queues are off the GPU (at once if they
  // already were).
  void evict(DriverThread& t, EvictTrigger why);
  // kfd_process_restore_queues: the last restore maps the queues again; returns once they
  // run. `rescheduled` marks a restore that had been put off (QUEUE_RESTORE's 'R').
  void restore(DriverThread& t, bool rescheduled = false);

  // Draws each eviction and restore (request to the queues off / on the GPU) on lanes
  // "driver.queues N" (sim/core/timeline.h).
  void set_timeline(Timeline* t) { tl_ = std::make_unique<TimelineLanes>(*t, name(), timeline_sort::kQueueEviction); }

  uint32_t evicted_count() const { return count_; }
  bool evicted() const { return count_ > 0; }

 private:
  void wait_for(const std::function<void(std::function<void()>)>& op);

  config::Kfd cfg_;
  SmiEvents& smi_;
  QueueControl control_;
  uint32_t count_ = 0;
  sc_core::sc_time evicted_at_;
  sc_core::sc_event done_event_;
  std::unique_ptr<TimelineLanes> tl_;  // null: no timeline

  stats::Group stats_;
  stats::Counter evictions_{stats_, "evictions", "count", "Process queue evictions (first reference only)"};
  stats::Counter nested_{stats_, "nested_evictions", "count", "Evictions of a process already evicted (reference counted)"};
  stats::Histogram evict_ns_{stats_, "evict_ns", "ns", "Eviction: request to every queue unmapped (the evicting thread blocks this long)"};
  stats::Histogram restore_ns_{stats_, "restore_ns", "ns", "Restore: request to every queue mapped again"};
  stats::Histogram off_ns_{stats_, "evicted_ns", "ns", "Time the process's queues stayed evicted: eviction request to restore done"};
};

}  // namespace fl::driver
