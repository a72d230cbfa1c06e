// The faultline command line: `faultline <command> [options]`.
//
// Commands are a table (name, summary, options, action) so that more can be added without
// touching the dispatcher. Boost.Program_options parses each command's options.
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>

#include <unistd.h>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <google/protobuf/stubs/common.h>
#include <systemc>

#include "sim/core/build_info.h"
#include "sim/core/config_loader.h"
#include "sim/core/errors.h"
#include "sim/core/params_doc.h"
#include "sim/core/sim_status.h"
#include "sim/platform/simulation.h"
#include "sim/trace/import_csv.h"
#include "sim/trace/import_jsonl.h"
#include "sim/platform/sweep.h"
#include "sim/trace/import_smi.h"
#include "sim/trace/smi_compare.h"

namespace po = boost::program_options;

namespace {

constexpr const char* kExitStatusHelp =
    "Exit status:\n"
    "  0  success\n"
    "  1  internal error (a bug in faultline)\n"
    "  2  bad usage, config, workload or other input; the message names the file and line,\n"
    "     or the parameter key\n"
    "  3  the simulation detected an error: no forward progress (watchdog), a fatal GPU\n"
    "     fault, a time limit, a driver timeout\n";

struct Command {
  const char* name;
  const char* summary;
  const char* usage;
  std::function<void(po::options_description&)> options;
  std::function<int(const po::variables_map&)> action;
  std::vector<const char*> positional = {};  // names of the command's positional arguments, in order
};

int run_with(const po::variables_map& vm, fl::platform::RunOptions o) {
  if (vm.count("config")) o.config_path = vm["config"].as<std::string>();
  if (vm.count("set")) o.sets = vm["set"].as<std::vector<std::string>>();
  if (vm.count("workload")) o.workload_path = vm["workload"].as<std::string>();
  if (vm.count("out")) o.out_dir = vm["out"].as<std::string>();
  if (vm.count("smi-events")) o.smi_events_path = vm["smi-events"].as<std::string>();
  if (vm.count("timeline")) o.timeline_path = vm["timeline"].as<std::string>();
  if (vm.count("seed")) {
    // Parsed strictly: Boost's conversion would turn "-1" into 2^64 - 1.
    const std::string s = vm["seed"].as<std::string>();
    uint64_t seed = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), seed);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
      throw fl::InputError("--seed " + s + ": expected a non-negative integer below 2^64");
    }
    o.seed = seed;
  }
  o.quiet = vm.count("quiet") > 0;
  if (!o.quiet && ::isatty(STDERR_FILENO) != 0) o.progress_after_s = vm["progress-after"].as<double>();
  if (vm.count("record")) o.record_path = vm["record"].as<std::string>();
  return fl::platform::run_simulation(o, std::cout, std::cerr);
}

int cmd_run(const po::variables_map& vm) { return run_with(vm, {}); }

std::string trace_argument(const po::variables_map& vm, const char* command) {
  if (!vm.count("trace")) throw fl::InputError(std::string("faultline ") + command + ": give the trace file (TRACE)");
  return vm["trace"].as<std::string>();
}

int cmd_record(const po::variables_map& vm) {
  fl::platform::RunOptions o;
  o.record_path = trace_argument(vm, "record");
  return run_with(vm, o);
}

int cmd_replay(const po::variables_map& vm) {
  fl::platform::RunOptions o;
  o.replay_path = trace_argument(vm, "replay");
  o.open_loop = vm.count("open-loop") > 0;
  return run_with(vm, o);
}

fl::trace::SmiOptions smi_options(const po::variables_map& vm) {
  fl::trace::SmiOptions o;
  if (vm.count("smi-event14")) {
    const std::string v = vm["smi-event14"].as<std::string>();
    if (v == "dropped") {
      o.event14 = fl::trace::SmiEvent14::kDroppedEvent;
    } else if (v == "restore-rescheduled") {
      o.event14 = fl::trace::SmiEvent14::kQueueRestoreRescheduled;
    } else {
      throw fl::InputError("--smi-event14 must be dropped or restore-rescheduled, not '" + v + "'");
    }
  }
  return o;
}

int cmd_compare(const po::variables_map& vm) {
  for (const char* k : {"measured", "simulated"}) {
    if (!vm.count(k)) throw fl::InputError("faultline compare: give MEASURED and SIMULATED (SMI logs or imported traces)");
  }
  fl::trace::SmiCompareOptions o;
  o.smi = smi_options(vm);
  if (vm.count("pid")) o.pid = vm["pid"].as<uint32_t>();
  o.show = vm["show"].as<size_t>();
  const fl::trace::SmiComparison c =
      fl::trace::compare_smi(vm["measured"].as<std::string>(), vm["simulated"].as<std::string>(), o);
  std::cout << c.report;
  return fl::kExitOk;
}

int cmd_import(const po::variables_map& vm) {
  for (const char* k : {"format", "input", "output"}) {
    if (!vm.count(k)) throw fl::InputError("faultline import: give FORMAT, IN and OUT");
  }
  const std::string format = vm["format"].as<std::string>();
  const std::string in_path = vm["input"].as<std::string>();
  const std::string out_path = vm["output"].as<std::string>();
  fl::trace::ImportSummary s;
  if (format == "jsonl") {
    std::ifstream in(in_path);
    if (!in) throw fl::InputError(in_path + ": cannot open: " + std::strerror(errno));
    fl::trace::JsonlOptions o;
    o.access_bytes = vm["access-bytes"].as<uint32_t>();
    o.cus = vm["cus"].as<uint32_t>();
    s = fl::trace::import_jsonl(in, in_path, out_path, o);
  } else if (format == "csv") {
    fl::trace::CsvOptions o;
    o.cus = vm["cus"].as<uint32_t>();
    s = fl::trace::import_csv(in_path, out_path, o);
  } else if (format == "smi") {
    fl::trace::SmiImportOptions o;
    o.smi = smi_options(vm);
    o.access_bytes = vm["access-bytes"].as<uint32_t>();
    if (vm.count("pid")) o.pid = vm["pid"].as<uint32_t>();
    s = fl::trace::import_smi(in_path, out_path, o);
  } else {
    throw fl::InputError("faultline import: unknown format '" + format + "' (known: jsonl, csv, smi)");
  }
  std::cout << out_path << ": " << s.experiments << (format == "smi" ? " kernels, " : " experiments, ") << s.accesses << " accesses from "
            << s.lines << " lines of " << in_path << "\n";
  for (const std::string& n : s.notes) std::cout << "note: " << n << "\n";
  return fl::kExitOk;
}

// How an SMI log is read (import smi, compare).
void smi_log_options(po::options_description& d) {
  d.add_options()
      ("pid", po::value<uint32_t>()->value_name("P"),
       "smi: the process whose events to take (default: the log's only one)")
      ("smi-event14", po::value<std::string>()->value_name("MEANING"),
       "smi: what event number 14 means in the kernel that wrote the log: dropped (DROPPED_EVENT) or "
       "restore-rescheduled (QUEUE_RESTORE_RESCHEDULED); required if the log holds it");
}

// The options every simulating command takes; `workload`: it runs a workload file.
void simulation_options(po::options_description& d, bool workload) {
  d.add_options()
      ("config", po::value<std::string>()->value_name("FILE"),
       "config file (protobuf text format; default: the built-in mi200-pcie4 platform)")
      ("set", po::value<std::vector<std::string>>()->composing()->value_name("KEY=VALUE"),
       "override one parameter, e.g. --set soc.pcie.gen=5 (repeatable; see 'faultline params')");
  if (workload) {
    d.add_options()("workload", po::value<std::string>()->value_name("FILE"),
                    "workload file (default: the built-in stream workload, traces/workloads/stream.textproto)");
  }
  d.add_options()
      ("out", po::value<std::string>()->value_name("DIR"),
       "write stats.json, stats.txt and config.resolved.textproto to DIR")
      ("smi-events", po::value<std::string>()->value_name("FILE"),
       "write the KFD SMI events the driver emitted (PAGE_FAULT_START/END, MIGRATE_START/END, "
       "QUEUE_EVICTION/RESTORE, UNMAP_FROM_GPU, VMFAULT) to FILE in the kernel's text format, times in simulated ns")
      ("progress-after", po::value<double>()->default_value(2.0)->value_name("S"),
       "when stderr is a terminal, show a progress line once the run has taken S host seconds (not with --quiet)")
      ("timeline", po::value<std::string>()->value_name("FILE"),
       "write a timeline of every fault (its phases) and fault service, with arrows between them, to FILE in the "
       "Chrome JSON trace format that Perfetto UI loads (docs/timeline.md)")
      ("seed", po::value<std::string>()->value_name("N"), "seed of every random choice (sets sim.seed)")
      ("quiet", "do not print the summary");
}

int cmd_params(const po::variables_map& vm) {
  const std::string format = vm["format"].as<std::string>();
  fl::ParamsFormat f;
  if (format == "text") {
    f = fl::ParamsFormat::kText;
  } else if (format == "markdown") {
    f = fl::ParamsFormat::kMarkdown;
  } else if (format == "textproto") {
    f = fl::ParamsFormat::kTextproto;
  } else {
    throw fl::InputError("--format " + format + ": expected text, markdown or textproto");
  }
  std::optional<fl::ResolvedConfig> rc;
  if (vm.count("config") || vm.count("set")) {
    rc = fl::resolve_config(vm.count("config") ? vm["config"].as<std::string>() : "",
                            vm.count("set") ? vm["set"].as<std::vector<std::string>>()
                                            : std::vector<std::string>{},
                            std::nullopt);
  }
  std::cout << fl::render_params(f, rc ? &*rc : nullptr);
  return fl::kExitOk;
}

int cmd_sweep(const po::variables_map& vm) {
  if (!vm.count("spec")) throw fl::InputError("faultline sweep: give the sweep spec (configs/schema/sweep.proto)");
  fl::platform::SweepOptions o;
  o.spec_path = vm["spec"].as<std::string>();
  if (vm.count("out")) o.out_dir = vm["out"].as<std::string>();
  o.jobs = vm["jobs"].as<unsigned>();
  o.progress = ::isatty(STDERR_FILENO) != 0;
  o.executor = vm["executor"].as<std::string>();
  o.chunk = vm["chunk"].as<size_t>();
  if (vm.count("slurm-opt")) o.slurm_options = vm["slurm-opt"].as<std::vector<std::string>>();
  if (vm.count("points-from")) o.points_from = vm["points-from"].as<std::string>();
  o.table = !vm.count("no-table");
  if (vm.count("config")) o.config = vm["config"].as<std::string>();
  if (vm.count("set")) o.sets = vm["set"].as<std::vector<std::string>>();
  if (o.executor != "slurm" && (vm.count("slurm-opt") || !vm["chunk"].defaulted())) {
    throw fl::InputError("faultline sweep: --chunk and --slurm-opt are for --executor slurm");
  }
  const fl::platform::SweepSummary s = fl::platform::run_sweep(o, std::cout, std::cerr);
  return s.missing > 0 ? fl::kExitIncomplete : fl::kExitOk;
}

int cmd_version(const po::variables_map&) {
  std::cout << "faultline " << fl::build::version() << "\n"
            << "git commit " << fl::build::git_hash() << "\n"
            << "build " << fl::build::build_type() << "\n"
            << "SystemC " << sc_core::sc_release() << "\n"
            << "protobuf " << google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION) << "\n";
  return fl::kExitOk;
}

const std::vector<Command>& commands() {
  static const std::vector<Command> c = {
      {"run", "run a simulation and print its fault-latency summary",
       "faultline run [--config FILE] [--set KEY=VALUE]... [--workload FILE] [--out DIR] [--seed N] "
       "[--record TRACE] [--quiet]",
       [](po::options_description& d) {
         simulation_options(d, true);
         d.add_options()("record", po::value<std::string>()->value_name("TRACE"),
                         "also write the trace of what the workload did to TRACE (docs/traces.md)");
       },
       cmd_run},
      {"record", "run a workload and write the trace of what it did (run --record)",
       "faultline record TRACE [--config FILE] [--set KEY=VALUE]... [--workload FILE] [--out DIR] [--seed N] [--quiet]",
       [](po::options_description& d) {
         simulation_options(d, true);
         d.add_options()("trace", po::value<std::string>()->value_name("TRACE"), "the trace to write");
       },
       cmd_record, {"trace"}},
      {"replay", "replay a trace (closed loop, or at its recorded times with --open-loop)",
       "faultline replay TRACE [--open-loop] [--config FILE] [--set KEY=VALUE]... [--out DIR] [--seed N] "
       "[--record TRACE2] [--quiet]",
       [](po::options_description& d) {
         simulation_options(d, false);
         d.add_options()
             ("trace", po::value<std::string>()->value_name("TRACE"), "the trace to replay")
             ("open-loop", "issue each access at its recorded time since its kernel's launch, however many are "
                           "in flight (default: closed loop, each wave issuing as its outstanding window allows)")
             ("record", po::value<std::string>()->value_name("TRACE2"), "also record the replay as a trace");
       },
       cmd_replay, {"trace"}},
      {"params", "list every parameter with type, default, unit, range and description",
       "faultline params [--config FILE] [--set KEY=VALUE]... [--format text|markdown|textproto]",
       [](po::options_description& d) {
         d.add_options()
             ("config", po::value<std::string>()->value_name("FILE"), "also show this config's values and their origin")
             ("set", po::value<std::vector<std::string>>()->composing()->value_name("KEY=VALUE"), "override one parameter")
             ("format", po::value<std::string>()->default_value("text")->value_name("FORMAT"),
              "text (default), markdown (docs/config.md) or textproto (the annotated default config)");
       },
       cmd_params},
      {"import", "convert a captured trace into a faultline trace (formats: jsonl, csv, smi)",
       "faultline import FORMAT IN OUT [--access-bytes N] [--cus N] [--pid P] [--smi-event14 MEANING]",
       [](po::options_description& d) {
         d.add_options()
             ("format", po::value<std::string>()->value_name("FORMAT"),
              "jsonl: per-access JSON Lines captures; csv: time_ns,stream,address,size,rw; smi: a KFD SMI event "
              "log (docs/traces.md)")
             ("input", po::value<std::string>()->value_name("IN"), "the capture to read")
             ("output", po::value<std::string>()->value_name("OUT"), "the trace to write")
             ("access-bytes", po::value<uint32_t>()->default_value(8)->value_name("N"),
              "jsonl, smi: size of every access (smi: of each faulting access), bytes (the capture does not record it)")
             ("cus", po::value<uint32_t>()->default_value(0)->value_name("N"),
              "compute units an experiment's warps (jsonl) or the streams (csv) spread over (0: the smaller of their number and 104)");
         smi_log_options(d);
       },
       cmd_import, {"format", "input", "output"}},
      {"compare", "set a KFD SMI event log against a run's SMI output, line by line",
       "faultline compare MEASURED SIMULATED [--pid P] [--smi-event14 MEANING] [--show N]",
       [](po::options_description& d) {
         d.add_options()
             ("measured", po::value<std::string>()->value_name("MEASURED"),
              "the captured SMI log, or the trace 'faultline import smi' made of it")
             ("simulated", po::value<std::string>()->value_name("SIMULATED"),
              "the SMI output of the replay (faultline replay TRACE --open-loop --smi-events FILE)")
             ("show", po::value<size_t>()->default_value(10)->value_name("N"), "unmatched lines listed per side");
         smi_log_options(d);
       },
       cmd_compare, {"measured", "simulated"}},
      {"sweep", "run a config and workload (or trace) over parameter values; gather a results table",
       "faultline sweep SPEC [--out DIR] [-j N] [--config FILE] [--set KEY=VALUE]... [--executor local|slurm [--chunk N] [--slurm-opt OPT]...]",
       [](po::options_description& d) {
         d.add_options()
             ("spec", po::value<std::string>()->value_name("SPEC"), "the sweep spec (protobuf text, configs/schema/sweep.proto)")
             ("out", po::value<std::string>()->value_name("DIR"), "the sweep's directory (default out/sweep/NAME)")
             ("jobs,j", po::value<unsigned>()->default_value(1)->value_name("N"),
              "runs at once (slurm: per array task, and its --cpus-per-task)")
             ("executor", po::value<std::string>()->default_value("local")->value_name("E"),
              "local: a pool of -j processes here; slurm: a Slurm job array (sbatch), gathered when it ends")
             ("chunk", po::value<size_t>()->default_value(0)->value_name("N"),
              "slurm: points per array task (0: as few per task as keeps the array at most 1000 tasks)")
             ("slurm-opt", po::value<std::vector<std::string>>()->value_name("OPT"),
              "slurm: an extra #SBATCH line, e.g. --slurm-opt=--partition=gpu --slurm-opt=--time=1:00:00 (repeatable)")
             ("points-from", po::value<std::string>()->value_name("FILE"),
              "run only the points FILE names, one per line (what each Slurm array task runs)")
             ("no-table", "do not gather results.csv (each Slurm array task; the submitting sweep gathers it)")
             ("config", po::value<std::string>()->value_name("FILE"), "the base config of every point, instead of the spec's")
             ("set", po::value<std::vector<std::string>>()->composing()->value_name("KEY=VALUE"),
              "applied to every point, as the spec's set: a config key, or $NAME for a workload variable (repeatable; "
              "a key the spec sweeps is an error)");
       },
       cmd_sweep, {"spec"}},
      {"version", "print version, git commit and build information", "faultline version",
       [](po::options_description&) {}, cmd_version},
  };
  return c;
}

void print_help(std::ostream& os) {
  os << "faultline: a cycle-approximate GPU + SoC simulator of GPU page faults and the\n"
        "driver policies that service them (SystemC/TLM-2.0).\n\n"
        "Usage: faultline <command> [options]\n\nCommands:\n";
  for (const auto& c : commands()) {
    os << "  " << c.name << std::string(10 - std::string(c.name).size(), ' ') << c.summary << "\n";
  }
  os << "\nRun 'faultline <command> --help' for the options of a command.\n\n" << kExitStatusHelp;
}

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    print_help(std::cerr);
    return fl::kExitInput;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_help(std::cout);
    return fl::kExitOk;
  }
  if (name == "--version") return cmd_version({});
  const Command* cmd = nullptr;
  for (const auto& c : commands()) {
    if (name == c.name) cmd = &c;
  }
  if (cmd == nullptr) {
    std::cerr << "faultline: unknown command '" << name << "'\n\n";
    print_help(std::cerr);
    return fl::kExitInput;
  }
  po::options_description desc(std::string("Options of 'faultline ") + cmd->name + "'");
  desc.add_options()("help,h", "show this help");
  cmd->options(desc);
  po::variables_map vm;
  try {
    po::positional_options_description pos;
    for (const char* p : cmd->positional) pos.add(p, 1);
    po::store(po::command_line_parser(argc - 1, argv + 1).options(desc).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "faultline " << cmd->name << ": " << e.what() << "\nusage: " << cmd->usage
              << "\n(see 'faultline " << cmd->name << " --help')\n";
    return fl::kExitInput;
  }
  if (vm.count("help")) {
    std::cout << cmd->summary << "\n\nusage: " << cmd->usage << "\n\n" << desc << "\n" << kExitStatusHelp;
    return fl::kExitOk;
  }
  return cmd->action(vm);
}

}  // namespace

int sc_main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const fl::InputError& e) {
    std::cerr << "faultline: error: " << e.what() << "\n";
    return fl::kExitInput;
  } catch (const fl::SimError& e) {
    std::cerr << "faultline: simulation error: " << e.what() << "\n";
    return fl::kExitSim;
  } catch (const sc_core::sc_report& e) {
    std::cerr << "faultline: internal error (SystemC): " << e.what() << "\n";
    return fl::kExitInternal;
  } catch (const std::exception& e) {
    std::cerr << "faultline: internal error: " << e.what() << "\n";
    return fl::kExitInternal;
  }
}

int main(int argc, char** argv) {
  // The SystemC banner is printed when the kernel starts unless this is set first.
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  const int status = sc_core::sc_elab_and_sim(argc, argv);
  if (fl::run_error()) {
    // The run was stopped mid-work (watchdog, deadlock, event budget, a model error): its
    // SystemC threads are still suspended inside their work, on stacks SystemC allocated
    // with mmap. SystemC 2.3 cannot unwind them once sc_stop has been called (a kill() after
    // the stop only disconnects the process), so whatever their frames own stays owned by
    // frames that will never resume. That is not a leak of the model, but LeakSanitizer
    // cannot scan those stacks and would report it at exit. The outputs are complete by
    // now (written whole, then renamed), so end without running exit-time handlers.
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    std::_Exit(status);
  }
  return status;
}
