// The copy engine on a bench: its memory port on one Memory (standing for VRAM and host
// memory: addresses are disjoint), its interrupts into a recording sink, its doorbell
// written by a bench initiator. Every packet type's data lands where it should, and a lone
// COPY_LINEAR and a POLL_REGMEM take the time the config implies. A second engine (SDMA1)
// has its own ring and doorbell window and raises its traps as IH client SDMA1.
#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>
#include <systemc>

#include "hw/copy_engine.h"
#include "hw/gpu_regs.h"
#include "hw/memory.h"
#include "sim/core/interrupt.h"
#include "sim/core/stats.h"
#include "sim/core/time.h"

namespace fl::hw {
namespace {

constexpr uint64_t kRing = 0x100000;
constexpr uint32_t kRingBytes = 65536;
constexpr double kMemLatencyNs = 100;
constexpr double kMemGbPerS = 64;
constexpr uint32_t kMemAccess = 64;
constexpr double kClockMhz = 1000;  // 1 ns a cycle

struct Bench : sc_core::sc_module {
  SC_HAS_PROCESS(Bench);
  explicit Bench(sc_core::sc_module_name n, const config::CopyEngine& cfg)
      : sc_module(n),
        clock(kClockMhz),
        mem("mem", MemoryParams{1ULL << 32, kMemLatencyNs, kMemGbPerS, kMemAccess}),
        sdma("sdma", cfg, clock),
        sdma1("sdma1", cfg, clock, 1),
        irq_sink("irq_sink", [this](Payload& gp) {
          traps.push_back(gp.get_extension<InterruptExt>()->src_data[0]);
          trap_clients.push_back(gp.get_extension<InterruptExt>()->client_id);
          trap_ps.push_back(now_ps());
          gp.set_response_status(tlm::TLM_OK_RESPONSE);
          irq_sink.respond(gp);
        }),
        irq_sink1("irq_sink1", [this](Payload& gp) {
          traps1.push_back(gp.get_extension<InterruptExt>()->client_id);
          gp.set_response_status(tlm::TLM_OK_RESPONSE);
          irq_sink1.respond(gp);
        }),
        cpu("cpu", [](Payload& gp) { gp.release(); }),
        cpu1("cpu1", [](Payload& gp) { gp.release(); }),
        mem1("mem1", MemoryParams{1ULL << 32, kMemLatencyNs, kMemGbPerS, kMemAccess}) {
    sdma.mem.socket.bind(mem.port.socket);
    sdma.ih_out.socket.bind(irq_sink.socket);
    cpu.socket.bind(sdma.regs.port.socket);
    sdma.program_ring(kRing, kRingBytes);
    sdma1.mem.socket.bind(mem1.port.socket);
    sdma1.ih_out.socket.bind(irq_sink1.socket);
    cpu1.socket.bind(sdma1.regs.port.socket);
    sdma1.program_ring(kRing, kRingBytes);
    SC_THREAD(run);
  }

  void doorbell(uint32_t wptr, uint32_t engine = 0) {
    Txn& t = pool.acquire();
    t.setup(tlm::TLM_WRITE_COMMAND, regs::sdma_doorbell(engine), 4);
    std::memcpy(t.buffer(), &wptr, 4);
    (engine == 0 ? cpu : cpu1).send(t);
  }
  uint32_t read32(uint64_t a) {
    uint32_t v = 0;
    mem.storage().read(a, &v, 4);
    return v;
  }
  void wait_idle() {
    do sc_core::wait(sc_core::sc_time(10, sc_core::SC_NS));
    while (!sdma.idle());
  }

  void run();

  Clock clock;
  Memory mem;
  CopyEngine sdma;
  CopyEngine sdma1;
  AtTargetPort irq_sink;
  AtTargetPort irq_sink1;
  AtInitiatorPort cpu;
  AtInitiatorPort cpu1;
  Memory mem1;
  std::vector<uint8_t> trap_clients;
  std::vector<uint8_t> traps1;
  TxnPool pool;
  std::vector<uint32_t> traps;
  std::vector<uint64_t> trap_ps;
  uint64_t copy_start_ps = 0;
  uint64_t flag_set_ps = 0;
  uint64_t poll_done_ps = 0;
};

constexpr uint64_t kSrc = 0x10000000, kDst = 0x20000000, kWrite = 0x30000000, kPte = 0x40000000,
                   kFence = 0x50000000, kFlag = 0x60000000, kFence2 = 0x70000000;
constexpr uint32_t kCopyBytes = 8192;

void Bench::run() {
  std::vector<uint8_t> src(kCopyBytes);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 7 + 3);
  mem.storage().write(kSrc, src.data(), src.size());

  // Phase 1: one job of every data-moving packet, then FENCE and TRAP.
  std::vector<SdmaPacket> job;
  job.push_back(SdmaPacket::write(kWrite, false, {1, 2, 3, 4, 5, 6, 7, 8}));
  job.push_back(SdmaPacket::pte_pde(kPte, 0x200000, 0x3, 0x1000, 4));
  job.push_back(SdmaPacket::copy(kSrc, true, kDst, false, kCopyBytes));
  job.push_back(SdmaPacket::fence(kFence, true, 41));
  job.push_back(SdmaPacket::trap(7));
  doorbell(sdma.write_ring(std::move(job)));
  wait_idle();

  // Phase 2: POLL_REGMEM waits for a flag another agent sets 5 us later; the fence after
  // it must land after the flag.
  std::vector<SdmaPacket> poll;
  poll.push_back(SdmaPacket::poll_regmem(kFlag, true, 0xabc, 0xfff));
  poll.push_back(SdmaPacket::fence(kFence2, true, 42));
  doorbell(sdma.write_ring(std::move(poll)));
  sc_core::wait(sc_core::sc_time(5, sc_core::SC_US));
  const uint32_t flag = 0x12345abc;  // matches under the mask
  mem.storage().write(kFlag, &flag, 4);
  flag_set_ps = now_ps();
  while (read32(kFence2) != 42) sc_core::wait(sc_core::sc_time(1, sc_core::SC_NS));
  poll_done_ps = now_ps();
  wait_idle();

  // Phase 3: SDMA1. SDMA0's doorbell address does not reach it; its own does.
  std::vector<SdmaPacket> one;
  one.push_back(SdmaPacket::fence(kFence, true, 77));
  one.push_back(SdmaPacket::trap(9));
  doorbell(sdma1.write_ring(std::move(one)), 1);
  do sc_core::wait(sc_core::sc_time(10, sc_core::SC_NS));
  while (!sdma1.idle());
  sc_core::sc_stop();
}

const stats::Stat* find_stat(const std::string& name) {
  for (const auto& s : stats::collect()) {
    if (s.name == name) return s.stat;
  }
  return nullptr;
}

TEST(SdmaBench, PacketsLandWhereTheyShouldInTheTimeTheConfigImplies) {
  config::CopyEngine cfg;  // the declared defaults
  Bench b("bench", cfg);
  sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_MS));

  // WRITE
  uint8_t w[8];
  b.mem.storage().read(kWrite, w, 8);
  EXPECT_EQ(std::vector<uint8_t>(w, w + 8), (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  // PTEPDE: addr + i * incr | flags
  for (uint64_t i = 0; i < 4; ++i) {
    uint64_t pte = 0;
    b.mem.storage().read(kPte + i * 8, &pte, 8);
    EXPECT_EQ(pte, (0x200000 + i * 0x1000) | 0x3) << i;
  }
  uint64_t past = 0;
  b.mem.storage().read(kPte + 32, &past, 8);
  EXPECT_EQ(past, 0u);  // nothing beyond count
  // COPY_LINEAR
  std::vector<uint8_t> dst(kCopyBytes), src(kCopyBytes);
  b.mem.storage().read(kDst, dst.data(), dst.size());
  b.mem.storage().read(kSrc, src.data(), src.size());
  EXPECT_EQ(dst, src);
  // FENCE and TRAP
  EXPECT_EQ(b.read32(kFence), 41u);
  ASSERT_EQ(b.traps.size(), 1u);
  EXPECT_EQ(b.traps[0], 7u);

  // Timing of the copy, alone on an idle memory: packet overhead, then its bursts
  // (burst_bytes each) read and written. With 8 KiB and 4 KiB bursts, both reads queue at
  // the memory back to back; each write follows its read's response.
  const double cyc = 1.0;  // ns at 1000 MHz
  const double overhead = cfg.packet_overhead_cycles() * cyc;
  const double svc = cfg.burst_bytes() / kMemGbPerS;  // one burst's occupancy, ns
  // read0 [0, svc] resp svc+L; read1 [svc, 2svc] resp 2svc+L; write0 arrives svc+L, served
  // after read1 (2svc <= svc+L here), done svc+L+svc+L; write1 arrives 2svc+L, starts when
  // write0's service ends (2svc+L), done 3svc+2L.
  ASSERT_LE(2 * svc, svc + kMemLatencyNs);
  const double expect_copy = overhead + 3 * svc + 2 * kMemLatencyNs;
  const auto* copy_ns = dynamic_cast<const stats::Histogram*>(find_stat("bench.sdma.copy_ns"));
  ASSERT_NE(copy_ns, nullptr);
  ASSERT_EQ(copy_ns->count(), 1u);
  EXPECT_NEAR(copy_ns->max(), expect_copy, 0.001);

  // POLL_REGMEM: it matched only after the flag was set, within one poll interval plus one
  // read and the fence write.
  const auto* polls = dynamic_cast<const stats::Counter*>(find_stat("bench.sdma.poll_reads"));
  ASSERT_NE(polls, nullptr);
  EXPECT_GT(polls->value(), 2u);
  EXPECT_GT(b.poll_done_ps, b.flag_set_ps);
  const double bound_ns = cfg.poll_interval_cycles() * cyc + 2 * (kMemAccess / kMemGbPerS + kMemLatencyNs) + overhead + 2;
  EXPECT_LE(static_cast<double>(b.poll_done_ps - b.flag_set_ps) / 1000.0, bound_ns);

  // SDMA0's traps carry client SDMA0 (0x08); SDMA1's fence landed in its memory and its
  // trap carries client SDMA1 (0x09, soc15_ih_clientid.h).
  ASSERT_EQ(b.trap_clients.size(), 1u);
  EXPECT_EQ(b.trap_clients[0], 0x08);
  uint32_t f1 = 0;
  b.mem1.storage().read(kFence, &f1, 4);
  EXPECT_EQ(f1, 77u);
  ASSERT_EQ(b.traps1.size(), 1u);
  EXPECT_EQ(b.traps1[0], 0x09);
}

}  // namespace
}  // namespace fl::hw
