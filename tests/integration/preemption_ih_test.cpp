// The command processor's preemption and the interrupt handler under fault storms, end to
// end: a CWSR preemption's latency equals the config's fixed part plus the resident state
// over its bandwidths (derived here from the resolved config); the H200 calibration holds;
// time-slicing, wave drain and wave reset behave as declared; a fault storm overflows a
// small IH1 and the retry CAM de-duplicates; the CAM-ack-before-PTE-update race refires.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"

namespace fl::test {
namespace {

RunResult run(const std::string& ops, std::vector<std::string> extra = {}, const std::string& config = "") {
  const std::string d = temp_dir("preempt");
  std::vector<std::string> args = {"run", "--quiet", "--workload", workload(d, ops)};
  if (!config.empty()) {
    args.push_back("--config");
    args.push_back(config);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return run_faultline(args, d + "/out");
}

RunResult run_file(const std::string& wl, std::vector<std::string> extra = {}, const std::string& config = "") {
  const std::string d = temp_dir("storm");
  std::vector<std::string> args = {"run", "--quiet", "--workload", std::string(FAULTLINE_SOURCE_DIR) + "/" + wl};
  if (!config.empty()) {
    args.push_back("--config");
    args.push_back(std::string(FAULTLINE_SOURCE_DIR) + "/" + config);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return run_faultline(args, d + "/out");
}

int64_t ps_of_ns(double ns) { return std::llround(ns * 1000.0); }
int64_t xfer_ps(double bytes, double gb_per_s) { return std::llround(bytes / gb_per_s * 1000.0); }

// A running kernel with a known descriptor, evicted (CWSR by default) and restored.
std::string preempt_ops(uint32_t workgroups, uint32_t waves_per_wg, uint32_t vgprs, uint32_t sgprs,
                        uint32_t lds) {
  return "op { svm_alloc { name: \"buf\" size_bytes: 2097152 preferred_loc: GPU } }\n"
         "op { prefetch { range: \"buf\" } }\n"
         "op { launch { range: \"buf\" workgroups: " + std::to_string(workgroups) +
         " waves_per_workgroup: " + std::to_string(waves_per_wg) + " vgprs_per_wave: " + std::to_string(vgprs) +
         " sgprs_per_wave: " + std::to_string(sgprs) + " lds_bytes_per_workgroup: " + std::to_string(lds) +
         " outstanding_per_wave: 1 accesses_per_wave: 64 } }\n"
         "op { sleep { ns: 1000 } }\n"
         "op { preempt { queue: \"q0\" } }\n"
         "op { restore { queue: \"q0\" } }\n"
         "op { wait {} }\n";
}

TEST(Preemption, CwsrLatencyIsFixedPlusResidentStateOverBandwidth) {
  const uint32_t wgs = 40, wpw = 4, vgprs = 64, sgprs = 48, lds = 16384;
  const RunResult r = run(preempt_ops(wgs, wpw, vgprs, sgprs, lds));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto& gpu = r.config.soc().gpu();
  const auto& cp = gpu.cp();
  const uint64_t waves = uint64_t{wgs} * wpw;
  const uint64_t reg_bytes = waves * (uint64_t{vgprs} * cp.wave_lanes() * 4 + uint64_t{sgprs} * 4 +
                                      cp.wave_hwreg_bytes());
  const uint64_t lds_bytes = uint64_t{wgs} * lds;
  const double vram = gpu.vram().bandwidth_gb_per_s();
  const int64_t state = ps_of_ns(cp.cwsr_per_wave_ns() * static_cast<double>(waves)) +
                        xfer_ps(static_cast<double>(reg_bytes), std::min(cp.cwsr_register_gb_per_s(), vram)) +
                        xfer_ps(static_cast<double>(lds_bytes), std::min(cp.cwsr_lds_gb_per_s(), vram));
  EXPECT_EQ(r.num("soc.gpu.cp.preempt.waves"), static_cast<double>(waves));
  EXPECT_EQ(r.num("soc.gpu.cp.preempt.saved_bytes"), static_cast<double>(reg_bytes + lds_bytes));
  EXPECT_EQ(r.num("soc.gpu.cp.preempt.saved_lds_bytes"), static_cast<double>(lds_bytes));
  EXPECT_EQ(r.num("soc.gpu.cp.preempt.restored_bytes"), static_cast<double>(reg_bytes + lds_bytes));
  EXPECT_EQ(std::llround(r.hist("soc.gpu.cp.preempt.latency_ns", "max") * 1000.0), ps_of_ns(cp.unmap_queues_ns()) + state);
  EXPECT_EQ(std::llround(r.hist("soc.gpu.cp.preempt.restore_ns", "max") * 1000.0), ps_of_ns(cp.map_queues_ns()) + state);
  EXPECT_EQ(r.num("soc.gpu.cp.preempt.timeouts"), 0);
  // The kernel still completes every access after the restore.
  EXPECT_EQ(r.num("soc.gpu.cu.accesses"), static_cast<double>(waves * 64));
}

TEST(Preemption, CostGrowsWithLdsAndRegisters) {
  const RunResult small = run(preempt_ops(8, 1, 16, 16, 0));
  const RunResult regs = run(preempt_ops(8, 1, 128, 16, 0));
  const RunResult with_lds = run(preempt_ops(8, 1, 128, 16, 32768));
  ASSERT_EQ(small.status, 0);
  ASSERT_EQ(regs.status, 0);
  ASSERT_EQ(with_lds.status, 0);
  EXPECT_LT(small.hist("soc.gpu.cp.preempt.latency_ns", "max"), regs.hist("soc.gpu.cp.preempt.latency_ns", "max"));
  EXPECT_LT(regs.hist("soc.gpu.cp.preempt.latency_ns", "max"), with_lds.hist("soc.gpu.cp.preempt.latency_ns", "max"));
}

TEST(Preemption, WaveResetSavesNothingAndWaveDrainWaitsForTheKernel) {
  const std::string ops = preempt_ops(8, 2, 32, 16, 4096);
  const RunResult reset = run(ops, {"--set", "soc.gpu.cp.preemption_mode=WAVE_RESET"});
  ASSERT_EQ(reset.status, 0) << reset.err;
  const auto& cp = reset.config.soc().gpu().cp();
  EXPECT_EQ(reset.num("soc.gpu.cp.preempt.saved_bytes"), 0);
  EXPECT_EQ(std::llround(reset.hist("soc.gpu.cp.preempt.latency_ns", "max") * 1000.0),
            ps_of_ns(cp.unmap_queues_ns()) + ps_of_ns(cp.wave_reset_ns()));
  const RunResult drain = run(ops, {"--set", "soc.gpu.cp.preemption_mode=WAVE_DRAIN"});
  ASSERT_EQ(drain.status, 0) << drain.err;
  EXPECT_EQ(drain.num("soc.gpu.cp.preempt.saved_bytes"), 0);
  // The kernel finished before the queue was unmapped: the drain outlasts a bare unmap.
  EXPECT_GT(drain.hist("soc.gpu.cp.preempt.latency_ns", "max"), cp.unmap_queues_ns() + 1000.0);
  const RunResult timeout = run(ops, {"--set", "soc.gpu.cp.preemption_mode=WAVE_DRAIN", "--set",
                                      "soc.gpu.cp.preemption_timeout_ns=2000"});
  ASSERT_EQ(timeout.status, 0) << timeout.err;
  EXPECT_EQ(timeout.num("soc.gpu.cp.preempt.timeouts"), 1);
  EXPECT_DOUBLE_EQ(timeout.hist("soc.gpu.cp.preempt.latency_ns", "max"), 2000.0);
}

TEST(Preemption, QueuesBeyondTheSlotsAreTimeSliced) {
  const std::string ops =
      "op { svm_alloc { name: \"buf\" size_bytes: 2097152 preferred_loc: GPU } }\n"
      "op { prefetch { range: \"buf\" } }\n"
      "op { launch { range: \"buf\" queue: \"a\" workgroups: 4 vgprs_per_wave: 32 outstanding_per_wave: 1 accesses_per_wave: 400 } }\n"
      "op { launch { range: \"buf\" queue: \"b\" workgroups: 4 vgprs_per_wave: 32 outstanding_per_wave: 1 accesses_per_wave: 400 } }\n"
      "op { wait {} }\n";
  const RunResult r = run(ops, {"--set", "soc.gpu.cp.hw_queue_slots=1", "--set", "soc.gpu.cp.time_slice_ns=50000"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_GE(r.num("soc.gpu.cp.time_slices"), 2);
  EXPECT_GE(r.hist("soc.gpu.cp.switch_ns", "count"), 2);
  EXPECT_EQ(r.num("soc.gpu.cp.max_mapped_queues"), 1);
  EXPECT_EQ(r.num("soc.gpu.cu.accesses"), 2.0 * 4 * 400);
  // One slot per queue: no time-slicing.
  const RunResult wide = run(ops);
  ASSERT_EQ(wide.status, 0);
  EXPECT_EQ(wide.num("soc.gpu.cp.time_slices"), 0);
}

TEST(Preemption, H200CalibrationWithinTenPercent) {
  const struct {
    const char* workload;
    double measured_us;
  } points[] = {{"traces/workloads/preempt_h200_1warp.textproto", 152.5},
                {"traces/workloads/preempt_h200_8448warps.textproto", 221.4},
                {"traces/workloads/preempt_h200_8448warps_lds.textproto", 251.1}};
  for (const auto& p : points) {
    const RunResult r = run_file(p.workload, {}, "configs/h200-like.textproto");
    ASSERT_EQ(r.status, 0) << p.workload << ": " << r.err;
    const double model_us = (r.hist("soc.gpu.cp.preempt.latency_ns", "mean") +
                             r.hist("soc.gpu.cp.preempt.restore_ns", "mean")) / 1000.0;
    EXPECT_NEAR(model_us, p.measured_us, 0.10 * p.measured_us) << p.workload;
  }
}

TEST(Preemption, DescriptorThatDoesNotFitIsAnInputError) {
  const RunResult r = run(
      "op { mmap { name: \"buf\" size_bytes: 4096 } }\n"
      "op { launch { range: \"buf\" workgroups: 1 waves_per_workgroup: 1 lds_bytes_per_workgroup: 1048576 } }\n");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("does not fit on a CU"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("workload.textproto:3: op 2 (launch)"), std::string::npos) << r.err;
}

// ------------------------------------------------------------------------- IH

TEST(FaultStorm, SmallRingDropsEntries) {
  const RunResult big = run_file("traces/workloads/fault_storm.textproto", {"--set", "soc.gpu.ih.ring1_bytes=1048576"});
  const RunResult small = run_file("traces/workloads/fault_storm.textproto", {"--set", "soc.gpu.ih.ring1_bytes=1024"});
  ASSERT_EQ(big.status, 0) << big.err;
  ASSERT_EQ(small.status, 0) << small.err;
  EXPECT_GT(small.num("soc.gpu.ih.fault_entries"), 1000);
  EXPECT_GT(small.num("soc.gpu.ih.ring1_drops"), 1000);
  EXPECT_EQ(small.num("soc.gpu.ih.dropped_entries"), small.num("soc.gpu.ih.ring1_drops"));
  // A 1 MiB ring (32767 entries) takes far more of the storm than a 1 KiB one. (It may
  // still drop some: with page-walk caches a failing walk is short, so fewer retries merge
  // into one walk and the storm writes more entries than the ring holds.)
  EXPECT_LT(big.num("soc.gpu.ih.ring1_drops"), small.num("soc.gpu.ih.ring1_drops"));
  EXPECT_GT(big.num("soc.gpu.ih.ring1_entries"), small.num("soc.gpu.ih.ring1_entries") + 1000);
  // A 1 KiB ring holds at most 31 entries (one slot stays free).
  EXPECT_LE(small.hist("soc.gpu.ih.ring1_occupancy_entries", "max"), 31);
  EXPECT_GT(big.hist("soc.gpu.ih.ring1_occupancy_entries", "max"), 31);
  // Every access completes: dropped faults come back on replay.
  EXPECT_EQ(small.num("soc.gpu.cu.accesses"), 104.0 * 8 * 16);
}

TEST(FaultStorm, Ih0OverwritesWhenFullWithoutIh1) {
  const RunResult r = run_file("traces/workloads/fault_storm.textproto",
                               {"--set", "soc.gpu.ih.ring1_bytes=0", "--set", "soc.gpu.ih.ring_bytes=1024",
                                // Overwritten copy-engine traps leave fences to the fallback
                                // timer; a short one keeps the run short.
                                "--set", "driver.sdma.fallback_timeout_ns=50000"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_GT(r.num("soc.gpu.ih.overflows"), 0);
  EXPECT_GT(r.num("soc.gpu.ih.overwritten"), 0);
  EXPECT_GT(r.num("driver.irq.ring_overflows"), 0);
  EXPECT_GT(r.num("driver.sdma.fallback_signals"), 0);
  EXPECT_EQ(r.num("soc.gpu.cu.accesses"), 104.0 * 8 * 16);
}

TEST(FaultStorm, CamDeduplicatesBeforeTheRing) {
  const RunResult sw = run_file("traces/workloads/fault_storm.textproto", {"--set", "soc.gpu.ih.ring1_bytes=1048576"});
  const RunResult cam = run_file("traces/workloads/fault_storm.textproto",
                                 {"--set", "soc.gpu.ih.ring1_bytes=1048576", "--set", "soc.gpu.ih.dedup=HARDWARE_CAM"});
  ASSERT_EQ(sw.status, 0);
  ASSERT_EQ(cam.status, 0) << cam.err;
  EXPECT_EQ(sw.num("soc.gpu.ih.cam_suppressed"), 0);
  EXPECT_GT(cam.num("soc.gpu.ih.cam_suppressed"), 1000);
  EXPECT_EQ(cam.num("driver.irq.filtered"), 0);  // the software filter is skipped
  EXPECT_LT(cam.num("soc.gpu.ih.ring1_entries"), sw.num("soc.gpu.ih.ring1_entries"));
  EXPECT_EQ(cam.num("soc.gpu.ih.cam_acks"), cam.num("driver.irq.cam_acks"));
  // A small IH1 drops admitted faults; their CAM entries are freed, and every access
  // still completes.
  const RunResult small = run_file("traces/workloads/fault_storm.textproto",
                                   {"--set", "soc.gpu.ih.ring1_bytes=1024", "--set", "soc.gpu.ih.dedup=HARDWARE_CAM"});
  ASSERT_EQ(small.status, 0) << small.err;
  EXPECT_GT(small.num("soc.gpu.ih.cam_freed_lost"), 0);
  EXPECT_EQ(small.num("soc.gpu.ih.cam_freed_lost"), small.num("soc.gpu.ih.ring1_drops"));
  EXPECT_EQ(small.num("soc.gpu.cu.accesses"), 104.0 * 8 * 16);
}

TEST(FaultStorm, CamAckBeforePteUpdateRefiresTheFault) {
  const std::vector<std::string> cam = {"--set", "soc.gpu.ih.dedup=HARDWARE_CAM"};
  std::vector<std::string> early = cam;
  early.insert(early.end(), {"--set", "driver.irq.cam_ack=BEFORE_PTE_UPDATE"});
  const RunResult after = run_file("traces/workloads/isolated_fault.textproto", cam);
  const RunResult before = run_file("traces/workloads/isolated_fault.textproto", early);
  ASSERT_EQ(after.status, 0);
  ASSERT_EQ(before.status, 0);
  EXPECT_EQ(after.num("soc.gpu.ih.cam_acks"), 1);
  EXPECT_EQ(after.num("fault.reports_duplicate"), 0);
  // Acked before the PTEs landed: a replay faults again, reaches the driver, is a duplicate.
  EXPECT_GE(before.num("soc.gpu.ih.cam_acks"), 2);
  EXPECT_GE(before.num("fault.reports_duplicate"), 1);
}

TEST(InterruptModeration, DelaysTheMsiByTheTimer) {
  // One isolated fault: its IH1 entry's self-interrupt waits moderation_ns for its MSI.
  const RunResult plain = run_file("traces/workloads/isolated_fault.textproto");
  const RunResult moderated = run_file("traces/workloads/isolated_fault.textproto", {"--set", "soc.gpu.ih.moderation_ns=20000"});
  ASSERT_EQ(plain.status, 0);
  ASSERT_EQ(moderated.status, 0) << moderated.err;
  EXPECT_EQ(plain.num("soc.gpu.ih.moderated_msis"), 0);
  EXPECT_GT(moderated.num("soc.gpu.ih.moderated_msis"), 0);
  EXPECT_NEAR(moderated.hist("fault.phase.ih_delivery_ns", "mean") - plain.hist("fault.phase.ih_delivery_ns", "mean"),
              20000.0, 20.0);  // within 0.1%: the serviced report may be a replay's, walked a few ns apart
}

}  // namespace
}  // namespace fl::test

namespace fl::test {
namespace {

TEST(PreemptionOps, RestoreWithoutPreemptAndUnknownQueuesAreInputErrors) {
  const std::string base =
      "op { mmap { name: \"buf\" size_bytes: 4096 } }\n"
      "op { launch { range: \"buf\" cus: 1 waves_per_cu: 1 accesses_per_wave: 1 } }\n";
  const RunResult restore = run(base + "op { restore { queue: \"q0\" } }\n");
  EXPECT_EQ(restore.status, 2);
  EXPECT_NE(restore.err.find("op 3 (restore): queue 'q0' was not evicted by an earlier preempt"), std::string::npos)
      << restore.err;
  const RunResult unknown = run(base + "op { preempt { queue: \"other\" } }\n");
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("no earlier launch on a queue named 'other'"), std::string::npos) << unknown.err;
  const RunResult both = run(
      "op { mmap { name: \"buf\" size_bytes: 4096 } }\n"
      "op { launch { range: \"buf\" cus: 1 workgroups: 1 } }\n");
  EXPECT_EQ(both.status, 2);
  EXPECT_NE(both.err.find("give either workgroups or cus and waves_per_cu"), std::string::npos) << both.err;
}

TEST(PreemptionOps, PreemptingAnIdleQueueCostsTheUnmapOnly) {
  const RunResult r = run(
      "op { mmap { name: \"buf\" size_bytes: 4096 } }\n"
      "op { launch { range: \"buf\" cus: 1 waves_per_cu: 1 accesses_per_wave: 1 } }\n"
      "op { wait {} }\n"
      "op { preempt { queue: \"q0\" } }\n"
      "op { restore { queue: \"q0\" } }\n");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto& cp = r.config.soc().gpu().cp();
  EXPECT_EQ(r.num("soc.gpu.cp.preempt.count"), 0);  // nothing was resident
  EXPECT_DOUBLE_EQ(r.hist("workload.preempt_ns", "max"), cp.unmap_queues_ns());
  EXPECT_DOUBLE_EQ(r.hist("workload.restore_ns", "max"), cp.map_queues_ns());
}

}  // namespace
}  // namespace fl::test
