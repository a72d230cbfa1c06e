// Compute units running waves that issue a kernel's memory accesses.
//
// Models: a launched kernel has cus x waves_per_cu waves, all starting at launch. Each wave
// issues accesses from its pattern (sequential grid-stride, strided, or uniform random
// over the footprint, seeded per wave), at most outstanding_per_wave in flight and one per
// issue_interval. An access first translates at UTCL2; a NACK (retry fault) makes it wait
// retry_interval and replay the translation; once translated it goes to memory through
// the fabric (VRAM, or host memory when the PTE has SYSTEM set) and completes when the
// memory answers. The kernel ends when its last access completes.
// Abstracts away: instruction execution (waves only issue memory accesses), kernel
// dispatch cost, UTCL1 and the vector caches (every access translates at UTCL2 and goes
// to memory), coalescing of lanes (one access is one request of access_bytes).
//
// Ports: tr_out (AT initiator to UTCL2), mem_out (AT initiator to the fabric).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>
#include <systemc>

#include "sim/core/event_queue.h"
#include "sim/core/fault_trace.h"
#include "sim/core/rng.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/time.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/txn.h"

namespace fl::hw {

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
};

class ComputeUnits : public sc_core::sc_module {
 public:
  ComputeUnits(sc_core::sc_module_name name, const config::ComputeUnits& cfg,
               const Clock& clock, uint64_t seed, FaultTrace* trace);

  AtInitiatorPort tr_out;
  AtInitiatorPort mem_out;

  // Starts a kernel; `done` runs when its last access has completed. The spec must fit the
  // hardware (check_launch).
  void launch(const KernelSpec& spec, std::function<void()> done);
  // Why `spec` cannot run on a GPU configured by `cfg`, or empty.
  static std::string check_launch(const config::ComputeUnits& cfg, const KernelSpec& spec);

  // Preemption (the command processor): a paused kernel's waves issue nothing new and hold
  // their NACKed accesses' replays until resumed; accesses already past translation finish.
  void set_paused(const std::string& kernel, bool paused);

  uint64_t completed() const { return completed_.value(); }
  uint64_t in_flight() const { return in_flight_; }

 private:
  struct Kernel;
  struct Wave {
    Kernel* kernel;
    uint32_t index;
    Rng rng;
    uint64_t issued = 0;
    uint64_t done = 0;
    uint32_t outstanding = 0;
    uint64_t next_issue_ps = 0;
    bool pump_scheduled = false;
  };
  struct Kernel {
    KernelSpec spec;
    std::function<void()> done;
    std::vector<Wave> waves;
    uint64_t waves_done = 0;
    bool paused = false;                // preempted (set_paused)
    std::vector<Payload*> held_replays;  // replays due while paused
  };

  void pump(Wave& w);
  void issue(Wave& w);
  void translate(Payload& gp);
  void on_translation(Payload& gp);
  void on_data(Payload& gp);
  uint64_t next_offset(Wave& w);

  config::ComputeUnits cfg_;
  Clock clock_;
  uint64_t seed_;
  FaultTrace* trace_;
  sc_core::sc_time issue_interval_;
  sc_core::sc_time retry_interval_;
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
  stats::Histogram access_ns_{stats_, "access_ns", "ns", "Access latency from issue to completion, replays included"};
  stats::Histogram translation_ns_{stats_, "translation_ns", "ns", "Latency of a translation request that succeeded (its last attempt)"};
};

}  // namespace fl::hw
