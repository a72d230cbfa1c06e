#include "sim/platform/sim_control.h"

#include "sim/core/format.h"
#include "sim/core/sim_status.h"
#include "sim/core/time.h"

namespace fl::platform {

SimControl::SimControl(sc_core::sc_module_name name, const config::Sim& cfg,
                       const hw::ComputeUnits& cu, Describe describe_state)
    : sc_module(name), cfg_(cfg), cu_(cu), describe_(std::move(describe_state)) {
  SC_HAS_PROCESS(SimControl);
  SC_THREAD(watchdog);
}

void SimControl::workload_done() {
  done_ = true;
  done_event_.notify(sc_core::SC_ZERO_TIME);
  sc_core::sc_stop();
}

void SimControl::watchdog() {
  const sc_core::sc_time period = from_ns(cfg_.watchdog_ns());
  uint64_t last = cu_.completed();
  while (!done_) {
    sc_core::wait(period, done_event_);
    if (done_) return;
    const uint64_t now = cu_.completed();
    if (cu_.in_flight() > 0 && now == last) {
      report_sim_error("no forward progress: " + std::to_string(cu_.in_flight()) +
                       " GPU accesses in flight and none completed in the last " +
                       format_duration_ns(cfg_.watchdog_ns()) + " (sim.watchdog_ns); " + describe_());
      return;
    }
    last = now;
  }
}

}  // namespace fl::platform
