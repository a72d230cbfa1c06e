// The batched fault service end to end (driver.irq.fault_service = BATCHED with the GPU
// replaying on command): each block is serviced once with one page-table update and one
// TLB flush, each batch ends in one replay, every fault is accounted for, and the
// combinations that cannot work are refused.
#include <gtest/gtest.h>

#include "harness.h"

namespace fl::test {
namespace {

const std::vector<std::string> kBatched = {"--set", "driver.irq.fault_service=BATCHED",
                                           "--set", "soc.gpu.cu.replay=ON_REPLAY_COMMAND",
                                           "--set", "soc.gpu.ih.ring1_bytes=65536"};

RunResult run(const std::string& tag, const std::string& ops, std::vector<std::string> sets) {
  const std::string d = temp_dir(tag);
  std::vector<std::string> args = {"run", "--quiet", "--workload", workload(d, ops)};
  args.insert(args.end(), sets.begin(), sets.end());
  return run_faultline(args, d + "/out");
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// 64 waves, two accesses each, every access on its own 4 KiB page of one 2 MiB block.
const char* kOneBlock =
    "op { mmap { name: \"buf\" size_bytes: 2097152 } }\n"
    "op { launch { range: \"buf\" pattern: STRIDED stride_bytes: 4096 cus: 2 waves_per_cu: 32 "
    "outstanding_per_wave: 1 accesses_per_wave: 2 } }\n"
    "op { wait {} }\n";

TEST(FaultService, OneBlockIsServicedOnceWithOnePageTableUpdateAndOneFlush) {
  const RunResult r = run("fs_block", kOneBlock, with(kBatched, {"--set", "driver.svm.default_granularity=0"}));
  ASSERT_EQ(r.status, 0) << r.err;
  const double groups = r.num("driver.svm.fault_groups");
  EXPECT_GE(groups, 1);
  // Far fewer groups than faulting pages: the block's concurrent faults were grouped.
  EXPECT_LT(groups, 64);
  EXPECT_GT(r.hist("driver.svm.group_faults", "max"), 1);
  EXPECT_EQ(r.num("driver.vm.updates"), groups);
  EXPECT_EQ(r.num("driver.vm.tlb_flushes"), groups);
  // Every page (64 waves x 2 accesses, each on its own page) was serviced exactly once.
  EXPECT_EQ(r.num("driver.migrate.pages"), 128);
  EXPECT_EQ(r.num("soc.gpu.cu.accesses"), 128);
}

TEST(FaultService, EachBatchEndsInOneReplayAndEveryReportIsAccountedFor) {
  for (const char* policy : {"AFTER_BATCH", "AFTER_BATCH_FLUSH"}) {
    SCOPED_TRACE(policy);
    const RunResult r = run(std::string("fs_replay_") + policy, kOneBlock,
                            with(kBatched, {"--set", std::string("driver.irq.replay_policy=") + policy}));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_GE(r.num("driver.irq.batch.batches"), 1);
    EXPECT_EQ(r.num("driver.irq.replays"), r.num("driver.irq.batch.batches"));
    EXPECT_EQ(r.num("soc.gpu.utcl2.replay_commands"), r.num("driver.irq.replays"));
    // Reports are serviced, dropped as duplicates or flushed, or lost to a full ring.
    EXPECT_EQ(r.num("fault.reports"), r.num("fault.serviced_migrated") + r.num("fault.serviced_mapped") +
                                          r.num("fault.reports_duplicate") + r.num("fault.reports_filtered") +
                                          r.num("fault.reports_lost"));
    // The worker reads each entry the IH wrote exactly once.
    EXPECT_EQ(r.num("driver.irq.ih1_entries"), r.num("fault.reports") - r.num("fault.reports_lost"));
    EXPECT_EQ(r.num("soc.gpu.cu.accesses"), 128);
  }
}

TEST(FaultService, AfterBlockReplaysOncePerGroupAndTimerReplaysWithoutTheWorker) {
  const RunResult block = run("fs_block_replay", kOneBlock,
                              with(kBatched, {"--set", "driver.irq.replay_policy=AFTER_BLOCK"}));
  ASSERT_EQ(block.status, 0) << block.err;
  EXPECT_EQ(block.num("driver.irq.replays"), block.num("driver.svm.fault_groups"));
  const RunResult timer = run("fs_timer", kOneBlock, with(kBatched, {"--set", "driver.irq.replay_policy=TIMER"}));
  ASSERT_EQ(timer.status, 0) << timer.err;
  EXPECT_GE(timer.num("driver.irq.replays"), 1);
  EXPECT_EQ(timer.num("soc.gpu.cu.accesses"), 128);
}

TEST(FaultService, HardwareThatReplaysOnItsOwnIgnoresTheReplayCommand) {
  // BATCHED on AMD-style hardware: the waves replay on their retry timer and re-report
  // while their faults wait; the driver's replay commands arrive and change nothing.
  const std::vector<std::string> timer_hw = {"--set", "driver.irq.fault_service=BATCHED", "--set",
                                             "soc.gpu.ih.ring1_bytes=65536"};
  const RunResult own = run("fs_own_replay", kOneBlock, timer_hw);
  const RunResult cmd = run("fs_cmd_replay", kOneBlock, kBatched);
  ASSERT_EQ(own.status, 0) << own.err;
  ASSERT_EQ(cmd.status, 0) << cmd.err;
  EXPECT_GE(own.num("soc.gpu.utcl2.replay_commands"), 1);
  EXPECT_EQ(own.hist("soc.gpu.cu.replayed_per_command", "count"), 0);
  EXPECT_GT(cmd.hist("soc.gpu.cu.replayed_per_command", "count"), 0);
  EXPECT_EQ(own.num("soc.gpu.cu.accesses"), 128);
  // Parked accesses report once per replay; timer replays re-report every interval.
  EXPECT_GT(own.num("fault.reports"), cmd.num("fault.reports"));
}

TEST(FaultService, BatchSizeLimitIsHonoured) {
  // 512 waves each faulting on its own 2 MiB block at once.
  const std::string ops =
      "op { mmap { name: \"buf\" size_bytes: 1073741824 } }\n"
      "op { launch { range: \"buf\" pattern: STRIDED stride_bytes: 2097152 cus: 16 waves_per_cu: 32 "
      "outstanding_per_wave: 1 accesses_per_wave: 1 } }\n"
      "op { wait {} }\n";
  const RunResult r = run("fs_limit", ops, with(kBatched, {"--set", "driver.irq.batch_max_entries=8"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_LE(r.hist("driver.irq.batch.entries", "max"), 8);
  EXPECT_GE(r.num("driver.irq.batch.batches"), 512 / 8);
  EXPECT_EQ(r.num("fault.serviced_migrated"), 512);
  EXPECT_EQ(r.num("driver.irq.ih1_entries"), r.num("fault.reports") - r.num("fault.reports_lost"));
}

TEST(FaultService, ImpossibleCombinationsAreRefused) {
  const std::string d = temp_dir("fs_bad");
  const std::string w = workload(d, kOneBlock);
  struct Case {
    std::vector<std::string> sets;
    const char* says;
  } cases[] = {
      {{"--set", "soc.gpu.cu.replay=ON_REPLAY_COMMAND"}, "driver.irq.fault_service = BATCHED"},
      {with(kBatched, {"--set", "driver.irq.replay_policy=NONE"}), "would never replay"},
      {{"--set", "driver.irq.fault_service=BATCHED", "--set", "soc.gpu.ih.ring1_bytes=0"}, "ring1_bytes"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"run", "--quiet", "--workload", w};
    args.insert(args.end(), c.sets.begin(), c.sets.end());
    const RunResult r = run_faultline(args);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace fl::test
