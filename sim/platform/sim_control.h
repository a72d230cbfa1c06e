// Run control, SystemC module "sim": stops the simulation when the workload is done, and
// watches for forward progress: if GPU accesses are in flight and none completed during a
// whole sim.watchdog_ns period, the run stops with an error (exit status 3) naming what was
// outstanding.
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

  SimControl(sc_core::sc_module_name name, const config::Sim& cfg, const hw::ComputeUnits& cu,
             Describe describe_state);

  // The workload has performed its last operation.
  void workload_done();
  bool done() const { return done_; }

 private:
  void watchdog();

  config::Sim cfg_;
  const hw::ComputeUnits& cu_;
  Describe describe_;
  bool done_ = false;
  sc_core::sc_event done_event_;
};

}  // namespace fl::platform
