// The batched fault service (driver-model/fault_service.h) on a bench: a fake IH1 ring the
// test fills, and a fake fault handler that records the groups it is given and can post
// new faults while it "services" one, as GPU waves keep faulting during a batch.
#include <deque>
#include <vector>

#include <gtest/gtest.h>
#include <systemc>

#include "driver-model/fault_service.h"
#include "driver-model/irq.h"
#include "hw/host_cpu.h"
#include "mmu/fault_report.h"
#include "sim/core/tlm_ports.h"

namespace fl::driver {
namespace {

constexpr uint64_t k2M = 2ULL << 20;

FetchedFault fault(uint64_t va, bool write = false, uint16_t pasid = 0x8000, uint64_t report = 0) {
  FetchedFault f;
  f.entry.client_id = ih_client::kUtcl2;
  f.entry.src_id = ih_src::kUtcl2Fault;
  f.entry.pasid = pasid;
  f.entry.vmid = 8;
  f.entry.src_data = mmu::encode_fault(va, /*retry=*/true, write);
  f.report = report;
  return f;
}

struct Ring : FaultRing {
  std::deque<FetchedFault> announced;
  std::vector<uint64_t> replays_after_group;  // groups serviced when each replay was written
  std::vector<FetchedFault> flushed, duplicates;
  uint64_t groups_serviced = 0;
  uint64_t rptr_writes = 0;
  uint64_t available() const override { return announced.size(); }
  void refresh(DriverThread&) override {}
  std::optional<FetchedFault> read(DriverThread& t) override {
    t.compute_ns(100);
    FetchedFault f = announced.front();
    announced.pop_front();
    return f;
  }
  void write_rptr(DriverThread&) override { ++rptr_writes; }
  void handle_one(DriverThread&, const FetchedFault&) override { ADD_FAILURE() << "per-entry path used"; }
  void ack(DriverThread&, const hw::IhEntry&) override {}
  void replay(DriverThread&) override { replays_after_group.push_back(groups_serviced); }
  void replay_after(double) override {}
  void outcome(const FetchedFault& f, Outcome o) override {
    (o == Outcome::kDuplicate ? duplicates : flushed).push_back(f);
  }
  void handler_start(const FetchedFault&) override {}
};

struct Handler : FaultHandler {
  Ring* ring = nullptr;
  std::vector<std::vector<RetryFault>> groups;
  std::vector<FetchedFault> arrive_during_first;  // posted while the first group is served
  FaultResult handle_retry_fault(DriverThread&, const RetryFault&) override { return FaultResult::kHandled; }
  void handle_fault_group(DriverThread& t, const std::vector<RetryFault>& faults) override {
    groups.push_back(faults);
    if (groups.size() == 1) {
      for (const FetchedFault& f : arrive_during_first) ring->announced.push_back(f);
    }
    t.compute_ns(1000);
    ++ring->groups_serviced;
  }
};

struct Bench : sc_core::sc_module {
  SC_HAS_PROCESS(Bench);
  explicit Bench(sc_core::sc_module_name n)
      : sc_module(n),
        cpu("cpu", config::HostCpu::default_instance()),
        bus("bus", [](Payload& gp) { gp.release(); }) {
    cpu.mmio.socket.bind(bus.socket);
    SC_THREAD(run);
  }
  void run();
  hw::HostCpu cpu;
  AtTargetPort bus;
};

config::IrqHandling batched(config::IrqHandling::ReplayPolicy policy, uint32_t max_entries = 256) {
  config::IrqHandling c;
  c.set_fault_service(config::IrqHandling::BATCHED);
  c.set_replay_policy(policy);
  c.set_batch_max_entries(max_entries);
  return c;
}

uint64_t page(const RetryFault& f) { return f.page_addr; }

void Bench::run() {
  using P = config::IrqHandling;
  const uint64_t base = 0x7f0000000000ULL;
  {
    SCOPED_TRACE("duplicates in a batch are serviced once; a block's faults form one group");
    Ring ring;
    Handler h;
    h.ring = &ring;
    stats::Group g("bench.a");
    BatchStats st(g);
    BatchedService s(batched(P::AFTER_BATCH), h, st);
    // Two blocks: three distinct pages in block 0 (one faulted three times, once as a
    // write), one page in block 1, posted out of order.
    ring.announced = {fault(base + 0x3000), fault(base + k2M + 0x1000), fault(base + 0x1000),
                      fault(base + 0x3000, true), fault(base + 0x3000), fault(base + 0x2000)};
    DriverThread t(cpu, hw::WorkClass::kWorker);
    s.drain(t, ring);
    ASSERT_EQ(h.groups.size(), 2u);
    ASSERT_EQ(h.groups[0].size(), 3u);
    EXPECT_EQ(page(h.groups[0][0]), base + 0x1000);  // sorted by address
    EXPECT_EQ(page(h.groups[0][1]), base + 0x2000);
    EXPECT_EQ(page(h.groups[0][2]), base + 0x3000);
    EXPECT_TRUE(h.groups[0][2].write) << "a write duplicate makes the kept fault a write";
    ASSERT_EQ(h.groups[1].size(), 1u);
    EXPECT_EQ(page(h.groups[1][0]), base + k2M + 0x1000);
    EXPECT_EQ(ring.duplicates.size(), 2u);
    EXPECT_EQ(ring.replays_after_group, (std::vector<uint64_t>{2})) << "one replay, after the batch";
    t.release();
  }
  {
    SCOPED_TRACE("the batch size limit is honoured; each batch replays once");
    Ring ring;
    Handler h;
    h.ring = &ring;
    stats::Group g("bench.b");
    BatchStats st(g);
    BatchedService s(batched(P::AFTER_BATCH, 4), h, st);
    for (uint64_t i = 0; i < 10; ++i) ring.announced.push_back(fault(base + i * k2M));
    DriverThread t(cpu, hw::WorkClass::kWorker);
    s.drain(t, ring);
    ASSERT_EQ(h.groups.size(), 10u);
    // Batches of 4, 4 and 2 entries: a replay after the 4th, 8th and 10th group.
    EXPECT_EQ(ring.replays_after_group, (std::vector<uint64_t>{4, 8, 10}));
    EXPECT_EQ(ring.rptr_writes, 3u);
    t.release();
  }
  {
    SCOPED_TRACE("a fault arriving during service goes to the next batch");
    Ring ring;
    Handler h;
    h.ring = &ring;
    stats::Group g("bench.c");
    BatchStats st(g);
    BatchedService s(batched(P::AFTER_BATCH), h, st);
    ring.announced = {fault(base), fault(base + k2M)};
    // Arrives while the first group is served: same block as the first fault, new page.
    h.arrive_during_first = {fault(base + 0x5000)};
    DriverThread t(cpu, hw::WorkClass::kWorker);
    s.drain(t, ring);
    ASSERT_EQ(h.groups.size(), 3u);
    EXPECT_EQ(h.groups[0].size(), 1u) << "not merged into the group being served";
    EXPECT_EQ(page(h.groups[2][0]), base + 0x5000);
    EXPECT_EQ(ring.replays_after_group, (std::vector<uint64_t>{2, 3})) << "serviced by a second batch";
    t.release();
  }
  {
    SCOPED_TRACE("AFTER_BATCH_FLUSH drops what arrived during the batch, then replays");
    Ring ring;
    Handler h;
    h.ring = &ring;
    stats::Group g("bench.d");
    BatchStats st(g);
    BatchedService s(batched(P::AFTER_BATCH_FLUSH), h, st);
    ring.announced = {fault(base)};
    h.arrive_during_first = {fault(base + 0x5000), fault(base + 0x6000)};
    DriverThread t(cpu, hw::WorkClass::kWorker);
    s.drain(t, ring);
    EXPECT_EQ(h.groups.size(), 1u);
    EXPECT_EQ(ring.flushed.size(), 2u);
    EXPECT_EQ(ring.replays_after_group, (std::vector<uint64_t>{1}));
    t.release();
  }
  {
    SCOPED_TRACE("AFTER_BLOCK replays after each group; ONCE after the last batch");
    for (const auto policy : {P::AFTER_BLOCK, P::ONCE}) {
      Ring ring;
      Handler h;
      h.ring = &ring;
      stats::Group g(policy == P::ONCE ? "bench.f" : "bench.e");
      BatchStats st(g);
      BatchedService s(batched(policy, 2), h, st);
      for (uint64_t i = 0; i < 3; ++i) ring.announced.push_back(fault(base + i * k2M));
      DriverThread t(cpu, hw::WorkClass::kWorker);
      s.drain(t, ring);
      const std::vector<uint64_t> want = policy == P::ONCE ? std::vector<uint64_t>{3} : std::vector<uint64_t>{1, 2, 3};
      EXPECT_EQ(ring.replays_after_group, want);
      t.release();
    }
  }
  {
    SCOPED_TRACE("faults of different PASIDs in one block are separate groups");
    std::vector<FetchedFault> b = {fault(base, false, 0x8001), fault(base + 0x1000, false, 0x8000)};
    const BatchPlan plan = plan_batch(b);
    ASSERT_EQ(plan.groups.size(), 2u);
    EXPECT_EQ(plan.groups[0], (std::vector<size_t>{1}));  // PASID 0x8000 sorts first
    EXPECT_TRUE(plan.duplicates.empty());
  }
  sc_core::sc_stop();
}

TEST(FaultServiceBench, BatchedServiceSteps) {
  Bench bench("bench");
  sc_core::sc_start();
}

}  // namespace
}  // namespace fl::driver
