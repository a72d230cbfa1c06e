// The TTM driver end to end (driver-model/ttm.h, issue 11): the shrinker against a GPU fault
// pending on a queue (seed 001) under each driver.ttm.fence_policy, on
// traces/workloads/scenarios/shrinker_vs_fault.textproto: WAIT deadlocks (exit 3, the cycle
// printed), BACK_OFF skips the KFD BO and reclaims the other, PREEMPT_MID_FAULT evicts and
// restores the queues for TTM (SMI QUEUE_EVICTION trigger TTM, then QUEUE_RESTORE), PIN
// never sees the KFD BO. Then TTM's pages limit (ttm_global_swapout evicting the least
// recently used BO), the -ENOMEM path, and bad input.
#include <gtest/gtest.h>

#include <sstream>

#include "harness.h"

namespace fl::test {
namespace {

const std::string kScenario = std::string(FAULTLINE_SOURCE_DIR) + "/traces/workloads/scenarios/shrinker_vs_fault.textproto";
constexpr double kBo = 64.0 * 1024 * 1024;

RunResult run_policy(const std::string& policy, const std::string& tag, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"run", "--workload", kScenario, "--set", "driver.ttm.fence_policy=" + policy};
  args.insert(args.end(), more.begin(), more.end());
  return run_faultline(args, temp_dir(tag));
}

// The SMI lines of one event id (hex, as KFD prints it).
std::vector<std::string> smi_lines(const std::string& path, const std::string& id) {
  std::vector<std::string> v;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(id + " ", 0) == 0) v.push_back(line);
  }
  return v;
}

TEST(TtmDriver, WaitingOnTheEvictionFenceOfAFaultingQueueDeadlocks) {
  const RunResult r = run_policy("WAIT", "ttm_wait");
  ASSERT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("deadlock at "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("workload.run waits for fence driver.ttm.eviction_fence#1 (since "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("signalled by the work of driver.ttm.eviction_fence, which needs the unmap of queues by soc.gpu.cp, "
                       "which waits for the retry-fault service of driver.irq, run by"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("driver.irq.ih1_thread waits for lock driver.svm.mmap_lock (since "), std::string::npos) << r.err;
  // Found as the cycle closed (the unmap began waiting for the faults), not by the watchdog.
  EXPECT_EQ(r.num("soc.gpu.cp.preempt.fault_waits"), 1);
  EXPECT_EQ(r.num("driver.ttm.process_evictions"), 1);
  EXPECT_EQ(r.num("driver.ttm.shrinker.reclaimed_bytes"), 0);
  EXPECT_LT(r.meta["sim_time_ns"].get<double>(), 1e8);
}

TEST(TtmDriver, BackingOffAFenceThatMayDeadlockReclaimsTheNextBo) {
  const RunResult r = run_policy("BACK_OFF", "ttm_back_off");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("driver.ttm.shrinker.backoffs"), 1);
  EXPECT_EQ(r.num("driver.ttm.shrinker.scanned_bos"), 2);
  EXPECT_EQ(r.num("driver.ttm.shrinker.reclaimed_bytes"), kBo);
  EXPECT_EQ(r.num("driver.ttm.evictions.kfd"), 0);
  EXPECT_EQ(r.num("driver.ttm.alloc_failures"), 0);
  EXPECT_EQ(r.num("driver.queues.evictions"), 0);
  EXPECT_EQ(r.hist("driver.ttm.fence_wait_ns", "count"), 0);
  // The shrinker blocked for the copy of the other BO (64 MiB at swap_gb_per_s) and little else.
  const double copy_ns = kBo / r.config.driver().ttm().swap_gb_per_s();
  EXPECT_GE(r.hist("driver.ttm.shrinker.block_ns", "max"), copy_ns);
  EXPECT_LT(r.hist("driver.ttm.shrinker.block_ns", "max"), copy_ns + 50000);
  EXPECT_EQ(r.num("fault.count"), r.num("soc.gpu.cu.faulted_accesses"));
}

TEST(TtmDriver, PreemptingMidFaultEvictsAndRestoresTheQueuesForTtm) {
  const std::string d = temp_dir("ttm_mid");
  const RunResult r = run_faultline({"run", "--workload", kScenario, "--set", "driver.ttm.fence_policy=PREEMPT_MID_FAULT", "--set",
                                     "soc.gpu.cp.preempt_with_fault_pending=true", "--smi-events", d + "/smi.txt"},
                                    d + "/out");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("driver.ttm.evictions.kfd"), 1);
  EXPECT_EQ(r.num("driver.ttm.process_evictions"), 1);
  EXPECT_EQ(r.num("driver.ttm.shrinker.reclaimed_bytes"), kBo);
  EXPECT_EQ(r.num("driver.ttm.restored_bytes"), kBo);
  EXPECT_EQ(r.num("driver.queues.evictions"), 1);
  EXPECT_EQ(r.num("soc.gpu.cp.preempt.fault_waits"), 0);
  // The eviction's cost: the shrinker waited for the queues to come off the GPU, and they
  // stayed off for the restore delay plus the BO's validation.
  EXPECT_GT(r.hist("driver.ttm.fence_wait_ns", "max"), 0);
  EXPECT_GE(r.hist("driver.ttm.fence_wait_ns", "max"), r.hist("driver.queues.evict_ns", "max"));
  EXPECT_GE(r.hist("driver.queues.evicted_ns", "max"), r.config.driver().ttm().restore_delay_ns());
  // kfd_smi_event_queue_eviction with KFD_QUEUE_EVICTION_TRIGGER_TTM (2), then the restore.
  const auto evictions = smi_lines(d + "/smi.txt", "9");
  ASSERT_EQ(evictions.size(), 1u);
  EXPECT_EQ(evictions[0].substr(evictions[0].size() - 2), " 2") << evictions[0];
  EXPECT_EQ(smi_lines(d + "/smi.txt", "a").size(), 1u);
  EXPECT_EQ(r.num("fault.count"), r.num("soc.gpu.cu.faulted_accesses"));
}

TEST(TtmDriver, PinnedKfdBosAreNeverSeenByTheShrinker) {
  const RunResult r = run_policy("PIN", "ttm_pin");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("driver.ttm.shrinker.scanned_bos"), 1);
  EXPECT_EQ(r.num("driver.ttm.shrinker.backoffs"), 0);
  EXPECT_EQ(r.num("driver.ttm.evictions.kfd"), 0);
  EXPECT_EQ(r.num("driver.ttm.shrinker.reclaimed_bytes"), kBo);
  EXPECT_EQ(r.num("driver.queues.evictions"), 0);
}

TEST(TtmDriver, MidFaultPolicyNeedsTheHardwareCapability) {
  const RunResult r = run_policy("PREEMPT_MID_FAULT", "ttm_mid_no_hw");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("shrinker_vs_fault.textproto: driver.ttm.fence_policy PREEMPT_MID_FAULT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("soc.gpu.cp.preempt_with_fault_pending is false"), std::string::npos) << r.err;
}

TEST(TtmDriver, AnAllocationReclaimCannotSatisfyFailsWithEnomem) {
  // Only a KFD BO, pinned: nothing to reclaim. The allocation fails and is counted; the run
  // goes on.
  const std::string d = temp_dir("ttm_enomem");
  const std::string w = workload(d,
                                 "op { bo_create { name: \"a\" size_bytes: 67108864 } }\n"
                                 "op { memory_pressure { bytes: 274810798080 } }\n"  // 256 GiB - 64 MiB
                                 "op { memory_pressure { bytes: 4096 } }\n");
  const RunResult r = run_faultline({"run", "--workload", w, "--set", "driver.ttm.fence_policy=PIN"}, d + "/out");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("driver.ttm.alloc_failures"), 1);
  EXPECT_EQ(r.num("driver.ttm.shrinker.unreclaimed_bytes"), 4096);
  EXPECT_EQ(r.num("driver.ttm.shrinker.scanned_bos"), 0);
}

TEST(TtmDriver, ThePagesLimitSwapsOutTheLeastRecentlyUsedBo) {
  // 1 GiB of host memory, TTM may hold half: the third 200 MiB BO pushes the first out
  // (ttm_global_swapout), priority 0 before 1 (b is priority 1, so a and then c go first).
  const std::string d = temp_dir("ttm_limit");
  const std::string w = workload(d,
                                 "op { bo_create { name: \"a\" size_bytes: 209715200 kfd: false } }\n"
                                 "op { bo_create { name: \"b\" size_bytes: 209715200 kfd: false priority: 1 } }\n"
                                 "op { bo_create { name: \"c\" size_bytes: 209715200 kfd: false } }\n"
                                 "op { bo_create { name: \"e\" size_bytes: 209715200 kfd: false domain: SYSTEM } }\n"
                                 "op { bo_free { name: \"b\" } }\n");
  const RunResult r = run_faultline({"run", "--workload", w, "--set", "soc.host.dram.capacity_bytes=1073741824"}, d + "/out");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("driver.ttm.bos_created"), 4);
  EXPECT_EQ(r.num("driver.ttm.reclaims"), 2);
  // c made a go (1 scanned), e made c go (a already out: 1 scanned, b kept for priority).
  EXPECT_EQ(r.num("driver.ttm.evictions.gtt"), 2);
  EXPECT_EQ(r.num("driver.ttm.shrinker.scanned_bos"), 2);
  EXPECT_EQ(r.num("driver.ttm.evicted_bytes"), 2 * 209715200.0);
}

TEST(TtmDriver, BadBoInputNamesTheFileAndLine) {
  const std::string d = temp_dir("ttm_bad");
  const struct {
    const char* ops;
    const char* message;
  } cases[] = {
      {"op { bo_create { name: \"big\" size_bytes: 274877906944 } }\n",
       ":1: op 1 (bo_create): size_bytes exceeds what TTM may hold in GTT (driver.ttm.pages_limit_percent"},
      {"op { bo_create { name: \"x\" size_bytes: 4096 } }\nop { bo_free { name: \"x\" } }\nop { bo_free { name: \"x\" } }\n",
       ":3: op 3 (bo_free): the BO 'x' was already freed"},
      {"op { bo_free { name: \"y\" } }\n", ":1: op 1 (bo_free): no earlier bo_create named 'y'"},
      {"op { bo_create { name: \"p\" size_bytes: 4096 priority: 4 } }\n", ":1: op 1 (bo_create): priority must be below 4"},
      {"op { bo_create { name: \"v\" size_bytes: 4096 domain: VRAM } }\n", ":1:"},
      {"op { memory_pressure { bytes: 0 } }\n", ":1: op 1 (memory_pressure): bytes must be positive"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string w = write_file(d, "w" + std::to_string(i++) + ".textproto", c.ops);
    const RunResult r = run_faultline({"run", "--workload", w});
    EXPECT_EQ(r.status, 2) << c.ops;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.ops << r.err;
  }
}

}  // namespace
}  // namespace fl::test
