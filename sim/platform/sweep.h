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
// Executors: a local pool of `jobs` processes (default), or Slurm job arrays: the pending
// points in chunks, one array task per chunk, each task the local executor over its chunk on
// its node (`faultline sweep SPEC --points-from OUT/slurm/chunk-N.txt --no-table`), submitted
// with sbatch; the table is gathered when squeue lists no task of the job. Files in
// OUT/slurm/: sweep.sbatch, chunk-N.txt, task-N.log, job.txt (the job id, so that a re-run
// while it is still queued is refused instead of running its points twice).
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
  std::string executor = "local";          // local | slurm
  size_t chunk = 0;                        // slurm: points per array task (0: at most 1000 tasks)
  std::vector<std::string> slurm_options;  // slurm: extra #SBATCH lines, e.g. "--partition=gpu"
  std::string sbatch = "sbatch";           // slurm: the sbatch command (from PATH)
  std::string points_from;                 // run only the points this file names, one per line
  bool table = true;                       // gather results.csv at the end (array tasks: no)
  std::string config;                      // replaces the spec's base config
  std::vector<std::string> sets;           // KEY=VALUE added to the spec's `set` ($NAME: a workload variable)
};

struct SweepPoint {
  std::string name;
  std::vector<std::pair<std::string, std::string>> values;  // key, value (seed as "seed")
};

struct SweepSummary {
  size_t points = 0, ran = 0, already_done = 0, failed = 0;  // failed: of the points run now
  size_t missing = 0;  // points neither done nor failed when the table was written (slurm)
  size_t failed_in_table = 0;  // rows that failed, in this run or an earlier one
  std::string out_dir, table;
};

// Parses and checks the spec and lists its points (throws fl::InputError naming the file
// and, for a bad field, what is wrong with it).
std::vector<SweepPoint> sweep_points(const std::string& spec_path);

// Runs the sweep; throws fl::InputError for a bad spec or an output directory it cannot use.
SweepSummary run_sweep(const SweepOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace fl::platform
