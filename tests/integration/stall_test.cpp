// No hang, ever: each kind of stall (a fence that never signals, a lock never released, a
// queue that never preempts) ends the run with exit 3 and a message naming what the
// blocked thread waited on (sim/core/waits.h), instead of running until the time limit.
#include <gtest/gtest.h>

#include "harness.h"

namespace fl::test {
namespace {

RunResult run(const std::string& tag, const std::string& ops, const std::vector<std::string>& sets) {
  const std::string d = temp_dir(tag);
  std::vector<std::string> args = {"run", "--quiet", "--workload", workload(d, ops), "--set", "sim.watchdog_ns=1000000"};
  args.insert(args.end(), sets.begin(), sets.end());
  return run_faultline(args);
}

TEST(Stall, AFenceThatNeverSignalsIsReportedNamingTheFence) {
  // The copy engine hangs before the first copy's fence: the copying thread waits for it.
  const RunResult r = run("stall_fence", "op { dma_copy { direction: H2D bytes: 65536 } }\n",
                          {"--set", "soc.gpu.sdma.hang_after_packets=1"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("no forward progress"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("waits for fence driver.sdma #1"), std::string::npos) << r.err;
}

TEST(Stall, ACopyLongerThanTheWatchdogPeriodIsNotAStall) {
  // One 16 MiB COPY_LINEAR packet executes for far longer than the 10 us period, with no GPU
  // access and the copying thread waiting for its fence all the while: the bytes the copy
  // engine moves are the progress.
  const std::string d = temp_dir("stall_long_copy");
  const RunResult r = run_faultline({"run", "--quiet", "--workload",
                                     workload(d, "op { dma_copy { direction: H2D bytes: 16777216 } }\n"), "--set",
                                     "sim.watchdog_ns=10000"});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(Stall, ALockNeverReleasedIsReportedNamingTheLock) {
  // Another thread holds mmap_lock for ever; the GPU's faults wait for it in the fault handler.
  const RunResult r = run("stall_lock",
                          "op { mmap { name: \"buf\" size_bytes: 2097152 } }\n"
                          "op { hold_lock { lock: MMAP_LOCK } }\n"
                          "op { launch { range: \"buf\" cus: 1 waves_per_cu: 1 accesses_per_wave: 4 } }\n"
                          "op { wait {} }\n",
                          {});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("waits for lock driver.svm.mmap_lock"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("GPU accesses in flight"), std::string::npos) << r.err;
}

TEST(Stall, ALockHeldForAWhileIsNotAStall) {
  const RunResult r = run("stall_lock_ok",
                          "op { mmap { name: \"buf\" size_bytes: 2097152 } }\n"
                          "op { hold_lock { lock: MMAP_LOCK ns: 500000 } }\n"
                          "op { launch { range: \"buf\" cus: 1 waves_per_cu: 1 accesses_per_wave: 4 } }\n"
                          "op { wait {} }\n",
                          {});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(Stall, AQueueThatNeverPreemptsIsReportedNamingTheQueue) {
  const RunResult r = run("stall_preempt",
                          "op { svm_alloc { name: \"buf\" size_bytes: 2097152 preferred_loc: GPU } }\n"
                          "op { prefetch { range: \"buf\" } }\n"
                          "op { launch { range: \"buf\" queue: \"q0\" cus: 1 waves_per_cu: 4 accesses_per_wave: 100000 } }\n"
                          "op { sleep { ns: 1000 } }\n"
                          "op { preempt { queue: \"q0\" } }\n"
                          "op { restore { queue: \"q0\" } }\n"
                          "op { wait {} }\n",
                          {"--set", "soc.gpu.cp.unmap_hangs=true"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("waits for the command processor to preempt queue q0"), std::string::npos) << r.err;
}

TEST(Stall, TheEventBudgetStopsARunWithExit3) {
  const std::string ops =
      "op { mmap { name: \"buf\" size_bytes: 2097152 } }\n"
      "op { launch { range: \"buf\" cus: 1 waves_per_cu: 1 accesses_per_wave: 1000 } }\n"
      "op { wait {} }\n";
  const RunResult cut = run("budget_cut", ops, {"--set", "sim.max_events=500"});
  EXPECT_EQ(cut.status, 3) << cut.err;
  EXPECT_NE(cut.err.find("budget of 500 scheduler callbacks (sim.max_events)"), std::string::npos) << cut.err;
  const RunResult whole = run("budget_ok", ops, {"--set", "sim.max_events=100000000"});
  EXPECT_EQ(whole.status, 0) << whole.err;
}

TEST(Stall, HoldLockIsValidated) {
  const RunResult r = run("stall_bad", "op { hold_lock { lock: SVMS_LOCK shared: true } }\n", {});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("only mmap_lock can be taken shared"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fl::test
