// faultline sweep SPEC (configs/schema/sweep.proto, docs/sweeps.md): many runs of one base
// config and workload or trace over parameter values, each point a `faultline run` (or
// `replay`) child process in its own directory, gathered into one results table.
//
// Layout of OUT: points/NAME/ per point (NAME lists its values, e.g.
// "soc.pcie.gen=5,soc.gpu.utcl2.entries=4096,seed=1"; the run's stats.json, stats.txt,
// config.resolved.textproto, its output in log.txt, and failed.txt if it failed),
// results.csv (a row per point: its name, each swept value, its status and the chosen
// stats), and sweep.log (a line per point finished, for audits).
//
// Resumable: a point is done when its stats.json exists (the run writes it whole at its
// end) or its failed.txt does; a re-run of the same command runs only the others. A point
// that fails (its run exits non-zero) is recorded with its exit status and the end of its
// output and does not stop the sweep. Children get SIGKILL when the sweep dies (prctl
// PR_SET_PDEATHSIG), so a killed sweep leaves no run behind; every file is written whole.
//
// Executor: a local pool of `jobs` processes. (Slurm job arrays: not yet.)
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace fl::platform {

struct SweepOptions {
  std::string spec_path;
  std::string out_dir;   // empty: out/sweep/NAME (NAME: the spec's name or file stem)
  unsigned jobs = 1;     // runs at once
  std::string binary;    // the faultline executable the points run (default: this one)
  bool progress = false; // print "points done/total" as they finish (a terminal)
};

struct SweepPoint {
  std::string name;
  std::vector<std::pair<std::string, std::string>> values;  // key, value (seed as "seed")
};

struct SweepSummary {
  size_t points = 0, ran = 0, already_done = 0, failed = 0;
  std::string out_dir, table;
};

// Parses and checks the spec and lists its points (throws fl::InputError naming the file
// and, for a bad field, what is wrong with it).
std::vector<SweepPoint> sweep_points(const std::string& spec_path);

// Runs the sweep; throws fl::InputError for a bad spec or an output directory it cannot use.
SweepSummary run_sweep(const SweepOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace fl::platform
