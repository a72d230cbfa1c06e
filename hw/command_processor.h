// The command processor's hardware scheduler (HWS / MEC firmware) for compute queues.
//
// Models:
// - Queues and slots: a compute queue (one per name, created on first use) runs only while
//   mapped to one of hw_queue_slots hardware queue slots (HQDs). Mapping (MAP_QUEUES) costs
//   map_queues_ns plus, for a queue whose waves were saved, restoring that state; unmapping
//   (UNMAP_QUEUES) costs unmap_queues_ns plus the preemption of its resident waves.
// - Dispatch: a kernel dispatched on a queue starts on the compute units once the queue is
//   mapped; its descriptor (hw/kernel_descriptor.h) tells which state it leaves resident.
// - Faults pending (preempt_with_fault_pending off, as on gfx9): a save or reset cannot
//   start while any of the queue's waves has a NACKed access still replaying (the trap
//   handler waits for outstanding memory accesses); the waves stop issuing at once and
//   the preemption starts when the last pending fault is serviced, or times out.
// - Preemption, by policy (preemption_mode, one class per mode):
//     CWSR        the trap handler saves every resident wave: per wave cwsr_per_wave_ns,
//                 registers (VGPR, SGPR, HWREG) at cwsr_register_gb_per_s and LDS at
//                 cwsr_lds_gb_per_s, each rate capped by the VRAM bandwidth; restore
//                 costs the same on the next map;
//     WAVE_DRAIN  dispatch stops and the unmap waits for the queue's kernels to finish;
//     WAVE_RESET  the waves are killed (wave_reset_ns) and nothing is saved.
//   A preemption that has not finished within preemption_timeout_ns resets the queue.
// - Time-slicing: while a queue waits for a slot and every slot is busy, the queue mapped
//   longest is preempted once it has run time_slice_ns and goes to the back of the
//   runlist; an idle mapped queue gives up its slot at once.
// - The driver's interface (kfd_device_queue_manager.c evict/restore): evict(queue) unmaps
//   a queue and keeps it off the GPU until restore(queue).
// Abstracts away: the runlist IB and MQD memory traffic, priorities and gang scheduling,
// per-pipe arbitration, the trap handler's wait for memory accesses already past translation
// (they complete during the save; only NACKed ones hold a save up, see above), and what a
// reset loses: a reset queue's
// waves resume where they were when it is mapped again.
//
// Ports: none; it drives the compute units (ComputeUnits::launch, set_paused) directly.
// Timeline (set_timeline): a track per queue ("soc.gpu.cp.queue NAME") with its states one
// after another: waiting (for a slot), mapping or cwsr_restore (MAP_QUEUES, restoring saved
// waves), running (mapped), unmapping or the preemption by mode (cwsr_save, wave_drain,
// wave_reset: UNMAP_QUEUES with waves resident), evicted (by the driver, until restore).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <systemc>

#include "hw/compute_units.h"
#include "hw/kernel_descriptor.h"
#include "sim/core/event_queue.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/timeline.h"
#include "sim/core/waits.h"

namespace fl::hw {

// What preempting a queue's resident waves costs: one class per preemption mode.
class PreemptionPolicy {
 public:
  virtual ~PreemptionPolicy() = default;
  virtual const char* name() const = 0;
  // Whether the waves must drain (finish) before the queue can be unmapped.
  virtual bool drains() const { return false; }
  // Whether the resident state is kept (saved) for the next map.
  virtual bool saves() const { return false; }
  // Time to preempt (besides unmap_queues_ns and any drain) and to restore on the next map
  // (besides map_queues_ns).
  virtual sc_core::sc_time save_time(const Residency& r) const = 0;
  virtual sc_core::sc_time restore_time(const Residency& r) const = 0;

  static std::unique_ptr<PreemptionPolicy> make(const config::CommandProcessor& cfg,
                                                double vram_gb_per_s);
};

class CwsrPreemption : public PreemptionPolicy {
 public:
  CwsrPreemption(const config::CommandProcessor& cfg, double vram_gb_per_s);
  const char* name() const override { return "CWSR"; }
  bool saves() const override { return true; }
  sc_core::sc_time save_time(const Residency& r) const override;
  sc_core::sc_time restore_time(const Residency& r) const override { return save_time(r); }

 private:
  double per_wave_ns_;
  double register_gb_per_s_;
  double lds_gb_per_s_;
};

class WaveDrainPreemption : public PreemptionPolicy {
 public:
  const char* name() const override { return "WAVE_DRAIN"; }
  bool drains() const override { return true; }
  sc_core::sc_time save_time(const Residency&) const override { return sc_core::SC_ZERO_TIME; }
  sc_core::sc_time restore_time(const Residency&) const override { return sc_core::SC_ZERO_TIME; }
};

class WaveResetPreemption : public PreemptionPolicy {
 public:
  explicit WaveResetPreemption(double reset_ns) : reset_ns_(reset_ns) {}
  const char* name() const override { return "WAVE_RESET"; }
  sc_core::sc_time save_time(const Residency& r) const override;
  sc_core::sc_time restore_time(const Residency&) const override { return sc_core::SC_ZERO_TIME; }

 private:
  double reset_ns_;
};

// In the wait-for graph (sim/core/waits.h) the command processor is the node a driver
// thread waiting for an unmap points at: while an unmap waits for pending faults, it waits
// for their service (set_fault_service), so a service that waits for that thread closes a
// cycle.
class CommandProcessor : public sc_core::sc_module, public WaitResource {
 public:
  CommandProcessor(sc_core::sc_module_name name, const config::CommandProcessor& cfg,
                   const config::ComputeUnits& cu_cfg, double vram_gb_per_s, ComputeUnits& cu);

  // The driver's retry-fault service, as a node of the wait-for graph.
  void set_fault_service(const WaitResource* r) { fault_service_ = r; }
  std::string wait_label() const override { return std::string("the unmap of queues by ") + name(); }
  const char* owner_relation() const override { return "which waits for"; }
  void wait_owners(std::vector<const sc_core::sc_process_b*>&, std::vector<const WaitResource*>& r) const override {
    if (fault_service_ != nullptr && fault_waits_in_progress_ > 0) r.push_back(fault_service_);
  }

  // Whether unmapping a queue now would first wait for its pending retry faults to be
  // serviced (a queue has some, and preempt_with_fault_pending is off).
  bool preemption_needs_fault_service() const;

  using QueueId = size_t;
  struct PreemptResult {
    double latency_ns = 0;    // eviction request to queue unmapped
    uint64_t waves = 0;       // resident when preempted
    uint64_t saved_bytes = 0;
    bool timed_out = false;
  };

  // The queue called `name`, created (unmapped, empty) on first use.
  QueueId queue(const std::string& name);
  // Runs `spec` (whose resident state `d` describes) on queue `q` once it is mapped, mapping
  // it if needed; `done` runs when the kernel's last access completes. `accepted` runs when
  // the kernel starts or, if every slot is busy, when the queue joins the runlist: queue
  // creation returns once the scheduler has mapped the queue or queued it
  // (execute_queues_cpsch waits for the runlist update).
  void dispatch(QueueId q, const KernelSpec& spec, const KernelDescriptor& d,
                std::function<void(KernelEnd)> done, std::function<void()> accepted = nullptr);
  // Driver eviction: unmaps `q`, preempting its waves; `done` runs once it is off the GPU.
  void evict(QueueId q, std::function<void(const PreemptResult&)> done);
  // Driver restore: maps `q` again, restoring saved waves; `done` runs with the time taken
  // once its waves run again.
  void restore(QueueId q, std::function<void(double ns)> done);

  // Queues created so far (ids 0 .. queue_count() - 1) and whether one is evicted.
  size_t queue_count() const { return queues_.size(); }
  bool evicted(QueueId q) const { return queues_[q].evicted; }

  CuResources resources() const { return res_; }
  static CuResources resources(const config::CommandProcessor& cfg, const config::ComputeUnits& cu);
  const PreemptionPolicy& policy() const { return *policy_; }
  // Draws every queue's states on `t` (sim/core/timeline.h).
  void set_timeline(Timeline* t);
  // No map or unmap in progress and no dispatch waiting for a slot.
  bool idle() const;

 private:
  enum class State { kUnmapped, kMapping, kMapped, kUnmapping };
  struct Running {
    std::string kernel;
    Residency state;
  };
  struct Pending {
    KernelSpec spec;
    KernelDescriptor desc;
    std::function<void(KernelEnd)> done;
    std::function<void()> accepted;
  };
  struct Queue {
    std::string name;
    State state = State::kUnmapped;
    bool evicted = false;        // by the driver: not mapped until restore()
    bool in_runlist = false;     // waiting for a slot
    bool saved = false;          // wave state is in the CWSR area
    bool paused = false;         // its kernels are stopped on the CUs
    bool hold_replays = true;    // while paused: NACKed accesses wait too (else they replay)
    bool awaiting_faults = false;  // its unmap waits for its pending faults
    Residency saved_state;
    std::vector<Running> kernels;
    std::deque<Pending> pending;
    uint64_t mapped_at_ps = 0;
    uint64_t switch_start_ps = 0;  // a time-slice switch towards this queue began (0: none)
    std::vector<std::function<void(const PreemptResult&)>> on_unmapped;
    std::vector<std::function<void(double)>> on_mapped;
    uint64_t request_ps = 0;      // the queue asked for a slot
    uint64_t unmap_ps = 0;        // the unmap in progress was requested (0: none)
    uint64_t restore_ps = 0;      // the driver's last restore request
    uint64_t drain_token = 0;     // invalidates a stale preemption timeout
    uint64_t unmap_waves = 0;     // resident when the unmap in progress began
    const char* tl_state = nullptr;  // timeline: the state being drawn (null: none)
    uint64_t tl_since_ps = 0;
    std::string tl_args;
  };

  Residency resident(const Queue& q) const;
  void want_slot(QueueId q);
  void map(QueueId q);
  void mapped(QueueId q);
  void unmap(QueueId q);
  // The save or reset of an unmap, once the waves can be preempted.
  void preempt_waves(QueueId q, const Residency& r, uint64_t token, uint64_t unmap_start_ps);
  uint64_t faults_pending(const Queue& q) const;
  // Waits (re-registering) until no kernel of the queue has a fault pending, then preempts.
  void await_faults(QueueId q, const Residency& r, uint64_t token, uint64_t since_ps);
  void stop_awaiting_faults(Queue& q);
  void finish_unmap(QueueId q, bool timed_out, uint64_t waves, uint64_t saved_bytes);
  void set_paused(Queue& q, bool paused, bool hold_replays = true);
  void start_kernels(QueueId q);
  void kernel_done(QueueId q, const std::string& kernel);
  void fill_slots();
  void arm_time_slice();
  void time_slice();
  uint32_t busy_slots() const;
  // Timeline: queue `q` leaves the state drawn (its slice gets `close_args` too) and enters
  // `state` (null: none drawn).
  void tl_enter(QueueId q, const char* state, const std::string& open_args = "", const std::string& close_args = "");

  config::CommandProcessor cfg_;
  CuResources res_;
  std::unique_ptr<PreemptionPolicy> policy_;
  ComputeUnits& cu_;
  const WaitResource* fault_service_ = nullptr;
  uint32_t fault_waits_in_progress_ = 0;  // unmaps waiting for pending faults
  EventQueue events_;
  std::vector<Queue> queues_;
  std::map<std::string, QueueId> by_name_;
  std::deque<QueueId> runlist_;
  uint64_t slice_armed_for_ps_ = 0;
  Timeline* tl_ = nullptr;
  std::vector<std::unique_ptr<TimelineTrack>> tl_tracks_;  // per queue, with a timeline

  stats::Group stats_;
  stats::Counter maps_{stats_, "maps", "count", "MAP_QUEUES: queues mapped to a slot"};
  stats::Counter unmaps_{stats_, "unmaps", "count", "UNMAP_QUEUES: queues unmapped"};
  stats::Counter dispatches_{stats_, "dispatches", "count", "Kernels dispatched"};
  stats::Counter time_slices_{stats_, "time_slices", "count", "Queues preempted because their time slice ended while others waited"};
  stats::Histogram switch_ns_{stats_, "switch_ns", "ns", "Time-slice switch: preemption of the outgoing queue began to the incoming queue's waves running"};
  stats::Histogram slot_wait_ns_{stats_, "slot_wait_ns", "ns", "Time a queue waited in the runlist for a slot"};
  stats::Value max_mapped_{stats_, "max_mapped_queues", "queues", "Most queues mapped at once"};

  // soc.gpu.cp.preempt: the cost of preemptions.
  struct PreemptStats : sc_core::sc_module {
    explicit PreemptStats(sc_core::sc_module_name n) : sc_module(n) {}
    stats::Group group;
    stats::Counter count{group, "count", "count", "Unmaps of a queue with waves resident"};
    stats::Histogram latency_ns{group, "latency_ns", "ns", "Eviction request to queue saved (or drained or reset) and unmapped"};
    stats::Histogram restore_ns{group, "restore_ns", "ns", "Restore request to the queue mapped and its saved waves running again"};
    stats::Counter saved_bytes{group, "saved_bytes", "bytes", "Wave state saved to CWSR areas (registers and LDS)"};
    stats::Counter restored_bytes{group, "restored_bytes", "bytes", "Wave state restored from CWSR areas"};
    stats::Counter saved_lds_bytes{group, "saved_lds_bytes", "bytes", "LDS part of saved_bytes"};
    stats::Counter waves{group, "waves", "count", "Resident waves preempted"};
    stats::Counter timeouts{group, "timeouts", "count", "Preemptions that exceeded soc.gpu.cp.preemption_timeout_ns (queue reset)"};
    stats::Counter hangs{group, "hangs", "count", "Unmaps that never completed (fault injection: soc.gpu.cp.unmap_hangs)"};
    stats::Counter fault_waits{group, "fault_waits", "count",
                               "Unmaps that waited for the queue's pending retry faults first (preempt_with_fault_pending off)"};
    stats::Histogram fault_wait_ns{group, "fault_wait_ns", "ns", "Time such an unmap waited for the pending faults"};
  };
  PreemptStats preempt_{"preempt"};
};

}  // namespace fl::hw
