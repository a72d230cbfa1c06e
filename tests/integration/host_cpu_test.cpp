// The host CPU's per-core accounting and the driver's sleeping locks, end to end: a
// prefetch ioctl that holds the process's SVM lock across its migration makes a concurrent
// fault's lookup wait, and the wait shows in the lock's stats; per-core utilisations add
// up to the whole CPU's.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"

namespace fl::test {
namespace {

RunResult run(const std::string& ops) {
  const std::string d = temp_dir("hostcpu");
  return run_faultline({"run", "--quiet", "--workload", workload(d, ops)}, d + "/out");
}

const char* kFaults =
    "op { mmap { name: \"a\" size_bytes: 16777216 } }\n"
    "op { svm_alloc { name: \"b\" size_bytes: 8388608 } }\n"
    "op { launch { range: \"a\" cus: 8 waves_per_cu: 4 accesses_per_wave: 200 } }\n"
    "op { sleep { ns: 20000 } }\n";

TEST(HostLocks, FaultWaitsForTheSvmLockAPrefetchHolds) {
  const RunResult quiet = run(std::string(kFaults) + "op { wait {} }\n");
  ASSERT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_EQ(quiet.num("driver.svm.svms_lock.contended"), 0);
  EXPECT_EQ(quiet.hist("driver.svm.svms_lock.wait_ns", "max"), 0);

  const RunResult busy = run(std::string(kFaults) + "op { prefetch { range: \"b\" } }\nop { wait {} }\n");
  ASSERT_EQ(busy.status, 0) << busy.err;
  EXPECT_GE(busy.num("driver.svm.svms_lock.contended"), 1);
  // The fault waited for the prefetch's migration of 8 MiB, far longer than a wake-up.
  EXPECT_GT(busy.hist("driver.svm.svms_lock.wait_ns", "max"), 10 * busy.config.soc().host().cpu().lock_wakeup_ns());
  // The prefetch takes mmap_lock for writing (then downgrades it), so it first waits for the
  // fault in service, which holds it for reading.
  EXPECT_GE(busy.num("driver.svm.mmap_lock.contended"), 1);
}

TEST(HostCpuCores, PerCoreUtilisationAddsUpToTheWhole) {
  const RunResult r = run(std::string(kFaults) + "op { prefetch { range: \"b\" } }\nop { wait {} }\n");
  ASSERT_EQ(r.status, 0) << r.err;
  const uint32_t cores = r.config.soc().host().cpu().cores();
  double sum = 0;
  for (uint32_t c = 0; c < cores; ++c) sum += r.num("soc.host.cpu.core" + std::to_string(c) + "_utilisation");
  EXPECT_NEAR(sum / cores, r.num("soc.host.cpu.utilisation"), 1e-9);
  EXPECT_GT(r.num("soc.host.cpu.core0_utilisation"), 0);
}

// The same run on the copy engines: the fault's page-table update is submitted while SDMA0
// still has the prefetch's jobs outstanding, so it goes to the idle SDMA1; with one engine
// everything queues on SDMA0.
TEST(SdmaEngines, PageTableUpdateTakesTheLeastBusyEngine) {
  // The workload's 64 MiB copy keeps SDMA0 busy while the kernel's faults, which map system
  // memory in place (no migration, which would queue on SDMA0), update PTEs.
  const std::string ops =
      "op { mmap { name: \"a\" size_bytes: 16777216 } }\n"
      "op { set_attr { range: \"a\" preferred_loc: SYSMEM } }\n"
      "op { launch { range: \"a\" cus: 8 waves_per_cu: 4 accesses_per_wave: 200 } }\n"
      "op { sleep { ns: 20000 } }\n"
      "op { dma_copy { direction: H2D bytes: 67108864 } }\nop { wait {} }\n";
  const RunResult two = run(ops);
  ASSERT_EQ(two.status, 0) << two.err;
  EXPECT_GE(two.num("driver.sdma1.jobs"), 1);
  EXPECT_EQ(two.num("driver.sdma1.jobs"), two.num("driver.sdma1.traps"));
  EXPECT_GT(two.num("soc.gpu.sdma1.write_bytes"), 0);
  EXPECT_EQ(two.num("soc.gpu.sdma1.copy_bytes"), 0);  // buffer moves stay on SDMA0
  const std::string d = temp_dir("hostcpu");
  const RunResult one = run_faultline({"run", "--quiet", "--workload", workload(d, ops), "--set", "soc.gpu.sdma.engines=1"}, d + "/out");
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_FALSE(one.has("driver.sdma1.jobs"));
  EXPECT_EQ(one.num("driver.sdma.jobs"), two.num("driver.sdma.jobs") + two.num("driver.sdma1.jobs"));
}

}  // namespace
}  // namespace fl::test
