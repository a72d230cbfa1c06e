// The timed translation hierarchy (UTCL1 -> UTCL2 -> page walker -> page-table memory)
// under SystemC: translations agree with a reference map before and after remapping and
// invalidation; an invalidation racing a walk never leaves a stale translation; no-retry
// faults are fatal and retry faults are NACKed; a heavyweight flush waits for walks in
// flight. Each test elaborates and simulates in a forked child process, because a SystemC
// kernel simulates once per process.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <systemc>

#include "hw/gpu_regs.h"
#include "hw/memory.h"
#include "mmu/page_table.h"
#include "mmu/utcl1.h"
#include "mmu/utcl2.h"
#include "sim/core/interrupt.h"
#include "mmu/fault_report.h"
#include "sim/core/stats.h"
#include "sim/core/txn.h"
#include "tests/support/unit_support.h"

namespace {

using namespace fl;
using namespace fl::mmu;
using fl::test::in_child;
namespace regs = fl::hw::regs;

constexpr uint64_t k4K = 4096;
constexpr uint64_t k64K = 64 * 1024;
constexpr uint64_t k2M = 2ULL << 20;
constexpr uint8_t kVmid = 8;
constexpr uint64_t kFlags = pte::kValid | pte::kReadable | pte::kWriteable;

// Records the fault interrupts UTCL2 raises.
struct IhSink : sc_core::sc_module {
  explicit IhSink(sc_core::sc_module_name n)
      : sc_module(n), port("port", [this](Payload& gp) {
          faults.push_back(gp.get_extension<InterruptExt>()->src_data);
          port.respond(gp);
        }) {}
  AtTargetPort port;
  std::vector<SrcData> faults;
};

struct Answer {
  TranslationExt::Status status;
  uint64_t pa;
  uint64_t at_ps;
};

// UTCL1 + UTCL2 + walker over a page-table memory, with a functional page-table builder.
struct Rig : sc_core::sc_module {
  Rig(sc_core::sc_module_name n, double mem_latency_ns, bool retry = true,
      const config::Utcl1& l1 = config::Utcl1(), const config::Utcl2& l2 = config::Utcl2(),
      const config::PageWalker& w = config::PageWalker())
      : sc_module(n),
        clock(1000.0),
        walker("walker", w, clock),
        utcl2("utcl2", l2, clock, walker, nullptr, 1),
        utcl1("utcl1", l1, clock, 4, 1),
        mem("mem", hw::MemoryParams{1ULL << 40, mem_latency_ns, 100.0, 64}),
        sink("sink"),
        regs_bus("regs_bus", [](Payload&) {}),
        builder(false, 31, [this] {
          const uint64_t a = next_table;
          next_table += kTableBytes;
          mem.storage().fill(a, 0, kTableBytes);
          return a;
        }) {
    walker.mem.socket.bind(mem.port.socket);
    regs_bus.socket.bind(utcl2.regs.port.socket);  // registers are written directly here
    utcl1.l2_out.socket.bind(utcl2.in.socket);
    utcl2.ih_out.socket.bind(sink.port.socket);
    utcl2.add_invalidation_target(&utcl1);
    utcl1.set_responder([this](Payload& gp, const sc_core::sc_time& d) {
      const auto& tr = *gp.get_extension<TranslationExt>();
      answers[&gp] = Answer{tr.status, tr.pa, now_ps() + d.value()};
      answered.notify(d);
    });
    uint32_t cntl = regs::kVmCntlEnable | (3u << regs::kVmCntlDepthShift);
    if (retry) cntl |= regs::kVmCntlRetryFault;
    utcl2.write_register(regs::kVmContextCntl + 4 * kVmid, cntl);
    utcl2.write_register(regs::kVmContextPtBaseLo + 8 * kVmid, static_cast<uint32_t>(builder.root_pde()));
    utcl2.write_register(regs::kVmContextPtBaseHi + 8 * kVmid, static_cast<uint32_t>(builder.root_pde() >> 32));
    utcl2.write_register(regs::kAtcVmidPasidMapping + 4 * kVmid, regs::kAtcPasidValid | 0x8000);
  }

  void apply(const std::vector<PtWrite>& ws) {
    apply_writes(ws, [this](uint64_t a, uint64_t v) { mem.storage().write64(a, v); });
  }
  void map(uint64_t va, uint64_t pa, uint64_t bytes) {
    std::vector<PtWrite> ws;
    builder.map(va, pa, bytes / k4K, kFlags, ws);
    apply(ws);
  }
  void unmap(uint64_t va, uint64_t bytes) {
    std::vector<PtWrite> ws;
    builder.unmap(va, bytes / k4K, ws);
    apply(ws);
  }
  // From a thread: translate and wait for the answer.
  Answer translate(uint64_t va, bool write = false, uint32_t cu = 0) {
    Txn& t = pool.acquire();
    t.setup_timing_only(tlm::TLM_IGNORE_COMMAND, va, 0);
    auto& tr = t.ensure<TranslationExt>();
    tr = TranslationExt{};
    tr.vmid = kVmid;
    tr.write = write;
    utcl1.translate(cu, t);
    while (answers.count(&t) == 0 || answers[&t].at_ps > now_ps()) sc_core::wait(answered);
    const Answer a = answers[&t];
    answers.erase(&t);
    t.release();
    return a;
  }
  // From a thread: an invalidation request, polled until acknowledged; returns the ACK time.
  uint64_t flush(uint32_t type, bool range = false, uint64_t first_page = 0, uint64_t last_page = 0) {
    if (range) {
      utcl2.write_register(regs::kVmInvalidateEng17RangeStartLo, static_cast<uint32_t>(first_page));
      utcl2.write_register(regs::kVmInvalidateEng17RangeStartHi, static_cast<uint32_t>(first_page >> 32));
      utcl2.write_register(regs::kVmInvalidateEng17RangeEndLo, static_cast<uint32_t>(last_page));
      utcl2.write_register(regs::kVmInvalidateEng17RangeEndHi, static_cast<uint32_t>(last_page >> 32));
    }
    utcl2.write_register(regs::kVmInvalidateEng17Req, (1u << kVmid) | (type << regs::kInvReqFlushTypeShift) |
                                                          regs::kInvReqAllCaches | (range ? regs::kInvReqRange : 0));
    while (((utcl2.read_register(regs::kVmInvalidateEng17Ack) >> kVmid) & 1) == 0) {
      sc_core::wait(sc_core::sc_time(1, sc_core::SC_NS));
    }
    return now_ps();
  }

  Clock clock;
  PageWalker walker;
  Utcl2 utcl2;
  Utcl1 utcl1;
  hw::Memory mem;
  IhSink sink;
  AtInitiatorPort regs_bus;
  uint64_t next_table = 1ULL << 36;
  PageTableBuilder builder;
  TxnPool pool;
  std::map<Payload*, Answer> answers;
  sc_core::sc_event answered;
};

double stat(const std::string& name) {
  for (const auto& n : stats::collect()) {
    if (n.name == name) {
      if (const auto* c = dynamic_cast<const stats::Counter*>(n.stat)) return static_cast<double>(c->value());
    }
  }
  return -1;
}

// Runs `body` as a SystemC thread of a rig built by `make`, then simulates to the end.
template <typename Make>
std::string simulate(Make make, std::function<void(Rig&, std::ostringstream&)> body) {
  return in_child([&] {
    std::ostringstream out;
    std::unique_ptr<Rig> rig = make();
    Rig* r = rig.get();
    sc_core::sc_spawn([r, &out, &body] { body(*r, out); }, "test_thread");
    sc_core::sc_start();
    return out.str();
  });
}

}  // namespace

// Acceptance 2 (timed): random ranges of mixed page and fragment sizes, translated through
// UTCL1/UTCL2/walker, agree with a reference map before and after remapping with
// invalidation (full-VMID and range).
TEST(TranslationSim, RandomRangesAgreeWithReferenceBeforeAndAfterInvalidation) {
  const std::string fail = simulate([] { return std::make_unique<Rig>("rig", 50.0); },
                                    [](Rig& r, std::ostringstream& out) {
    Rng rng(3, 4);
    struct Range { uint64_t va, bytes, pa; };
    std::vector<Range> ranges;
    uint64_t va = 1ULL << 32;
    uint64_t pa = 1ULL << 34;
    const uint64_t sizes[] = {k4K, 2 * k4K, k64K, 3 * k64K, k2M, 2 * k2M};
    for (int i = 0; i < 2000; ++i) {
      const uint64_t bytes = sizes[rng.below(6)];
      const uint64_t align = bytes >= k2M ? k2M : bytes >= k64K ? k64K : k4K;
      va = (va + align - 1) / align * align;
      pa = (pa + align - 1) / align * align;
      ranges.push_back({va, bytes, pa});
      r.map(va, pa, bytes);
      va += bytes + k4K * rng.below(2);
      pa += bytes + k4K * rng.below(2);
    }
    const auto check = [&](const char* when, int n) {
      int bad = 0;
      for (int i = 0; i < n && bad < 5; ++i) {
        const Range& g = ranges[rng.below(ranges.size())];
        const uint64_t off = rng.below(g.bytes);
        const Answer a = r.translate(g.va + off, rng.below(4) == 0, static_cast<uint32_t>(rng.below(4)));
        if (a.status != TranslationExt::Status::kOk || a.pa != g.pa + off) {
          ++bad;
          out << when << ": va 0x" << std::hex << g.va + off << " gave pa 0x" << a.pa << " want 0x"
               << g.pa + off << std::dec << " status " << static_cast<int>(a.status) << "\n";
        }
      }
    };
    check("after mapping", 4000);
    // Unmapped VA between ranges: a retry fault (NACK).
    const Answer hole = r.translate((1ULL << 31));
    if (hole.status != TranslationExt::Status::kRetry) out << "unmapped VA was not NACKed\n";
    // Remap a third of the ranges, then one full legacy flush.
    for (Range& g : ranges) {
      if (rng.below(3) == 0) {
        g.pa += 1ULL << 33;
        r.map(g.va, g.pa, g.bytes);
      }
    }
    r.flush(0);
    check("after remap + legacy flush", 4000);
    // Remap again, invalidating each remapped range by a range invalidation.
    for (Range& g : ranges) {
      if (rng.below(3) == 0) {
        g.pa += 1ULL << 33;
        r.map(g.va, g.pa, g.bytes);
        r.flush(0, true, g.va / k4K, (g.va + g.bytes) / k4K - 1);
      }
    }
    check("after remap + range invalidations", 4000);
    if (stat("rig.utcl1.hits") <= 0 || stat("rig.utcl2.hits") <= 0) out << "no TLB hits: the test did not exercise caching\n";
    if (stat("rig.utcl2.invalidations_range") <= 0) out << "no range invalidation completed\n";
  });
  EXPECT_EQ(fail, "");
}

// Acceptance 4: a PTE update and invalidation racing a walk in flight never leaves a stale
// translation after the ACK. The update lands at 40 different points of the walk.
TEST(TranslationSim, InvalidationRacingAWalkNeverLeavesAStaleTranslation) {
  const std::string fail = simulate([] { return std::make_unique<Rig>("rig", 400.0); },
                                    [](Rig& r, std::ostringstream& out) {
    constexpr int kCases = 40;
    const uint64_t base = 1ULL << 33;
    for (int k = 0; k < kCases; ++k) r.map(base + k * k2M, 0x100000000ULL + k * k4K, k4K);
    for (int k = 0; k < kCases; ++k) {
      const uint64_t va = base + k * k2M;
      const uint64_t old_pa = 0x100000000ULL + k * k4K;
      const uint64_t new_pa = 0x200000000ULL + k * k4K;
      Answer first{};
      bool first_done = false;
      sc_core::sc_event first_ev;
      sc_core::sc_spawn([&] {
        first = r.translate(va);
        first_done = true;
        first_ev.notify();
      });
      // A walk of up to four 400 ns reads: land the update anywhere in it.
      sc_core::wait(sc_core::sc_time(static_cast<double>(k) * 45.0, sc_core::SC_NS));
      r.map(va, new_pa, k4K);
      r.flush(0);
      const Answer after = r.translate(va);
      if (after.pa != new_pa) {
        out << "case " << k << ": after the ACK va translated to 0x" << std::hex << after.pa << std::dec << "\n";
      }
      while (!first_done) sc_core::wait(first_ev);
      if (first.pa != old_pa && first.pa != new_pa) out << "case " << k << ": first answer is neither\n";
      // Nothing cached may still say old_pa.
      const Answer again = r.translate(va, false, 1);
      if (again.pa != new_pa) out << "case " << k << ": a later translation gave the old page\n";
    }
    if (stat("rig.utcl2.stale_fills_dropped") + stat("rig.utcl1.stale_fills_dropped") <= 0) {
      out << "no walk was overtaken by an invalidation: the race was not exercised\n";
    }
  });
  EXPECT_EQ(fail, "");
}

// Acceptance 5: without retry the fault is fatal (kFault, a no-retry VM-fault interrupt);
// with retry the requester is NACKed and a retry fault is reported.
TEST(TranslationSim, NoRetryFaultIsFatalRetryFaultIsNacked) {
  for (bool retry : {true, false}) {
    const std::string fail = simulate([retry] { return std::make_unique<Rig>("rig", 50.0, retry); },
                                      [retry](Rig& r, std::ostringstream& out) {
      const Answer a = r.translate(0x12345000, true);
      const auto want = retry ? TranslationExt::Status::kRetry : TranslationExt::Status::kFault;
      if (a.status != want) out << "status " << static_cast<int>(a.status) << "\n";
      sc_core::wait(sc_core::sc_time(1, sc_core::SC_US));
      if (r.sink.faults.size() != 1) {
        out << r.sink.faults.size() << " fault interrupts\n";
        return;
      }
      const SrcData& d = r.sink.faults[0];
      if (fault_address(d) != 0x12345000 || fault_retry(d) != retry || !fault_write(d)) {
        out << "fault entry does not encode address/retry/write\n";
      }
    });
    EXPECT_EQ(fail, "") << "retry " << retry;
  }
}

// A heavyweight flush's ACK waits for the walk in flight; a legacy one does not.
TEST(TranslationSim, HeavyweightFlushWaitsForWalksInFlight) {
  for (uint32_t type : {0u, 2u}) {
    const std::string fail = simulate([] { return std::make_unique<Rig>("rig", 1000.0); },
                                      [type](Rig& r, std::ostringstream& out) {
      r.map(0x40000000, 0x80000000, k4K);
      uint64_t walk_done = 0;
      sc_core::sc_spawn([&] { walk_done = r.translate(0x40000000).at_ps; });
      sc_core::wait(sc_core::sc_time(100, sc_core::SC_NS));
      const uint64_t start = now_ps();
      const uint64_t ack = r.flush(type);
      const config::Utcl2 c;
      const uint64_t lat_ps = (c.invalidate_latency_cycles() + (type == 2 ? c.heavyweight_extra_cycles() : 0)) * 1000;
      sc_core::wait(sc_core::sc_time(10, sc_core::SC_US));
      if (type == 2 && ack < walk_done) out << "heavyweight ACK before the walk in flight ended\n";
      if (type == 0 && ack >= walk_done) out << "legacy ACK waited for the walk\n";
      if (ack < start + lat_ps) out << "ACK earlier than the configured latency\n";
    });
    EXPECT_EQ(fail, "") << "type " << type;
  }
}

// With hit-under-miss off, a lookup behind an outstanding miss waits for it.
TEST(TranslationSim, BlockingUtcl1HoldsLookupsBehindAMiss) {
  config::Utcl1 l1;
  l1.set_hit_under_miss(false);
  const std::string fail = simulate([l1] { return std::make_unique<Rig>("rig", 500.0, true, l1); },
                                    [](Rig& r, std::ostringstream& out) {
    r.map(0x40000000, 0x80000000, 2 * k4K);
    r.translate(0x40000000);  // cached now
    uint64_t hit_at = 0;
    sc_core::sc_spawn([&] { r.translate(0x40001000); });  // a miss
    sc_core::wait(sc_core::sc_time(1, sc_core::SC_NS));
    const uint64_t t0 = now_ps();
    hit_at = r.translate(0x40000000).at_ps;  // would hit in a few cycles
    if (hit_at - t0 < 400000) out << "the hit was not held behind the miss\n";
    if (stat("rig.utcl1.blocked_lookups") <= 0) out << "no blocked lookup counted\n";
  });
  EXPECT_EQ(fail, "");
}
