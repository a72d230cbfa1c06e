// Compute units running waves that issue a kernel's memory accesses.
//
// Models: a launched kernel has cus x waves_per_cu waves, all starting at launch. Each wave
// issues accesses from its pattern (sequential grid-stride, strided, or uniform random
// over the footprint, seeded per wave), at most outstanding_per_wave in flight and one per
// issue_interval. Wave i of a kernel runs on compute unit i / waves_per_cu. An access
// first translates at its CU's UTCL1 (which asks UTCL2 on a miss); a NACK (retry fault)
// makes it wait retry_interval and replay the translation (or, with replay =
// ON_REPLAY_COMMAND, park until the driver's replay command, replay(), re-issues every
// parked access replay_latency later: NVIDIA's replayable faults); once translated it goes to
// memory through the fabric (VRAM, or host memory when the PTE has SYSTEM set) and
// completes when the memory answers. POINTER_CHASE makes each access depend on the last
// (one outstanding) and visits the footprint's stride-sized slots in one seeded random
// cycle, the classic TLB-reach measurement. A fatal (no-retry) fault halts the wave; the
// driver then kills the kernel's queue (kill()), which ends it once its accesses in
// flight have drained. The kernel ends when its last access completes.
// Abstracts away: instruction execution (waves only issue memory accesses), kernel
// dispatch cost, the vector caches (every access goes to memory), coalescing of lanes
// (one access is one request of access_bytes).
//
// Ports: mem_out (AT initiator to the fabric); translation is a direct call into UTCL1.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>
#include <systemc>

#include "mmu/utcl1.h"
#include "sim/core/event_queue.h"
#include "sim/core/fault_trace.h"
#include "sim/core/rng.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/time.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/txn.h"

namespace fl::hw {

// Where a kernel's accesses come from when they do not follow its pattern (a replayed
// trace, sim/trace/replay_source.h). A wave takes its accesses in order, the next one only
// when the wave may issue (outstanding_per_wave, issue_interval), and not before
// `issue_after_ps` from the kernel's launch (0 for a closed-loop replay).
struct SourcedAccess {
  uint64_t offset_bytes = 0;  // from the kernel's base_va
  uint32_t bytes = 0;
  bool write = false;
  uint64_t issue_after_ps = 0;
};
class AccessSource {
 public:
  virtual ~AccessSource() = default;
  // Accesses wave `wave` makes in all.
  virtual uint64_t count(uint32_t wave) const = 0;
  // Its `index`-th access (0-based, asked in order); throws fl::InputError if it has none.
  virtual SourcedAccess next(uint32_t wave, uint64_t index) = 0;
};

// How an access ended (what a recorder writes beside it).
enum class AccessOutcome { kCompleted, kFatal, kDropped };
struct AccessRecord {
  const std::string* kernel;  // the kernel's name
  uint32_t wave;
  uint64_t index;             // in the wave, 0-based
  uint64_t offset_bytes;      // from the kernel's base_va
  uint32_t bytes;
  bool write;
  uint64_t issue_ps;          // since the kernel's launch
  uint64_t latency_ps;        // issue to completion (to the end, if not completed)
  bool faulted;
  AccessOutcome outcome;
};

struct KernelSpec {
  std::string name;
  uint64_t base_va = 0;
  uint64_t footprint_bytes = 0;
  wl::Pattern pattern = wl::SEQUENTIAL;
  uint64_t stride_bytes = 0;
  uint32_t access_bytes = 64;
  uint64_t accesses_per_wave = 0;
  double write_fraction = 0;
  uint32_t cus = 1;
  uint32_t waves_per_cu = 1;
  uint32_t outstanding_per_wave = 1;
  uint8_t vmid = 0;
  uint16_t pasid = 0;
  // Set: the waves' accesses (offsets, sizes, directions, how many) come from here instead of
  // pattern, access_bytes, write_fraction and accesses_per_wave.
  std::shared_ptr<AccessSource> source;
};

// How a kernel ended.
enum class KernelEnd { kCompleted, kKilled };

class ComputeUnits : public sc_core::sc_module {
 public:
  ComputeUnits(sc_core::sc_module_name name, const config::ComputeUnits& cfg,
               const Clock& clock, uint64_t seed, FaultTrace* trace, mmu::Utcl1& utcl1);

  AtInitiatorPort mem_out;

  // Starts a kernel; `done` runs when its last access has completed, or when it was killed
  // and its accesses in flight have drained. The spec must fit the hardware (check_launch).
  void launch(const KernelSpec& spec, std::function<void(KernelEnd)> done);
  // Kills the queues of `vmid` (the driver evicting a process after a fatal fault): their
  // kernels issue nothing more and end once their accesses in flight have completed.
  void kill(uint8_t vmid);
  // Checker hook: called with every successful translation (pasid, va, physical address,
  // system memory?). Unset: nothing is called.
  using TranslationObserver = std::function<void(uint16_t, uint64_t, uint64_t, bool)>;
  void set_translation_observer(TranslationObserver fn) { observer_ = std::move(fn); }
  // Recorder hook: called once for every access issued, when it ends. Unset: nothing is called.
  using AccessObserver = std::function<void(const AccessRecord&)>;
  void set_access_observer(AccessObserver fn) { access_observer_ = std::move(fn); }
  uint64_t killed_kernels() const { return killed_.value(); }
  // POINTER_CHASE slots a kernel may visit (its permutation is held in memory).
  static constexpr uint64_t kMaxChaseSlots = uint64_t{1} << 26;
  // Why `spec` cannot run on a GPU configured by `cfg`, or empty.
  static std::string check_launch(const config::ComputeUnits& cfg, const KernelSpec& spec);

  // Preemption (the command processor): a paused kernel's waves issue nothing new and hold
  // their NACKed accesses' replays until resumed; accesses already past translation finish.
  // With hold_replays false the waves only stop issuing and their NACKed accesses go on
  // replaying (a trap handler waiting for outstanding memory accesses).
  void set_paused(const std::string& kernel, bool paused, bool hold_replays = true);
  // Accesses of `kernel` with a retry fault pending: NACKed at least once and not yet
  // translated (nor ended).
  uint64_t faults_pending(const std::string& kernel) const;
  // Runs `fn` once no access of `kernel` has a fault pending (now, if none has).
  void when_no_fault_pending(const std::string& kernel, std::function<void()> fn);

  // The driver's fault-replay command (through the VM block's register): every access
  // parked by a retry NACK replays. Ignored when the GPU replays on its retry timer.
  void replay();
  uint64_t parked() const { return parked_.size(); }

  uint64_t completed() const { return completed_.value(); }
  uint64_t in_flight() const { return in_flight_; }

 private:
  struct Kernel;
  struct Wave {
    Wave(Kernel* k, uint32_t i, Rng r) : kernel(k), index(i), rng(r) {}
    Kernel* kernel;
    uint32_t index;
    Rng rng;
    uint64_t issued = 0;
    uint64_t done = 0;
    uint32_t outstanding = 0;
    uint64_t next_issue_ps = 0;
    bool pump_scheduled = false;
    bool halted = false;  // a fatal fault stopped it
    uint64_t chase_slot = 0;
    uint64_t total = 0;   // accesses it makes in all
    bool has_ahead = false;
    SourcedAccess ahead;  // with a source: the next access, taken before it may issue
  };
  struct Kernel {
    KernelSpec spec;
    std::function<void(KernelEnd)> done;
    std::vector<Wave> waves;
    uint64_t waves_done = 0;
    uint64_t in_flight = 0;
    bool killed = false;
    bool ended = false;
    std::vector<uint32_t> chase_next;  // POINTER_CHASE: the slot after each slot
    bool paused = false;                // preempted (set_paused)
    bool hold_replays = true;           // while paused, NACKed accesses wait (else replay)
    std::vector<Payload*> held_replays;  // replays due while paused
    uint64_t fault_pending = 0;          // accesses NACKed and not yet translated or ended
    std::vector<std::function<void()>> on_no_fault_pending;
    uint64_t start_ps = 0;               // launch time
  };

  void pump(Wave& w);
  void issue(Wave& w);
  void translate(Payload& gp);
  void on_translation(Payload& gp, const sc_core::sc_time& delay);
  // A NACKed access replays its translation (held while its kernel is paused).
  void replay_one(Payload& gp);
  void on_data(Payload& gp);
  void retire(Payload& gp, Wave& w, AccessOutcome outcome);
  void maybe_end(Kernel& k);
  // The access's pending fault, if it had one, is over (translated, fatal or dropped).
  void fault_resolved(Payload& gp, Kernel& k);
  uint64_t next_offset(Wave& w);

  config::ComputeUnits cfg_;
  mmu::Utcl1& utcl1_;
  Clock clock_;
  uint64_t seed_;
  FaultTrace* trace_;
  TranslationObserver observer_;
  AccessObserver access_observer_;
  sc_core::sc_time issue_interval_;
  sc_core::sc_time retry_interval_;
  sc_core::sc_time replay_latency_;
  bool on_command_;
  std::vector<Payload*> parked_;  // NACKed accesses waiting for a replay command
  EventQueue queue_;
  TxnPool pool_;
  std::vector<std::unique_ptr<Kernel>> kernels_;
  uint64_t in_flight_ = 0;

  stats::Group stats_;
  stats::Counter launched_{stats_, "kernels", "count", "Kernels launched"};
  stats::Counter waves_{stats_, "waves", "count", "Waves launched"};
  stats::Counter completed_{stats_, "accesses", "count", "Accesses completed"};
  stats::Counter reads_{stats_, "reads", "count", "Read accesses completed"};
  stats::Counter writes_{stats_, "writes", "count", "Write accesses completed"};
  stats::Counter nacks_{stats_, "nacks", "count", "Retry NACKs received (each followed by a replay)"};
  stats::Counter faulted_{stats_, "faulted_accesses", "count", "Accesses NACKed at least once"};
  stats::Counter fatal_{stats_, "fatal_accesses", "count", "Accesses that took a fatal (no-retry) fault; each halts its wave"};
  stats::Counter killed_{stats_, "killed_kernels", "count", "Kernels ended by the driver killing their queue"};
  stats::Counter dropped_{stats_, "dropped_accesses", "count", "Accesses abandoned because their kernel was killed"};
  stats::Histogram replayed_{stats_, "replayed_per_command", "accesses", "Parked accesses replayed by one replay command (ON_REPLAY_COMMAND)"};
  stats::Histogram access_ns_{stats_, "access_ns", "ns", "Access latency from issue to completion, replays included"};
  stats::Histogram translation_ns_{stats_, "translation_ns", "ns", "Latency of a translation request that succeeded (its last attempt)"};
};

}  // namespace fl::hw
