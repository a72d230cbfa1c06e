#include "sim/platform/simulation.h"

#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>
#include <systemc>

#include "driver-model/driver.h"
#include "sim/core/build_info.h"
#include "sim/core/config_loader.h"
#include "sim/core/errors.h"
#include "sim/core/event_queue.h"
#include "sim/core/format.h"
#include "sim/core/output.h"
#include "sim/core/sim_status.h"
#include "sim/core/stats.h"
#include "sim/core/time.h"
#include "sim/core/waits.h"
#include "sim/platform/fault_ledger.h"
#include "sim/platform/host_memory.h"
#include "sim/platform/sim_control.h"
#include "sim/platform/soc.h"
#include "sim/platform/translation_checker.h"
#include "sim/platform/trace_io.h"
#include "sim/platform/workload.h"

namespace fl::platform {

namespace fs = std::filesystem;

namespace {

// Host time, for the one clearly marked field that records it (a trace's capture_date).
std::string host_time_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Warnings to stderr; informational reports (e.g. "simulation stopped by user") dropped;
// errors and fatals thrown so the command line can turn them into an exit status.
void report_handler(const sc_core::sc_report& rep, const sc_core::sc_actions& actions) {
  if (rep.get_severity() == sc_core::SC_WARNING) {
    std::fprintf(stderr, "warning: %s: %s\n", rep.get_msg_type(), rep.get_msg());
    return;
  }
  if (rep.get_severity() == sc_core::SC_INFO) return;
  sc_core::sc_report_handler::default_handler(rep, actions & ~sc_core::SC_DISPLAY);
}

void configure_systemc() {
  sc_core::sc_report_handler::set_handler(report_handler);
  sc_core::sc_report_handler::set_actions(sc_core::SC_ERROR, sc_core::SC_THROW);
  sc_core::sc_report_handler::set_actions(sc_core::SC_FATAL, sc_core::SC_THROW);
  if (sc_core::sc_get_time_resolution() != sc_core::sc_time(1, sc_core::SC_PS)) {
    throw std::logic_error("faultline needs the SystemC time resolution to be 1 ps");
  }
}

// The models of one run, in construction order.
struct Models {
  FaultLedger ledger{"fault"};
  std::unique_ptr<Soc> soc;
  std::unique_ptr<driver::Driver> driver;
  std::unique_ptr<SimControl> control;
  std::unique_ptr<WorkloadRunner> workload;
  std::unique_ptr<TranslationChecker> checker;
};

// KFD's eviction of the process's queues through the command processor: every queue not
// already evicted (by a workload preempt) is unmapped; restore maps those again.
driver::QueueControl process_queue_control(hw::CommandProcessor& cp) {
  auto mine = std::make_shared<std::vector<hw::CommandProcessor::QueueId>>();
  // Runs `op` on each of the process's queues; `done` once every one has answered.
  const auto on_each = [mine](std::function<void()> done, const auto& op) {
    auto left = std::make_shared<size_t>(mine->size());
    if (*left == 0) {
      done();
      return;
    }
    const auto one_done = [left, done] {
      if (--*left == 0) done();
    };
    for (const auto q : *mine) op(q, one_done);
  };
  driver::QueueControl c;
  c.node = &cp;
  c.blocked_by_faults = [&cp] { return cp.preemption_needs_fault_service(); };
  c.evict_all = [&cp, mine, on_each](std::function<void()> done) {
    mine->clear();
    for (hw::CommandProcessor::QueueId q = 0; q < cp.queue_count(); ++q) {
      if (!cp.evicted(q)) mine->push_back(q);
    }
    on_each(std::move(done), [&cp](hw::CommandProcessor::QueueId q, const std::function<void()>& one_done) {
      cp.evict(q, [one_done](const hw::CommandProcessor::PreemptResult&) { one_done(); });
    });
  };
  c.restore_all = [&cp, on_each](std::function<void()> done) {
    on_each(std::move(done), [&cp](hw::CommandProcessor::QueueId q, const std::function<void()>& one_done) {
      cp.restore(q, [one_done](double) { one_done(); });
    });
  };
  return c;
}

std::string out_path(const std::string& dir, const char* file) { return (fs::path(dir) / file).string(); }

void print_summary(std::ostream& os, const ResolvedConfig& rc, const Workload& w,
                   const Models& m, double host_s, int status, const std::string& out_dir) {
  const FaultLedger& f = m.ledger;
  const uint64_t accesses = m.soc->gpu.cu.completed();
  const double sim_ns = to_ns(sc_core::sc_time_stamp());
  char line[256];
  os << "faultline " << build::version() << " (" << build::git_hash() << ")  config "
     << rc.name() << "  workload " << (w.msg.has_name() ? w.msg.name() : w.source) << "  seed "
     << rc.msg.sim().seed() << "\n";
  std::snprintf(line, sizeof line, "simulated %s in %.2f s of host time; %llu GPU accesses (%.0f per host second)\n",
                format_duration_ns(sim_ns).c_str(), host_s, static_cast<unsigned long long>(accesses),
                host_s > 0 ? static_cast<double>(accesses) / host_s : 0.0);
  os << line << "\n";
  const uint64_t serviced = f.outcomes(Outcome::kMigrated) + f.outcomes(Outcome::kMapped);
  os << "GPU page faults: " << f.count().value() << " faulted accesses; " << f.reports()
     << " fault reports, " << serviced << " serviced (" << f.outcomes(Outcome::kMigrated)
     << " migrated, " << f.outcomes(Outcome::kMapped) << " updated in place), "
     << f.outcomes(Outcome::kFiltered) << " filtered, " << f.outcomes(Outcome::kDuplicate)
     << " duplicates, " << f.outcomes(Outcome::kRingLost) << " lost";
  if (f.outcomes(Outcome::kRetried) + f.outcomes(Outcome::kFailed) + f.outcomes(Outcome::kDrained) > 0) {
    os << ", " << f.outcomes(Outcome::kRetried) << " -EAGAIN, " << f.outcomes(Outcome::kFailed) << " failed, "
       << f.outcomes(Outcome::kDrained) << " drained";
  }
  os << "\n";
  const auto& h = f.latency();
  if (h.count() > 0) {
    os << "fault latency: mean " << format_duration_ns(h.mean()) << ", p50 "
       << format_duration_ns(h.percentile(50)) << ", p95 " << format_duration_ns(h.percentile(95))
       << ", p99 " << format_duration_ns(h.percentile(99)) << ", max "
       << format_duration_ns(h.max()) << "\n";
    os << "breakdown (mean per faulted access):\n";
    for (int i = 0; i < FaultLedger::kPhases; ++i) {
      const double mean = f.phase(i).mean();
      std::snprintf(line, sizeof line, "  %-18s %12s  %5.1f%%\n", FaultLedger::kPhaseNames[static_cast<size_t>(i)],
                    format_duration_ns(mean).c_str(), h.mean() > 0 ? 100.0 * mean / h.mean() : 0.0);
      os << line;
    }
    std::snprintf(line, sizeof line, "  %-18s %12s  100.0%%\n", "total", format_duration_ns(h.mean()).c_str());
    os << line;
  } else {
    os << "no GPU access faulted\n";
  }
  if (m.driver->vm_faults() > 0 || !m.workload->killed_kernels().empty()) {
    os << "fatal GPU page faults (no-retry VMID): " << m.driver->vm_faults() << " VM-fault interrupts; queue killed";
    for (const std::string& k : m.workload->killed_kernels()) os << " [kernel " << k << "]";
    os << "\n";
  }
  if (m.checker && m.checker->stale() > 0) {
    os << "checker: " << m.checker->stale() << " stale GPU translations; first: " << m.checker->first() << "\n";
  }
  const auto& q = m.driver->queue_eviction();
  const auto& smi = m.driver->smi();
  if (smi.count(driver::SmiEvent::kQueueEviction) + smi.count(driver::SmiEvent::kUnmapFromGpu) > 0) {
    os << "driver: " << smi.count(driver::SmiEvent::kQueueEviction) << " queue evictions, "
       << smi.count(driver::SmiEvent::kQueueRestore) << " restores, " << smi.count(driver::SmiEvent::kUnmapFromGpu)
       << " unmaps from the GPU (notifier strategy " << config::Svm::NotifierStrategy_Name(m.driver->svm().strategy())
       << (q.evicted() ? "; queues still evicted at the end" : "") << ")\n";
  }
  const auto& io = m.driver->iommu();
  if (io.io_page_faults() > 0) {
    os << "\nIOMMU: " << io.io_page_faults() << " IO page faults (DMA to an IOVA with no valid mapping); first:\n";
    for (const auto& r : io.reports()) os << "  " << r << "\n";
  }
  if (!out_dir.empty()) {
    os << "\noutputs: " << out_dir << "/{stats.json, stats.txt, config.resolved.textproto}\n";
  }
  if (status != kExitOk) os << "\nthe run ended with an error (exit status " << status << ")\n";
}

}  // namespace

int run_simulation(const RunOptions& opts, std::ostream& out, std::ostream& err) {
  const auto host_start = std::chrono::steady_clock::now();

  // Everything about the inputs is checked before anything is built.
  const ResolvedConfig rc = resolve_config(opts.config_path, opts.sets, opts.seed);
  if (!opts.replay_path.empty() && !opts.workload_path.empty()) {
    throw InputError("give a workload or a trace to replay, not both");
  }
  TraceWorkload replayed;
  if (!opts.replay_path.empty()) replayed = load_trace(opts.replay_path);
  const Workload workload = opts.replay_path.empty() ? load_workload(opts.workload_path) : replayed.workload;
  validate_workload(workload, rc.msg);
  for (const auto& [flag, path] : {std::pair<const char*, const std::string&>{"--smi-events", opts.smi_events_path},
                                   {"--record", opts.record_path},
                                   {"--timeline", opts.timeline_path}}) {
    if (path.empty()) continue;
    const fs::path dir = fs::path(path).parent_path();
    if (!dir.empty() && !fs::is_directory(dir)) {
      throw InputError(std::string(flag) + " " + path + ": the directory " + dir.string() + " does not exist");
    }
  }
  check_host_memory(workload, rc.msg);
  if (!opts.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(opts.out_dir, ec);
    if (ec || !fs::is_directory(opts.out_dir)) {
      throw InputError("--out " + opts.out_dir + ": cannot create the output directory" +
                       (ec ? ": " + ec.message() : ""));
    }
  }

  configure_systemc();
  Models m;
  m.soc = std::make_unique<Soc>("soc", rc.msg.soc(), rc.msg.sim().seed(), &m.ledger);
  hw::ComputeUnits& cu = m.soc->gpu.cu;
  const std::vector<hw::CopyEngine*> engines = m.soc->gpu.sdma_engines();
  driver::Platform plat{m.soc->host.cpu,        m.soc->host.intc,          m.soc->gpu.ih,
                        m.soc->gpu.sdma,        m.soc->gpu.utcl2,          m.soc->host.dram.storage(),
                        m.soc->gpu.vram.storage(), m.soc->apu(),
                        [&cu](uint8_t vmid) { cu.kill(vmid); },
                        {engines.begin() + 1, engines.end()}};
  plat.iommu = &m.soc->iommu;
  plat.iommu_cfg = &rc.msg.soc().iommu();
  plat.queues = process_queue_control(m.soc->gpu.cp);
  plat.replay_on_command = rc.msg.soc().gpu().cu().replay() == config::ComputeUnits::ON_REPLAY_COMMAND;
  m.driver = std::make_unique<driver::Driver>("driver", rc.msg.driver(), plat, &m.ledger);
  m.soc->gpu.cp.set_fault_service(&m.driver->fault_service());
  if (rc.msg.sim().check_translations()) {
    m.checker = std::make_unique<TranslationChecker>(m.driver->svm());
    cu.set_translation_observer([&m](uint16_t pasid, uint64_t va, uint64_t pa, bool system) {
      m.checker->check(pasid, va, pa, system);
    });
  }
  m.control = std::make_unique<SimControl>(
      "sim", rc.msg.sim(), m.soc->gpu.cu,
      [&m] {
        return m.soc->gpu.cu.in_flight() == 0 && m.driver->idle() && m.soc->gpu.ih.idle() &&
               m.soc->gpu.cp.idle() && [&m] {
                 for (hw::CopyEngine* e : m.soc->gpu.sdma_engines()) {
                   if (!e->idle()) return false;
                 }
                 return true;
               }();
      },
      [&m] { return "the workload is at " + m.workload->current_op_name(); },
      [&m] {
        uint64_t bytes = 0;
        for (const hw::CopyEngine* e : m.soc->gpu.sdma_engines()) bytes += e->moved_bytes();
        return bytes;
      });
  m.workload = std::make_unique<WorkloadRunner>("workload", workload, rc.msg, *m.driver,
                                                m.soc->gpu.cu, m.soc->gpu.cp, [&m] { m.control->workload_done(); },
                                                &m.soc->host.dram);
  std::unique_ptr<Replayer> replayer;
  if (!opts.replay_path.empty()) {
    replayer = std::make_unique<Replayer>(opts.replay_path, replayed, opts.open_loop);
    m.workload->add_hooks(replayer.get());
  }
  std::unique_ptr<Recorder> recorder;
  if (!opts.record_path.empty()) {
    trace::pb::Header h;
    h.set_source("faultline record");
    h.set_capture_date(host_time_iso8601());
    h.set_device(rc.name());
    h.set_page_size_bytes(4096);
    h.set_config_digest(config_digest(rc.msg));
    recorder = std::make_unique<Recorder>(opts.record_path, std::move(h));
    m.workload->add_hooks(recorder.get());
    cu.set_access_observer([&recorder](const hw::AccessRecord& r) { recorder->on_access(r); });
  }

  std::unique_ptr<Timeline> timeline;
  if (!opts.timeline_path.empty()) {
    timeline = std::make_unique<Timeline>(opts.timeline_path);
    m.soc->set_timeline(timeline.get());
    m.driver->set_timeline(timeline.get());
    m.ledger.set_timeline(timeline.get());
  }

  // The progress line reads host time only to decide when to print; it schedules nothing.
  bool progress_shown = false;
  auto last = host_start;  // outlives the observer below, which holds it by reference
  if (opts.progress_after_s >= 0) {
    const uint64_t total = replayed.accesses;  // known for a replay; 0 for a workload
    set_progress_observer([&, total] {
      const auto now = std::chrono::steady_clock::now();
      const double since_start = std::chrono::duration<double>(now - host_start).count();
      if (since_start < opts.progress_after_s || (progress_shown && now - last < std::chrono::seconds(1))) return;
      last = now;
      const uint64_t done = m.soc->gpu.cu.completed();
      const double cb = static_cast<double>(EventQueue::dispatched());
      std::string line = "faultline: simulated " + format_duration_ns(static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e9)) +
                         ", " + std::to_string(static_cast<uint64_t>(cb / 1e6)) + " M callbacks (" +
                         std::to_string(static_cast<uint64_t>(cb / std::max(since_start, 1e-9) / 1e3)) + " k/s host), " +
                         std::to_string(m.ledger.count().value()) + " faults, " + std::to_string(done) + " accesses";
      if (total > 0 && done > 0) {
        const double eta = since_start * (static_cast<double>(total) / static_cast<double>(std::min(done, total)) - 1.0);
        line += " of " + std::to_string(total) + " (" + std::to_string(done * 100 / total) + "%), ETA " +
                std::to_string(static_cast<uint64_t>(eta + 0.5)) + " s";
      }
      err << "\r" << line << "\x1b[K" << std::flush;  // rewrite the line; clear what a longer one left
      progress_shown = true;
    });
  }
  fl::start(from_ns(rc.msg.sim().max_time_ns()), rc.msg.sim().max_events());
  if (opts.progress_after_s >= 0) {
    set_progress_observer({});
    if (progress_shown) err << "\r\x1b[K" << std::flush;
  }

  int status = kExitOk;
  std::string error;
  if (const auto& e = run_error()) {
    status = e->exit_status;
    error = e->message;
  } else if (!m.workload->finished()) {
    status = kExitSim;
    const bool timed_out = sc_core::sc_time_stamp() >= from_ns(rc.msg.sim().max_time_ns());
    error = (timed_out ? "the workload did not finish within sim.max_time_ns (" +
                             format_duration_ns(rc.msg.sim().max_time_ns()) + "); it is at " +
                             m.workload->current_op_name()
                       : "deadlock: nothing left to simulate but the workload is at " +
                             m.workload->current_op_name() + " with " +
                             std::to_string(m.soc->gpu.cu.in_flight()) + " GPU accesses in flight") +
            "; blocked: " + Waits::summary();
  }
  if (recorder) recorder->finish();
  if (timeline) timeline->finish();
  const double host_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - host_start).count();

  if (!opts.out_dir.empty()) {
    const auto all = stats::collect();
    const uint64_t accesses = m.soc->gpu.cu.completed();
    nlohmann::json meta = {
        {"version", build::version()},
        {"git_hash", build::git_hash()},
        {"build_type", build::build_type()},
        {"systemc_version", sc_core::sc_version()},
        {"config", rc.name()},
        {"config_files", rc.files},
        {"config_digest", config_digest(rc.msg)},
        {"workload", workload.msg.has_name() ? workload.msg.name() : std::string()},
        {"workload_source", workload.source},
        {"replay", opts.replay_path.empty() ? std::string() : opts.open_loop ? "open-loop" : "closed-loop"},
        {"trace_recorded", opts.record_path},
        {"seed", rc.msg.sim().seed()},
        {"sim_time_ns", to_ns(sc_core::sc_time_stamp())},
        {"workload_time_ns", m.control->done() ? to_ns(m.control->workload_end()) : to_ns(sc_core::sc_time_stamp())},
        {"kernel_events", EventQueue::dispatched()},
        {"kernel_delta_cycles", sc_core::sc_delta_count()},
        {"gpu_accesses", accesses},
        {"exit_status", status},
        {"error", error},
        {"host_seconds", host_s},
        {"host_accesses_per_second", host_s > 0 ? static_cast<double>(accesses) / host_s : 0.0},
    };
    const nlohmann::json doc = {{"meta", meta}, {"stats", stats_to_json(all)}};
    write_file_atomic(out_path(opts.out_dir, "stats.json"), doc.dump(2) + "\n");
    write_file_atomic(out_path(opts.out_dir, "stats.txt"),
                      "# faultline " + std::string(build::version()) + " stats: name value # description (unit)\n" +
                          stats_to_text(all));
    write_file_atomic(out_path(opts.out_dir, "config.resolved.textproto"),
                      "# faultline resolved configuration: every parameter, its unit and where its value\n"
                      "# came from. Pass it to --config to repeat this configuration exactly.\n" +
                          to_textproto(rc.msg, Annotate::kOrigin, &rc.origin));
  }
  if (!opts.smi_events_path.empty()) {
    write_file_atomic(opts.smi_events_path, m.driver->smi().text());
  }
  if (!opts.quiet) print_summary(out, rc, workload, m, host_s, status, opts.out_dir);
  if (!error.empty()) err << "faultline: error: " << error << "\n";
  return status;
}

}  // namespace fl::platform
