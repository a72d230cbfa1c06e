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
                       const hw::ComputeUnits& cu, Quiescent quiescent, Describe describe_state,
                       HwProgress hw_progress)
    : sc_module(name),
      cfg_(cfg),
      cu_(cu),
      quiescent_(std::move(quiescent)),
      describe_(std::move(describe_state)),
      hw_progress_(std::move(hw_progress)) {
  SC_HAS_PROCESS(SimControl);
  SC_THREAD(watchdog);
  SC_THREAD(drain);
}

void SimControl::workload_done() {
  done_ = true;
  workload_end_ = sc_core::sc_time_stamp();
  done_event_.notify(sc_core::SC_ZERO_TIME);
}

SimControl::Mark SimControl::mark() const { return {cu_.completed(), Waits::ended(), hw_progress_()}; }

void SimControl::drain() {
  while (!done_) sc_core::wait(done_event_);
  // The drain may take as long as it makes progress (a long copy still executing); a
  // whole sim.watchdog_ns without any is an error.
  sc_core::sc_time limit = workload_end_ + from_ns(cfg_.watchdog_ns());
  Mark last = mark();
  while (!quiescent_()) {
    if (sc_core::sc_time_stamp() >= limit) {
      const Mark now = mark();
      if (now == last) {
        report_sim_error("the system did not become idle within " + format_duration_ns(cfg_.watchdog_ns()) +
                         " (sim.watchdog_ns) of no progress after the workload finished; blocked: " +
                         Waits::summary());
        return;
      }
      last = now;
      limit = sc_core::sc_time_stamp() + from_ns(cfg_.watchdog_ns());
    }
    sc_core::wait(kDrainPoll);
  }
  sc_core::sc_stop();
}

void SimControl::watchdog() {
  const sc_core::sc_time period = from_ns(cfg_.watchdog_ns());
  Mark last = mark();
  while (!done_) {
    sc_core::wait(period, done_event_);
    if (done_) return;
    const Mark now = mark();
    // Progress: a GPU access completed, a blocked thread got what it waited for, or a copy
    // engine moved data.
    const bool stuck = now == last && (cu_.in_flight() > 0 || Waits::pending() > 0);
    if (stuck) {
      report_sim_error("no forward progress: " + std::to_string(cu_.in_flight()) +
                       " GPU accesses in flight, none completed, no blocked thread woke and no copy engine "
                       "moved data in the last " +
                       format_duration_ns(cfg_.watchdog_ns()) + " (sim.watchdog_ns); " + describe_() +
                       "; blocked: " + Waits::summary());
      return;
    }
    last = now;
  }
}

}  // namespace fl::platform
