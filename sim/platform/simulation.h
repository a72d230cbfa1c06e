// One simulation run, end to end: resolve the config, load and check the workload, build
// the models, simulate, write the outputs, print the summary.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace fl::platform {

struct RunOptions {
  std::string config_path;         // empty: built-in defaults
  std::vector<std::string> sets;   // KEY=VALUE overrides, in order
  std::string workload_path;       // empty: built-in default workload
  std::string out_dir;             // empty: no output files
  std::string smi_events_path;     // empty: SMI events not written
  std::string timeline_path;       // empty: no timeline (sim/core/timeline.h)
  std::string record_path;         // empty: no trace recorded (trace_io.h)
  std::string replay_path;         // set: replay this trace instead of a workload
  bool open_loop = false;          // replay at the recorded times (else closed loop)
  std::optional<uint64_t> seed;
  bool quiet = false;
  // < 0: no progress line. Else, once the run has taken this many host seconds, a progress
  // line (simulated time, callbacks, faults, host rate, ETA for a replay) is rewritten on
  // `err` every second; the CLI sets it only when stderr is a terminal.
  double progress_after_s = -1;
};

// Runs one simulation (SystemC elaborates once per process, so at most one call per
// process). Returns the exit status (errors.h); bad input throws fl::InputError before
// anything is simulated. The summary goes to `out`, diagnostics to `err`.
int run_simulation(const RunOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace fl::platform
