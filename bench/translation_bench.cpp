// Translation-path throughput: simulated translations per host second through the timed
// UTCL1 -> UTCL2 -> page walker -> page-table memory hierarchy (default parameters), with
// a closed-loop requester keeping `kOutstanding` translations in flight from 8 compute
// units. Two cases: every translation hits UTCL1 (a 64 KiB footprint of 4 KiB pages), and
// every translation walks (random pages over 4 GiB of 4 KiB pages, far beyond UTCL2's
// 16 MiB reach). Each benchmark iteration simulates a batch of kBatch translations; the
// SystemC kernel is elaborated once and resumed per iteration (sc_start).
// Run: build/bench/faultline_translation_bench (results: docs/performance.md).
#include <cstdlib>
#include <memory>

#include <benchmark/benchmark.h>
#include <systemc>

#include "hw/gpu_regs.h"
#include "hw/memory.h"
#include "mmu/page_table.h"
#include "mmu/utcl1.h"
#include "mmu/utcl2.h"
#include "sim/core/rng.h"
#include "sim/core/txn.h"

namespace {

using namespace fl;
using namespace fl::mmu;
namespace regs = fl::hw::regs;

constexpr uint8_t kVmid = 8;
constexpr int kOutstanding = 64;
constexpr uint64_t kBatch = 200000;

struct Sink : sc_core::sc_module {
  explicit Sink(sc_core::sc_module_name n) : sc_module(n), port("port", [this](Payload& gp) { port.respond(gp); }) {}
  AtTargetPort port;
};

class Rig : public sc_core::sc_module {
 public:
  Rig(sc_core::sc_module_name n, uint64_t footprint, bool random)
      : sc_module(n),
        clock(1700.0),
        walker("walker", config::PageWalker(), clock),
        utcl2("utcl2", config::Utcl2(), clock, walker, nullptr, 1),
        utcl1("utcl1", config::Utcl1(), clock, 8, 1),
        mem("vram", hw::MemoryParams{1ULL << 40, 400.0, 1600.0, 64}),
        sink("ih"),
        regs_bus("regs_bus", [](Payload&) {}),
        queue_("requester"),
        footprint_(footprint),
        random_(random),
        rng_(1, 2) {
    walker.mem.socket.bind(mem.port.socket);
    utcl1.l2_out.socket.bind(utcl2.in.socket);
    utcl2.ih_out.socket.bind(sink.port.socket);
    regs_bus.socket.bind(utcl2.regs.port.socket);
    utcl2.add_invalidation_target(&utcl1);
    uint64_t next = 1ULL << 36;
    PageTableBuilder b(false, 0, [&] { const uint64_t a = next; next += kTableBytes; mem.storage().fill(a, 0, kTableBytes); return a; });
    std::vector<PtWrite> ws;
    b.map(base_, 1ULL << 34, footprint / kPageBytes, pte::kValid | pte::kReadable | pte::kWriteable, ws);
    apply_writes(ws, [this](uint64_t a, uint64_t v) { mem.storage().write64(a, v); });
    utcl2.write_register(regs::kVmContextCntl + 4 * kVmid, regs::kVmCntlEnable | regs::kVmCntlRetryFault);
    utcl2.write_register(regs::kVmContextPtBaseLo + 8 * kVmid, static_cast<uint32_t>(b.root_pde()));
    utcl2.write_register(regs::kVmContextPtBaseHi + 8 * kVmid, static_cast<uint32_t>(b.root_pde() >> 32));
    utcl1.set_responder([this](Payload& gp, const sc_core::sc_time& d) {
      // The translation is known `d` from now; its requester issues the next one then.
      queue_.schedule(d, [this, &gp] { done(gp); });
    });
  }

  // Simulates `n` more translations; returns when they have all been answered.
  void run(uint64_t n) {
    target_ += n;
    if (in_flight_ == 0) {
      for (int i = 0; i < kOutstanding; ++i) issue();
    }
    while (answered_ < target_) fl::start(sc_core::sc_time(10, sc_core::SC_US));
  }
  uint64_t answered() const { return answered_; }

  Clock clock;
  PageWalker walker;
  Utcl2 utcl2;
  Utcl1 utcl1;
  hw::Memory mem;
  Sink sink;
  AtInitiatorPort regs_bus;

 private:
  void issue() {
    if (issued_ >= target_) return;
    ++issued_;
    ++in_flight_;
    Txn& t = pool_.acquire();
    const uint64_t page = random_ ? rng_.below(footprint_ / kPageBytes) : issued_ % (footprint_ / kPageBytes);
    t.setup_timing_only(tlm::TLM_IGNORE_COMMAND, base_ + page * kPageBytes, 0);
    auto& tr = t.ensure<TranslationExt>();
    tr = TranslationExt{};
    tr.vmid = kVmid;
    utcl1.translate(static_cast<uint32_t>(issued_ % 8), t);
  }
  void done(Payload& gp) {
    gp.release();
    --in_flight_;
    ++answered_;
    issue();
  }

  EventQueue queue_;
  TxnPool pool_;
  uint64_t footprint_;
  bool random_;
  Rng rng_;
  const uint64_t base_ = 1ULL << 40;
  uint64_t target_ = 0;
  uint64_t issued_ = 0;
  uint64_t answered_ = 0;
  uint64_t in_flight_ = 0;
};

// Both rigs are elaborated before the first sc_start.
Rig* g_hits = nullptr;
Rig* g_walks = nullptr;
Rig& hit_rig() { return *g_hits; }
Rig& walk_rig() { return *g_walks; }

// `events` is the number of scheduler callbacks the batch dispatched: exact and independent
// of the host, so a change in callbacks per translation shows apart from host noise.
void report(benchmark::State& state, uint64_t translations, uint64_t events) {
  state.counters["translations_per_s"] =
      benchmark::Counter(static_cast<double>(translations), benchmark::Counter::kIsRate);
  state.counters["events_per_translation"] =
      translations ? static_cast<double>(events) / static_cast<double>(translations) : 0.0;
}

void BM_TranslateUtcl1Hits(benchmark::State& state) {
  Rig& rig = hit_rig();
  rig.run(1000);  // warm the UTCL1s
  uint64_t n = 0;
  const uint64_t events0 = EventQueue::dispatched();
  for (auto _ : state) {
    rig.run(kBatch);
    n += kBatch;
  }
  report(state, n, EventQueue::dispatched() - events0);
}
BENCHMARK(BM_TranslateUtcl1Hits)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TranslateEveryAccessWalks(benchmark::State& state) {
  Rig& rig = walk_rig();
  uint64_t n = 0;
  const uint64_t events0 = EventQueue::dispatched();
  for (auto _ : state) {
    rig.run(kBatch / 4);
    n += kBatch / 4;
  }
  report(state, n, EventQueue::dispatched() - events0);
}
BENCHMARK(BM_TranslateEveryAccessWalks)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int sc_main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  g_hits = new Rig("hits", 64 * 1024, false);
  g_walks = new Rig("walks", 4ULL << 30, true);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

int main(int argc, char** argv) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
