// The retry-fault path end to end: mapped accesses do not fault; an isolated fault's
// phases equal what the config implies (derived here, step by step, from the resolved
// config); many concurrent faults on one 2 MiB range are serviced by one migration.
#include <algorithm>
#include <cmath>
#include <vector>
#include <filesystem>

#include <gtest/gtest.h>

#include "harness.h"

namespace fl::test {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t k2M = 2ULL << 20;

// Time arithmetic in picoseconds, with the units the parameters are declared in: cycles
// of the GPU clock, ns, and transfers of bytes at GB/s, each rounded to the nearest ps.
class Timing {
 public:
  explicit Timing(const config::Config& c) : c_(c) {}

  int64_t cyc(uint64_t n) const { return std::llround(static_cast<double>(n) * 1e6 / c_.soc().gpu().clock_mhz()); }
  static int64_t ns(double v) { return std::llround(v * 1000.0); }
  static int64_t xfer(double bytes, double gb_per_s) { return std::llround(bytes / gb_per_s * 1000.0); }

  // PCIe: GT/s per lane by generation (PCIe base specification), 8b/10b then 128b/130b.
  double link_gb_per_s() const {
    const auto& p = c_.soc().pcie();
    static const double rate[] = {0, 2.5, 5.0, 8.0, 16.0, 32.0};
    const double enc = p.gen() <= 2 ? 0.8 : 128.0 / 130.0;
    return rate[p.gen()] * p.lanes() * enc / 8.0;
  }
  uint64_t tlps(uint64_t bytes, uint64_t max) const { return bytes == 0 ? 1 : (bytes + max - 1) / max; }
  // Every TLP before Gen6 carries 8 bytes of framing, sequence number and LCRC besides its
  // header: 4 DW for requests (16 bytes), 3 DW for completions (12 bytes).
  static constexpr uint64_t kRequestOverhead = 16 + 8;
  static constexpr uint64_t kCompletionOverhead = 12 + 8;
  // Serialisation of a posted write carrying `payload` bytes.
  int64_t link_data(uint64_t payload) const {
    const auto& p = c_.soc().pcie();
    return xfer(static_cast<double>(payload + tlps(payload, p.max_payload_bytes()) * kRequestOverhead),
                link_gb_per_s());
  }
  // Serialisation of the completions of a read of `len` bytes starting at an address
  // aligned to the completion size: per read request, completions of at most
  // min(max_completion_bytes, max_payload_bytes).
  int64_t link_cpl(uint64_t len) const {
    const auto& p = c_.soc().pcie();
    const uint64_t cpl = std::min(p.max_completion_bytes(), p.max_payload_bytes());
    uint64_t n = 0;
    for (uint64_t left = len; left > 0;) {
      const uint64_t req = std::min<uint64_t>(left, p.max_read_request_bytes());
      n += tlps(req, cpl);
      left -= req;
    }
    return xfer(static_cast<double>(len + std::max<uint64_t>(n, 1) * kCompletionOverhead), link_gb_per_s());
  }
  // Serialisation of the read requests for `len` bytes.
  int64_t link_req(uint64_t len) const {
    const auto& p = c_.soc().pcie();
    return xfer(static_cast<double>(tlps(len, p.max_read_request_bytes()) * kRequestOverhead), link_gb_per_s());
  }
  int64_t link_latency() const {
    return ns(c_.soc().pcie().latency_ns() + c_.soc().pcie().root_complex_latency_ns());
  }

  // A memory's service of `n` bytes at an address aligned to the interleave: pieces at
  // interleave boundaries, each rounded up to whole granules and served by its channel at
  // bandwidth / channels; pieces on one channel queue. Rows never miss (the runs set
  // row_miss_ns = 0).
  template <class M>
  static int64_t mem_service(const M& m, uint64_t n) {
    const double chan_bw = m.bandwidth_gb_per_s() / m.channels();
    std::vector<int64_t> busy(m.channels(), 0);
    uint64_t off = 0;
    size_t ch = 0;
    do {
      const uint64_t piece = std::min<uint64_t>(m.interleave_bytes(), n - off);
      const uint64_t g = std::max<uint64_t>(1, (piece + m.access_bytes() - 1) / m.access_bytes());
      busy[ch] += xfer(static_cast<double>(g * m.access_bytes()), chan_bw);
      ch = (ch + 1) % m.channels();
      off += piece;
    } while (off < n);
    return *std::max_element(busy.begin(), busy.end());
  }
  int64_t vram_service(uint64_t n) const { return mem_service(c_.soc().gpu().vram(), n); }
  int64_t dram_service(uint64_t n) const { return mem_service(c_.soc().host().dram(), n); }
  int64_t fabric() const { return cyc(c_.soc().gpu().fabric().latency_cycles()); }
  // A VRAM access of `n` bytes from an agent, through the fabric and back.
  int64_t vram_round_trip(uint64_t n) const {
    return 2 * fabric() + vram_service(n) + ns(c_.soc().gpu().vram().latency_ns());
  }
  // One walker level: its overhead, then the 8-byte read.
  int64_t walk_level() const { return cyc(c_.soc().gpu().walker().step_overhead_cycles()) + vram_round_trip(8); }
  // IH entries written at `t` (after their processing): `entries` 32-byte ring entries, the
  // IH0 WPTR write-back and the MSI go up the link back to back; returns when the MSI
  // reaches the host interrupt controller.
  int64_t msi_arrival(int64_t t, int entries) const {
    return t + fabric() + entries * link_data(32) + 2 * link_data(4) + link_latency() +
           ns(c_.soc().iommu().passthrough_latency_ns());
  }

 private:
  const config::Config& c_;
};

const char* kIsolatedSysmem =
    "op { svm_alloc { name: \"buf\" size_bytes: 2097152 preferred_loc: SYSMEM } }\n"
    "op { launch { range: \"buf\" cus: 1 waves_per_cu: 1 outstanding_per_wave: 1 accesses_per_wave: 1 } }\n"
    "op { wait {} }\n";

const char* kIsolatedMigrate =
    "op { mmap { name: \"buf\" size_bytes: 2097152 } }\n"
    "op { launch { range: \"buf\" cus: 1 waves_per_cu: 1 outstanding_per_wave: 1 accesses_per_wave: 1 } }\n"
    "op { wait {} }\n";

// The retry interval is set far beyond the fault's service so the single access replays
// once, after the service, and its replay is a clean 4-level walk.
// Row misses are switched off so every memory access costs its channel service plus the
// fixed latency, which the derivation below adds up.
const std::vector<std::string> kOneReplay = {"--set", "soc.gpu.cu.retry_interval_cycles=5000000",
                                             "--set", "soc.gpu.vram.row_miss_ns=0",
                                             "--set", "soc.host.dram.row_miss_ns=0"};

RunResult run_workload(const std::string& ops, std::vector<std::string> extra = {}) {
  const std::string d = temp_dir("fault");
  std::vector<std::string> args = {"run", "--quiet", "--workload", workload(d, ops)};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_faultline(args, d + "/out");
}

double phase_mean(const RunResult& r, const char* name) { return r.hist(std::string("fault.phase.") + name + "_ns", "mean"); }

TEST(FaultPath, MappedPagesCompleteWithoutFaults) {
  for (const char* loc : {"GPU", "SYSMEM"}) {
    const RunResult r = run_workload(std::string("op { svm_alloc { name: \"buf\" size_bytes: 4194304 } }\n") +
                               "op { prefetch { range: \"buf\" location: " + loc + " } }\n"
                               "op { launch { range: \"buf\" cus: 4 waves_per_cu: 4 } }\n"
                               "op { wait {} }\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.num("fault.count"), 0) << loc;
    EXPECT_EQ(r.num("soc.gpu.utcl2.nacks"), 0) << loc;
    EXPECT_EQ(r.num("fault.reports"), 0) << loc;
    EXPECT_EQ(r.num("soc.gpu.cu.accesses"), 4194304.0 / 64) << loc;
    EXPECT_EQ(r.num("driver.migrate.bytes_prefetch"), std::string(loc) == "GPU" ? 4194304.0 : 0.0) << loc;
  }
}

TEST(FaultPath, IsolatedFaultPhasesEqualWhatTheConfigImplies) {
  const RunResult r = run_workload(kIsolatedSysmem, kOneReplay);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(r.num("fault.count"), 1);
  ASSERT_EQ(r.num("fault.serviced_mapped"), 1);
  const config::Config& c = r.config;
  const Timing t(c);
  const auto& d = c.driver();
  const auto& gpu = c.soc().gpu();
  const int64_t entry = t.ns(d.irq().entry_ns());
  const int64_t mmio_w = t.ns(c.soc().host().cpu().mmio_write_ns());
  const int64_t Lr = t.link_latency();
  const int64_t Li = t.ns(c.soc().iommu().passthrough_latency_ns());

  // Detection: UTCL1 miss, the request's trip to UTCL2, a UTCL2 miss, the page-walk-cache
  // probe (all miss), then the walk's first read finds the root PDE invalid.
  const int64_t hit = t.cyc(gpu.utcl1().hit_latency_cycles()) + t.cyc(gpu.utcl1().l2_request_latency_cycles()) +
                      t.cyc(gpu.utcl2().hit_latency_cycles()) + t.cyc(gpu.walker().pwc_latency_cycles());
  const int64_t t_detect = hit + t.walk_level();
  // IH delivery: the fault reaches the IH and is written to IH1; a self-interrupt entry on
  // IH0 announces it, and the MSI reaches the host.
  ASSERT_GT(gpu.ih().ring1_bytes(), 0u) << "the derivation follows the IH1 path";
  const int64_t t_msi = t.msi_arrival(t_detect + t.cyc(gpu.utcl2().fault_report_latency_cycles()) +
                                          t.cyc(gpu.ih().entry_latency_cycles()), 2);
  // Interrupt handler: entry, then the self-interrupt, which schedules the IH1 worker.
  const int64_t t_isr = t_msi + t.ns(d.irq().isr_entry_ns()) + entry;
  // Queueing: worker wake-up, then its read of the IH1 entry.
  const int64_t t_start = t_isr + t.ns(d.irq().worker_wakeup_ns()) + entry;
  // Lookup: the registered range exists; preferred location is system memory.
  const int64_t t_lookup = t_start + t.ns(d.svm().restore_entry_ns());
  // Mapping system memory: collect and DMA-map 512 pages.
  const int64_t t_mapped = t_lookup + t.ns(d.svm().map_per_page_ns() * 512);
  // PTE update: one job with three PDE writes (new PDB1, PDB0, PTB), the 512 PTE values,
  // FENCE and TRAP; the CPU builds it and rings the doorbell.
  const int64_t t_doorbell = t_mapped + t.ns(d.vm().update_ns()) + 3 * t.ns(d.vm().pt_alloc_ns()) +
                             t.ns(d.vm().per_pte_ns() * 512) + t.ns(d.sdma().submit_ns()) + mmio_w;
  const int64_t t_engine = t_doorbell + t.link_data(4) + Lr;
  const uint64_t job_bytes = 3 * (16 + 8) + (16 + 4096) + 16 + 8;
  const int64_t t_fetched = t_engine + t.fabric() + t.link_req(job_bytes) + Lr + Li + t.dram_service(job_bytes) +
                            t.ns(c.soc().host().dram().latency_ns()) + t.link_cpl(job_bytes) + Lr + t.fabric();
  const int64_t P = t.cyc(gpu.sdma().packet_overhead_cycles());
  const int64_t t_trap = t_fetched + 3 * (P + t.vram_round_trip(8)) + (P + t.vram_round_trip(4096)) +
                         (P + 2 * t.fabric() + t.link_data(4)) + P;
  const int64_t t_msi2 = t.msi_arrival(t_trap + t.cyc(gpu.ih().entry_latency_cycles()), 1);
  const int64_t t_pte = t_msi2 + t.ns(d.irq().isr_entry_ns()) + entry + t.ns(d.sdma().fence_process_ns()) +
                        t.ns(d.sdma().wakeup_ns());
  // TLB flush: request write, then ACK reads until one arrives after the engine is done.
  const int64_t t_req = t_pte + t.ns(d.vm().tlb_flush_ns()) + mmio_w;
  const int64_t t_ack = t_req + t.link_data(4) + Lr + t.cyc(gpu.utcl2().invalidate_latency_cycles());
  int64_t send = t_req;
  int64_t t_flushed = 0;
  for (bool first = true;; first = false) {
    const int64_t arrive = send + (first ? t.link_data(4) : 0) + t.link_req(4) + Lr;
    const int64_t back = arrive + t.link_cpl(4) + Lr;
    if (arrive > t_ack) {
      t_flushed = back;
      break;
    }
    send = back + t.ns(d.vm().tlb_poll_interval_ns());
  }
  // Replay: the retry after the NACK walks all four levels (the fault's walk cached no PDE).
  const int64_t t_replay_issue = t_detect + t.cyc(gpu.cu().retry_interval_cycles());
  ASSERT_GT(t_replay_issue, t_flushed) << "the test assumes the replay comes after the service";
  const int64_t t_done = t_replay_issue + hit + 4 * t.walk_level();

  const auto expect_phase = [&](const char* name, int64_t ps) {
    EXPECT_NEAR(phase_mean(r, name), static_cast<double>(ps) / 1000.0, 0.0015) << name;
  };
  expect_phase("report_wait", 0);
  expect_phase("ih_delivery", t_msi - t_detect);
  expect_phase("isr", t_isr - t_msi);
  expect_phase("queueing", t_start - t_isr);
  expect_phase("lookup", t_lookup - t_start);
  expect_phase("migration", t_mapped - t_lookup);
  expect_phase("pte_update", t_pte - t_mapped);
  expect_phase("tlb_invalidation", t_flushed - t_pte);
  expect_phase("replay", t_done - t_flushed);
  EXPECT_NEAR(r.hist("fault.latency_ns", "mean"), static_cast<double>(t_done - t_detect) / 1000.0, 0.0015);

  // The latency is the sum of its phases.
  double sum = 0;
  for (const char* p : {"report_wait", "ih_delivery", "isr", "queueing", "lookup", "migration", "pte_update",
                        "tlb_invalidation", "replay"}) {
    sum += phase_mean(r, p);
  }
  EXPECT_NEAR(sum, r.hist("fault.latency_ns", "mean"), 1e-6);
}

TEST(FaultPath, IsolatedMigrationPhaseCoversItsCopy) {
  const RunResult r = run_workload(kIsolatedMigrate, kOneReplay);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(r.num("fault.count"), 1);
  EXPECT_EQ(r.num("fault.serviced_migrated"), 1);
  EXPECT_EQ(r.num("driver.migrate.migrations"), 1);
  EXPECT_EQ(r.num("soc.gpu.sdma.copy_bytes"), k2M);
  const Timing t(r.config);
  const auto& d = r.config.driver();
  // The migration phase holds at least the CPU work and the copy's serialisation on the link.
  const double cpu_ns = d.migrate().vram_alloc_ns() + d.migrate().setup_ns() +
                        512 * (d.migrate().setup_per_page_ns() + d.migrate().finalize_per_page_ns()) +
                        2 * d.sdma().submit_ns();
  const double copy_ns = 512.0 * static_cast<double>(t.link_cpl(4096)) / 1000.0;
  const double migration = phase_mean(r, "migration");
  EXPECT_GT(migration, cpu_ns + copy_ns);
  // ... and not much more: fetch, fences, interrupts and wake-ups are tens of microseconds.
  EXPECT_LT(migration, cpu_ns + copy_ns + 30000);
}

TEST(FaultPath, ManyConcurrentFaultsOnOneRangeCauseOneMigration) {
  const RunResult r = run_workload(
      "op { mmap { name: \"buf\" size_bytes: 2097152 } }\n"
      "op { launch { range: \"buf\" cus: 8 waves_per_cu: 8 outstanding_per_wave: 8 } }\n"
      "op { wait {} }\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("soc.gpu.cu.accesses"), k2M / 64);  // every access completed
  EXPECT_GT(r.num("fault.count"), 64);                // all of the first accesses faulted
  EXPECT_EQ(r.num("driver.migrate.migrations"), 1);
  EXPECT_EQ(r.num("fault.serviced_migrated"), 1);
  EXPECT_EQ(r.num("driver.migrate.bytes_pagefault_gpu"), k2M);
  EXPECT_EQ(r.num("fault.unattributed"), 0);
  EXPECT_GT(r.num("fault.reports_filtered") + r.num("fault.reports_duplicate"), 0);
  // Every report ends somewhere.
  EXPECT_EQ(r.num("fault.reports"), r.num("fault.reports_filtered") + r.num("fault.reports_duplicate") +
                                        r.num("fault.reports_lost") + r.num("fault.serviced_migrated") +
                                        r.num("fault.serviced_mapped"));
}

TEST(FaultPath, DoublingPcieBandwidthHalvesTheMigrationTransfer) {
  const RunResult gen4 = run_workload(kIsolatedMigrate, kOneReplay);
  std::vector<std::string> gen5_args = kOneReplay;
  gen5_args.insert(gen5_args.end(), {"--set", "soc.pcie.gen=5"});
  const RunResult gen5 = run_workload(kIsolatedMigrate, gen5_args);
  ASSERT_EQ(gen4.status, 0) << gen4.err;
  ASSERT_EQ(gen5.status, 0) << gen5.err;
  // The transfer part: 512 pages' completions serialised on the Gen4 link.
  const double transfer4 = 512.0 * static_cast<double>(Timing(gen4.config).link_cpl(4096)) / 1000.0;
  const double saved = phase_mean(gen4, "migration") - phase_mean(gen5, "migration");
  EXPECT_NEAR(saved / transfer4, 0.5, 0.03) << "saved " << saved << " ns of a " << transfer4 << " ns transfer";
}

TEST(FaultPath, HalvingWalkerMemoryLatencyShortensWalks) {
  const RunResult base = run_workload(kIsolatedSysmem, kOneReplay);
  const double half = base.config.soc().gpu().vram().latency_ns() / 2;
  std::vector<std::string> args = kOneReplay;
  args.insert(args.end(), {"--set", "soc.gpu.vram.latency_ns=" + std::to_string(half)});
  const RunResult fast = run_workload(kIsolatedSysmem, args);
  ASSERT_EQ(base.status, 0);
  ASSERT_EQ(fast.status, 0);
  // The longest walk reads all four levels: each read is `half` ns shorter.
  EXPECT_NEAR(base.hist("soc.gpu.walker.walk_ns", "max") - fast.hist("soc.gpu.walker.walk_ns", "max"), 4 * half, 0.002);
  EXPECT_LT(fast.hist("soc.gpu.walker.walk_ns", "mean"), base.hist("soc.gpu.walker.walk_ns", "mean"));
}

TEST(FaultPath, DuplicateWindowIsPerRange) {
  // One registered 8 MiB range: after one window is mapped, faults on its other windows are
  // ignored for the duplicate window (svm_range_restore_pages checks validate_timestamp per
  // range), so they wait about that long.
  const std::string ops =
      "op { svm_alloc { name: \"buf\" size_bytes: 8388608 } }\n"
      "op { launch { range: \"buf\" pattern: STRIDED stride_bytes: 4096 cus: 4 waves_per_cu: 4 } }\n"
      "op { wait {} }\n";
  const RunResult r = run_workload(ops);
  ASSERT_EQ(r.status, 0) << r.err;
  const double window = r.config.driver().svm().duplicate_window_ns();
  EXPECT_GT(r.num("fault.reports_duplicate"), 0);
  // Each of the three later windows waits until the window before it is 2 ms old.
  EXPECT_GT(r.hist("workload.kernel_ns", "max"), 3 * window);
  // Without the window nothing is skipped: every fault that passes the filter restores its
  // window again, remapping pages already in VRAM (PAGE_FAULT_END 'U': nothing migrated).
  const RunResult none = run_workload(ops, {"--set", "driver.svm.duplicate_window_ns=0"});
  ASSERT_EQ(none.status, 0) << none.err;
  EXPECT_EQ(none.num("fault.reports_duplicate"), 0);
  EXPECT_EQ(none.num("driver.migrate.migrations"), 4);
  EXPECT_EQ(none.num("driver.svm.restored_migrated"), 4);
  EXPECT_GT(none.num("driver.svm.restored_mapped"), 4 * none.num("driver.migrate.migrations"));
}

TEST(FaultPath, ApuMapsSystemMemoryWithoutPcie) {
  const std::string d = temp_dir("apu");
  const RunResult r = run_faultline({"run", "--quiet", "--config", std::string(FAULTLINE_SOURCE_DIR) + "/configs/mi300a-apu.textproto"}, d);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(r.has("soc.pcie.up.wire_bytes"));
  EXPECT_TRUE(r.has("soc.ondie.up.wire_bytes"));
  EXPECT_EQ(r.num("driver.migrate.migrations"), 0);
  EXPECT_GT(r.num("fault.serviced_mapped"), 0);
  EXPECT_EQ(r.num("fault.serviced_migrated"), 0);
  EXPECT_EQ(r.num("soc.gpu.cu.accesses"), 16.0 * 1048576 / 64);
}

}  // namespace

// Retry vs no-retry (issue 3, acceptance 5): with driver.vm.noretry the VMID's context has
// retry faults off (XNACK off), so the first fault is fatal: a VM-fault interrupt, the queue
// killed, and the run reports it; with retry (the default) the access is NACKed and replays.
// The workload touches plain mmap memory: with XNACK off KFD maps registered SVM ranges up
// front, so only unregistered memory faults.
TEST(FaultPath, NoRetryFaultKillsTheQueueAndIsReported) {
  const RunResult r = run_workload(kIsolatedMigrate, {"--set", "driver.vm.noretry=true"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("soc.gpu.utcl2.fatal_faults"), 1);
  EXPECT_EQ(r.num("soc.gpu.utcl2.nacks"), 0);
  EXPECT_EQ(r.num("driver.irq.vm_faults"), 1);
  EXPECT_EQ(r.num("driver.vm_faults"), 1);
  EXPECT_EQ(r.num("driver.queue_kills"), 1);
  EXPECT_EQ(r.num("soc.gpu.cu.killed_kernels"), 1);
  EXPECT_EQ(r.num("soc.gpu.cu.fatal_accesses"), 1);
  EXPECT_EQ(r.num("fault.count"), 0);
  // The summary says so.
  const std::string d = temp_dir("noretry");
  const RunResult shown = run_faultline({"run", "--workload", workload(d, kIsolatedMigrate), "--set",
                                         "driver.vm.noretry=true"}, "");
  EXPECT_NE(shown.out.find("fatal GPU page faults (no-retry VMID): 1 VM-fault interrupts; queue killed [kernel k0]"),
            std::string::npos) << shown.out;

  const RunResult retry = run_workload(kIsolatedSysmem);
  ASSERT_EQ(retry.status, 0) << retry.err;
  EXPECT_GT(retry.num("soc.gpu.utcl2.nacks"), 0);
  EXPECT_EQ(retry.num("soc.gpu.utcl2.fatal_faults"), 0);
  EXPECT_EQ(retry.num("soc.gpu.cu.killed_kernels"), 0);
  EXPECT_EQ(retry.num("soc.gpu.cu.accesses"), 1);
  EXPECT_EQ(retry.num("fault.count"), 1);
}

// Page tables in system memory: every walk read crosses the link, and walks get slower.
TEST(FaultPath, PageTablesInSystemMemoryAreWalkedAcrossTheLink) {
  const std::string ops = "op { vram_alloc { name: \"b\" size_bytes: 16777216 contiguous_bytes: 4096 } }\n"
                          "op { launch { range: \"b\" pattern: POINTER_CHASE stride_bytes: 4096 cus: 1 "
                          "waves_per_cu: 1 outstanding_per_wave: 1 accesses_per_wave: 4096 } }\n"
                          "op { wait {} }\n";
  const RunResult vram = run_workload(ops);
  const RunResult sys = run_workload(ops, {"--set", "driver.vm.page_table_location=SYSTEM"});
  ASSERT_EQ(vram.status, 0) << vram.err;
  ASSERT_EQ(sys.status, 0) << sys.err;
  EXPECT_EQ(vram.num("soc.gpu.walker.pt_reads_system"), 0);
  EXPECT_EQ(sys.num("soc.gpu.walker.pt_reads_system"), sys.num("soc.gpu.walker.pt_reads"));
  EXPECT_GT(sys.hist("soc.gpu.walker.walk_ns", "mean"), 1.5 * vram.hist("soc.gpu.walker.walk_ns", "mean"));
  EXPECT_EQ(vram.num("fault.count"), 0);
}

}  // namespace fl::test
