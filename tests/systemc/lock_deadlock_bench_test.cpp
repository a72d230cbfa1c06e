// The wait-for graph (sim/core/waits.h) on a bench of two driver threads and two locks
// taken in opposite orders (the ABBA deadlock lockdep reports as a circular locking
// dependency): the second wait closes the cycle, and the run stops at that moment with a
// simulation error naming each thread, the lock it waits for, since when, and who holds
// it. A third thread waiting on one of the locks (a chain, not a cycle) is not reported
// by itself.
#include <gtest/gtest.h>
#include <systemc>

#include "driver-model/driver_thread.h"
#include "bench_host.h"
#include "hw/host_cpu.h"
#include "sim/core/errors.h"
#include "sim/core/sim_status.h"
#include "sim/core/time.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/waits.h"

namespace fl::driver {
namespace {

struct Bench : sc_core::sc_module {
  SC_HAS_PROCESS(Bench);
  explicit Bench(sc_core::sc_module_name n)
      : sc_module(n),
        a("lock_a", false),
        b("lock_b", true) {
    SC_THREAD(first);
    SC_THREAD(second);
    SC_THREAD(bystander);
  }
  BenchHost host;
  hw::HostCpu& cpu = host.cpu;
  hw::HostLock a, b;

  void first() {
    DriverThread t(cpu, hw::WorkClass::kWorker);
    LockGuard ga(t, a, false);
    sc_core::wait(from_ns(100));
    LockGuard gb(t, b, false);  // waits for `second`, which by then waits for `a`
  }
  void second() {
    DriverThread t(cpu, hw::WorkClass::kIoctl);
    LockGuard gb(t, b, true);
    sc_core::wait(from_ns(200));
    LockGuard ga(t, a, false);  // closes the cycle at 200 ns
  }
  void bystander() {
    DriverThread t(cpu, hw::WorkClass::kWorker);
    sc_core::wait(from_ns(50));
    // Waits for `a` (held by `first`): a chain into the cycle-to-be, not a cycle.
    LockGuard ga(t, a, false);
  }
};

TEST(WaitGraph, OppositeLockOrdersStopTheRunWithTheCyclePrinted) {
  Bench bench("bench");
  sc_core::sc_start(from_ns(10000));
  ASSERT_TRUE(run_error().has_value()) << "the deadlock was not reported";
  EXPECT_EQ(run_error()->exit_status, kExitSim);
  const std::string& m = run_error()->message;
  // Found when it closed (200 ns), not when the watchdog would have noticed.
  EXPECT_EQ(sc_core::sc_time_stamp(), from_ns(200)) << m;
  EXPECT_NE(m.find("deadlock at 200 ns"), std::string::npos) << m;
  EXPECT_NE(m.find("bench.second waits for lock bench.lock_a (now), held by\n"
                   "  bench.first waits for lock bench.lock_b (since 100 ns), held by\n"
                   "  bench.second"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("bench.bystander"), std::string::npos) << "a thread outside the cycle is in it: " << m;
  EXPECT_EQ(Waits::deadlocks(), 1u);
}

}  // namespace
}  // namespace fl::driver
