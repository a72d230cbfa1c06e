#include "sim/platform/sim_control.h"

#include "sim/core/format.h"
#include "sim/core/sim_status.h"
#include "sim/core/time.h"
#include "sim/core/waits.h"

namespace fl::platform {

namespace {
// How often the drain looks for quiescence: fine enough not to stretch the run noticeably
// (every fault service takes microseconds), coarse enough to cost few events.
const sc_core::sc_time kDrainPoll = sc_core::sc_time(1, sc_core::SC_US);
}  // namespace

SimControl::SimControl(sc_core::sc_module_name name, const config::Sim& cfg,
                       const hw::ComputeUnits& cu, Quiescent quiescent, Describe describe_state)
    : sc_module(name),
      cfg_(cfg),
      cu_(cu),
      quiescent_(std::move(quiescent)),
      describe_(std::move(describe_state)) {
  SC_HAS_PROCESS(SimControl);
  SC_THREAD(watchdog);
  SC_THREAD(drain);
}

void SimControl::workload_done() {
  done_ = true;
  workload_end_ = sc_core::sc_time_stamp();
  done_event_.notify(sc_core::SC_ZERO_TIME);
}

void SimControl::drain() {
  while (!done_) sc_core::wait(done_event_);
  const sc_core::sc_time limit = workload_end_ + from_ns(cfg_.watchdog_ns());
  while (!quiescent_()) {
    if (sc_core::sc_time_stamp() >= limit) {
      report_sim_error("the system did not become idle within " + format_duration_ns(cfg_.watchdog_ns()) +
                       " (sim.watchdog_ns) after the workload finished; blocked: " + Waits::summary());
      return;
    }
    sc_core::wait(kDrainPoll);
  }
  sc_core::sc_stop();
}

void SimControl::watchdog() {
  const sc_core::sc_time period = from_ns(cfg_.watchdog_ns());
  uint64_t last = cu_.completed();
  uint64_t last_ended = Waits::ended();
  while (!done_) {
    sc_core::wait(period, done_event_);
    if (done_) return;
    const uint64_t now = cu_.completed();
    const uint64_t ended = Waits::ended();
    // Progress: a GPU access completed or a blocked thread got what it waited for.
    const bool stuck = now == last && ended == last_ended && (cu_.in_flight() > 0 || Waits::pending() > 0);
    if (stuck) {
      report_sim_error("no forward progress: " + std::to_string(cu_.in_flight()) +
                       " GPU accesses in flight, none completed and no blocked thread woke in the last " +
                       format_duration_ns(cfg_.watchdog_ns()) + " (sim.watchdog_ns); " + describe_() +
                       "; blocked: " + Waits::summary());
      return;
    }
    last = now;
    last_ended = ended;
  }
}

}  // namespace fl::platform
