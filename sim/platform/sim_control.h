// Run control, SystemC module "sim".
//
// Ends the run: once the workload has performed its last operation, the run continues
// until the system is quiescent (no GPU access in flight, the driver idle, the IH and the
// copy engine drained), so every fault in progress reaches its outcome and is counted;
// a system that does not become quiescent within sim.watchdog_ns is an error.
// Watches for forward progress: if GPU accesses are in flight or threads blocked and during
// a whole sim.watchdog_ns period no GPU access completed, no blocked thread woke and no
// hardware unit moved data (a copy engine executing one long packet is progress), the run
// stops with an error (exit status 3) naming what was outstanding.
#pragma once

#include <functional>
#include <string>
#include <systemc>

#include "hw/compute_units.h"
#include "sim/core/schema.h"

namespace fl::platform {

class SimControl : public sc_core::sc_module {
 public:
  using Describe = std::function<std::string()>;
  using Quiescent = std::function<bool()>;
  // A count that grows while hardware other than the compute units does work (bytes the
  // copy engines have moved); the watchdog reads a change as progress.
  using HwProgress = std::function<uint64_t()>;

  SimControl(sc_core::sc_module_name name, const config::Sim& cfg, const hw::ComputeUnits& cu,
             Quiescent quiescent, Describe describe_state, HwProgress hw_progress);

  // The workload has performed its last operation.
  void workload_done();
  bool done() const { return done_; }
  // When the workload finished (valid once done()).
  const sc_core::sc_time& workload_end() const { return workload_end_; }

 private:
  void watchdog();
  void drain();
  // Everything the watchdog counts as progress, as one comparable value.
  struct Mark {
    uint64_t completed, woken, hw;
    bool operator==(const Mark& o) const { return completed == o.completed && woken == o.woken && hw == o.hw; }
  };
  Mark mark() const;

  config::Sim cfg_;
  const hw::ComputeUnits& cu_;
  Quiescent quiescent_;
  Describe describe_;
  HwProgress hw_progress_;
  bool done_ = false;
  sc_core::sc_time workload_end_;
  sc_core::sc_event done_event_;
};

}  // namespace fl::platform
