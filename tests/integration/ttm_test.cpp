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

// A userptr BO followed by an MMU notifier (driver.ttm.userptr NOTIFIER, KFD's): fork's
// write-protect of its pages evicts the queues (QUEUE_EVICTION trigger USERPTR) and fork
// blocks until they are off the GPU; the restore worker gets the pages again and restores
// them after AMDGPU_USERPTR_RESTORE_DELAY_MS. Pinned (PINNED), fork never waits.
TEST(TtmDriver, ForkBlocksInTheUserptrNotifierUnlessThePagesArePinned) {
  const std::string d = temp_dir("ttm_userptr");
  const std::string w = workload(d,
                                 "op { vram_alloc { name: \"data\" size_bytes: 16777216 } }\n"
                                 "op { mmap { name: \"host\" size_bytes: 16777216 } }\n"
                                 "op { userptr { name: \"ubo\" range: \"host\" } }\n"
                                 "op { launch { range: \"data\" pattern: RANDOM cus: 16 waves_per_cu: 4 outstanding_per_wave: 4 "
                                 "accesses_per_wave: 20000 } }\n"
                                 "op { sleep { ns: 20000 } }\n"
                                 "op { fork { child: \"c\" } }\n"
                                 "op { wait {} }\n");
  const RunResult n = run_faultline({"run", "--workload", w, "--smi-events", d + "/smi.txt"}, d + "/notifier");
  ASSERT_EQ(n.status, 0) << n.err;
  EXPECT_EQ(n.num("driver.ttm.userptr.invalidations"), 1);
  EXPECT_EQ(n.num("driver.ttm.userptr.restores"), 1);
  EXPECT_EQ(n.num("driver.queues.evictions"), 1);
  EXPECT_EQ(n.num("soc.gpu.cp.preempt.waves"), 64);
  // fork() blocked for the eviction: evict_ns plus the preemption of the 64 waves.
  const double block = n.hist("driver.ttm.userptr.block_ns", "max");
  EXPECT_GE(block, n.config.driver().kfd().evict_ns() + n.hist("soc.gpu.cp.preempt.latency_ns", "max"));
  EXPECT_GE(n.hist("driver.queues.evicted_ns", "max"), n.config.driver().ttm().userptr_restore_delay_ns());
  // Pages got at registration and again on restore.
  EXPECT_EQ(n.num("driver.ttm.userptr.pages"), 2 * 4096);
  const auto evictions = smi_lines(d + "/smi.txt", "9");
  ASSERT_EQ(evictions.size(), 1u);
  EXPECT_EQ(evictions[0].substr(evictions[0].size() - 2), " 1") << "KFD_QUEUE_EVICTION_TRIGGER_USERPTR: " << evictions[0];
  EXPECT_EQ(smi_lines(d + "/smi.txt", "a").size(), 1u);

  const RunResult p = run_faultline({"run", "--workload", w, "--set", "driver.ttm.userptr=PINNED"}, d + "/pinned");
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_EQ(p.num("driver.ttm.userptr.invalidations"), 0);
  EXPECT_EQ(p.num("driver.queues.evictions"), 0);
  EXPECT_EQ(p.hist("driver.ttm.userptr.block_ns", "count"), 0);
  EXPECT_NEAR(n.hist("workload.fork_ns", "max") - p.hist("workload.fork_ns", "max"), block, 1.0);
}

// Seed 004: a notifier-backed userptr whose invalidation must stop a queue that has retry
// faults pending, from fork() holding mmap_lock, deadlocks on gfx9 (the fault service needs
// mmap_lock); pinned pages never wait.
TEST(TtmDriver, AUserptrNotifierEvictingAFaultingQueueDeadlocksUnlessPinned) {
  const std::string d = temp_dir("ttm_userptr_fault");
  const std::string w = workload(d,
                                 "op { mmap { name: \"host\" size_bytes: 16777216 } }\n"
                                 "op { userptr { name: \"ubo\" range: \"host\" } }\n"
                                 "op { mmap { name: \"fresh\" size_bytes: 67108864 } }\n"
                                 "op { launch { range: \"fresh\" pattern: STRIDED stride_bytes: 2097152 cus: 4 waves_per_cu: 4 "
                                 "outstanding_per_wave: 1 accesses_per_wave: 2 } }\n"
                                 "op { sleep { ns: 20000 } }\n"
                                 "op { fork { child: \"c\" } }\n"
                                 "op { wait {} }\n");
  const RunResult n = run_faultline({"run", "--workload", w}, d + "/notifier");
  ASSERT_EQ(n.status, 3) << n.err;
  EXPECT_NE(n.err.find("workload.run waits for the unmap of queues by soc.gpu.cp (since "), std::string::npos) << n.err;
  EXPECT_NE(n.err.find("driver.irq.ih1_thread waits for lock driver.svm.mmap_lock"), std::string::npos) << n.err;
  const RunResult p = run_faultline({"run", "--workload", w, "--set", "driver.ttm.userptr=PINNED"}, d + "/pinned");
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_EQ(p.num("driver.queues.evictions"), 0);
  EXPECT_EQ(p.num("fault.count"), p.num("soc.gpu.cu.faulted_accesses"));
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
      {"op { bo_free { name: \"y\" } }\n", ":1: op 1 (bo_free): no earlier bo_create or userptr named 'y'"},
      {"op { bo_create { name: \"p\" size_bytes: 4096 priority: 4 } }\n", ":1: op 1 (bo_create): priority must be below 4"},
      {"op { bo_create { name: \"v\" size_bytes: 4096 domain: VRAM } }\n", ":1:"},
      {"op { memory_pressure { bytes: 0 } }\n", ":1: op 1 (memory_pressure): bytes must be positive"},
      {"op { svm_alloc { name: \"s\" size_bytes: 4096 } }\nop { userptr { name: \"u\" range: \"s\" } }\n",
       ":2: op 2 (userptr): 's' is an SVM range; a userptr BO is made of an mmap"},
      {"op { mmap { name: \"m\" size_bytes: 4096 } }\nop { userptr { name: \"u\" range: \"m\" size_bytes: 8192 } }\n",
       ":2: op 2 (userptr): size_bytes must be positive and fit in 'm'"},
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
