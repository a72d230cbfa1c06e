// Preemption with faults pending and the wait-for graph, end to end (seed 001): an unmap of
// a queue whose waves have retry faults pending waits for their service when the GPU
// cannot preempt mid-fault (soc.gpu.cp.preempt_with_fault_pending off), costing the
// preemption that wait; and when the service itself waits for the thread that asked for
// the unmap (fork under mmap_lock evicting the queues), the run stops at once with the
// cycle (exit 3), while hardware that preempts mid-fault completes the same workload.
#include <gtest/gtest.h>

#include "harness.h"

namespace fl::test {
namespace {

const std::string kScenario = std::string(FAULTLINE_SOURCE_DIR) + "/traces/workloads/scenarios/evict_with_fault_pending.textproto";

TEST(Deadlock, ForkEvictingAQueueWithFaultsPendingIsReportedAsItsCycle) {
  const RunResult r = run_faultline({"run", "--workload", kScenario}, temp_dir("deadlock_fork"));
  ASSERT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("deadlock at "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("  workload.run waits for the unmap of queues by soc.gpu.cp (since "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("), which waits for the retry-fault service of driver.irq, run by\n"
                       "  driver.irq.ih1_thread waits for lock driver.svm.mmap_lock (since "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("), held by\n  workload.run\n"), std::string::npos) << r.err;
  // Found as the cycle closed, not by the watchdog: simulated time is the moment of the
  // unmap, well before sim.watchdog_ns could pass.
  EXPECT_EQ(r.num("soc.gpu.cp.preempt.fault_waits"), 1);
  EXPECT_LT(r.meta["sim_time_ns"].get<double>(), 1e6);
  EXPECT_EQ(r.meta["exit_status"], 3);
}

TEST(Deadlock, HardwareThatPreemptsMidFaultCompletesTheSameWorkload) {
  const RunResult r = run_faultline({"run", "--workload", kScenario, "--set", "soc.gpu.cp.preempt_with_fault_pending=true"},
                                    temp_dir("deadlock_fork_ok"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("driver.queues.evictions"), 1);
  EXPECT_EQ(r.num("soc.gpu.cp.preempt.fault_waits"), 0);
  EXPECT_GE(r.num("soc.gpu.cp.preempt.count"), 1);
  EXPECT_EQ(r.num("fault.count"), r.num("soc.gpu.cu.faulted_accesses"));
}

TEST(Deadlock, AnUnmapWaitsForPendingFaultsAndPaysForTheWait) {
  // A preemption (the workload's, no lock held) while 16 waves fault on fresh memory: the
  // unmap waits for the faults' service, then saves; with mid-fault preemption it does not.
  const std::string d = temp_dir("fault_wait");
  const std::string w = workload(d,
                                 "op { mmap { name: \"fresh\" size_bytes: 67108864 } }\n"
                                 "op { launch { range: \"fresh\" pattern: STRIDED stride_bytes: 2097152 cus: 4 waves_per_cu: 4 "
                                 "outstanding_per_wave: 1 accesses_per_wave: 2 } }\n"
                                 "op { sleep { ns: 5000 } }\n"
                                 "op { preempt { queue: \"q0\" } }\n"
                                 "op { restore { queue: \"q0\" } }\n"
                                 "op { wait {} }\n");
  const RunResult waits = run_faultline({"run", "--workload", w}, d + "/waits");
  ASSERT_EQ(waits.status, 0) << waits.err;
  EXPECT_EQ(waits.num("soc.gpu.cp.preempt.fault_waits"), 1);
  const double waited_ns = waits.hist("soc.gpu.cp.preempt.fault_wait_ns", "max");
  EXPECT_GT(waited_ns, 10000) << "a 2 MiB fault service takes tens of microseconds";
  const RunResult mid = run_faultline({"run", "--workload", w, "--set", "soc.gpu.cp.preempt_with_fault_pending=true"}, d + "/mid");
  ASSERT_EQ(mid.status, 0) << mid.err;
  EXPECT_EQ(mid.num("soc.gpu.cp.preempt.fault_waits"), 0);
  const double lat_wait = waits.hist("soc.gpu.cp.preempt.latency_ns", "max");
  const double lat_mid = mid.hist("soc.gpu.cp.preempt.latency_ns", "max");
  EXPECT_GT(lat_wait, lat_mid + waited_ns * 0.9) << "the preemption's latency includes its wait for the faults";
  EXPECT_EQ(waits.num("fault.count"), mid.num("fault.count"));
}

}  // namespace
}  // namespace fl::test
