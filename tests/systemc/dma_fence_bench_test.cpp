// dma-fences and reservations (driver-model/dma_fence.h) on a bench, in one run of the
// kernel: a fence wakes its waiter when signalled (dma_fence_signal) and records when; a
// reservation's fences follow dma_resv_add_fence's replacement rule and its waits cover
// the usage asked for (dma_resv_wait_timeout); and the deadlock of seed 001: a fault
// worker that, in reclaim, waits for a fence of a queue whose work needs that worker's
// fault service closes a cycle, which stops the run at once with the cycle printed, and the
// fence answers "may deadlock" beforehand (the query proposed there).
#include <gtest/gtest.h>
#include <systemc>

#include "driver-model/dma_fence.h"
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

// A retry fault pending on a queue: serviced by whichever thread took it.
struct PendingFault : WaitResource {
  const sc_core::sc_process_b* servicer = nullptr;
  std::string wait_label() const override { return "the service of a retry fault of queue q0"; }
  const char* owner_relation() const override { return "taken by"; }
  void wait_owners(std::vector<const sc_core::sc_process_b*>& p, std::vector<const WaitResource*>&) const override {
    if (servicer != nullptr) p.push_back(servicer);
  }
};

struct Bench : sc_core::sc_module {
  SC_HAS_PROCESS(Bench);
  explicit Bench(sc_core::sc_module_name n)
      : sc_module(n) {
    SC_THREAD(waiter);
    SC_THREAD(signaller);
    SC_THREAD(reservations);
    SC_THREAD(fault_worker);
  }
  BenchHost host;
  hw::HostCpu& cpu = host.cpu;
  FenceContext sdma{"sdma0"};
  FenceContext queue{"queue q0"};
  std::shared_ptr<DmaFence> f1 = DmaFence::create(sdma);
  uint64_t woke_ps = 0;
  bool twice_threw = false;
  // Reservation results.
  bool read_idle_before = true, write_idle = false, read_idle_after = false;
  size_t kept = 0, pending_write = 0;
  uint64_t resv_wait_done_ps = 0;
  // The deadlock.
  PendingFault fault;
  // Owned here, not by the blocked worker's stack, which never unwinds once the run stops.
  std::shared_ptr<DmaFence> f2;
  bool may_deadlock_before = false, may_deadlock_plain = true;

  void waiter() {
    DriverThread t(cpu, hw::WorkClass::kWorker);
    f1->wait(t, 5);
    woke_ps = now_ps();
  }
  void signaller() {
    sc_core::wait(from_ns(100));
    f1->signal();
    try {
      f1->signal();
    } catch (const std::logic_error&) {
      twice_threw = true;
    }
  }
  void reservations() {
    DriverThread t(cpu, hw::WorkClass::kIoctl);
    sc_core::wait(from_ns(150));
    DmaResv resv("bo.resv");
    FenceContext gfx("gfx");
    auto w1 = DmaFence::create(sdma), w2 = DmaFence::create(sdma), r1 = DmaFence::create(gfx);
    resv.add_fence(w1, DmaResvUsage::kWrite);
    resv.add_fence(r1, DmaResvUsage::kRead);
    resv.add_fence(w2, DmaResvUsage::kWrite);  // a later fence of sdma0: replaces w1
    kept = resv.pending(DmaResvUsage::kBookkeep).size();
    pending_write = resv.pending(DmaResvUsage::kWrite).size();
    read_idle_before = resv.test_signaled(DmaResvUsage::kRead);
    r1->signal();
    write_idle = resv.test_signaled(DmaResvUsage::kWrite);  // w2 still pending: false
    sc_core::sc_spawn([w2] {
      sc_core::wait(from_ns(50));
      w2->signal();
    });
    resv.wait(t, DmaResvUsage::kWrite, 0);
    resv_wait_done_ps = now_ps();
    read_idle_after = resv.test_signaled(DmaResvUsage::kRead);
  }
  void fault_worker() {
    DriverThread t(cpu, hw::WorkClass::kWorker);
    sc_core::wait(from_ns(300));
    f2 = DmaFence::create(queue);
    may_deadlock_plain = f2->may_deadlock();
    // The worker takes q0's retry fault; until it is serviced the queue's work cannot end
    // (no preemption with a fault pending), so neither can its fences.
    fault.servicer = sc_core::sc_get_current_process_b();
    queue.add_dependency(&fault);
    may_deadlock_before = f2->may_deadlock();
    // Servicing needs memory: direct reclaim, and the shrinker waits for q0's fence.
    f2->wait(t, 0);
  }
};

TEST(DmaFence, SignalWaitReservationsAndTheSeed001Deadlock) {
  Bench b("bench");
  sc_core::sc_start(from_ns(10000));
  // dma_fence_signal at 100 ns; the waiter resumes after its 5 ns wake-up.
  EXPECT_TRUE(b.f1->signaled());
  EXPECT_EQ(b.f1->signal_ps(), 100000u);
  EXPECT_EQ(b.woke_ps, 105000u);
  EXPECT_TRUE(b.twice_threw);
  // dma_resv_add_fence replaced w1 by w2 (same context, same usage): two fences left.
  EXPECT_EQ(b.kept, 2u);
  EXPECT_EQ(b.pending_write, 1u);
  EXPECT_FALSE(b.read_idle_before);
  EXPECT_FALSE(b.write_idle);
  EXPECT_EQ(b.resv_wait_done_ps, 200000u);  // w2 signalled 50 ns after 150 ns
  EXPECT_TRUE(b.read_idle_after);
  // Seed 001: the fence says it may deadlock once its queue's work needs a fault serviced.
  EXPECT_FALSE(b.may_deadlock_plain);
  EXPECT_TRUE(b.may_deadlock_before);
  ASSERT_TRUE(run_error().has_value());
  EXPECT_EQ(run_error()->exit_status, kExitSim);
  const std::string& m = run_error()->message;
  EXPECT_EQ(sc_core::sc_time_stamp(), from_ns(300)) << m;
  EXPECT_NE(m.find("deadlock at 300 ns"), std::string::npos) << m;
  EXPECT_NE(m.find("bench.fault_worker waits for fence queue q0#1 (now), signalled by the work of queue q0, which "
                   "needs the service of a retry fault of queue q0, taken by\n  bench.fault_worker"),
            std::string::npos)
      << m;
  EXPECT_EQ(Waits::deadlocks(), 1u);
}

}  // namespace
}  // namespace fl::driver
