// Microbenchmarks of the per-access and per-fault hot paths that need no SystemC kernel:
// TLB lookups, the fault filter, histogram sampling, PCIe packetisation.
// Run: build/bench/faultline_microbench (results: docs/performance.md).
#include <cstdlib>

#include <benchmark/benchmark.h>
#include <systemc>

#include "driver-model/fault_filter.h"
#include "hw/link_timing.h"
#include "iommu/translation_cache.h"
#include "mmu/tlb_array.h"
#include "sim/core/rng.h"
#include "sim/core/stats.h"

namespace {

void BM_TlbLookupHit(benchmark::State& state) {
  fl::mmu::TlbArray tlb(4096, 16);
  for (uint64_t v = 0; v < 4096; ++v) tlb.insert(8, v, v + 100, false, true);
  uint64_t vpn = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(tlb.lookup(8, vpn));
    vpn = (vpn + 1) & 4095;
  }
}
BENCHMARK(BM_TlbLookupHit);

void BM_TlbInsertEvict(benchmark::State& state) {
  fl::mmu::TlbArray tlb(4096, 16);
  uint64_t vpn = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(tlb.insert(8, vpn, vpn + 1, false, true));
    ++vpn;
  }
}
BENCHMARK(BM_TlbInsertEvict);

void BM_FaultFilterStorm(benchmark::State& state) {
  // A retry storm: 64 pages re-faulting every 2.3 us (230 ticks at 100 MHz).
  fl::driver::FaultFilter f(8, 8, 5000);
  uint64_t ts = 1;
  uint64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.filter((i % 64) << 12, 0x8000, ts, 0));
    if (++i % 64 == 0) ts += 230;
  }
}
BENCHMARK(BM_FaultFilterStorm);

void BM_HistogramSample(benchmark::State& state) {
  fl::stats::Group g("bench");
  fl::stats::Histogram h(g, "latency_ns", "ns", "benchmark");
  fl::Rng rng(1, 2);
  for (auto _ : state) h.sample(static_cast<double>(rng.below(1000000)) / 7.0);
  benchmark::DoNotOptimize(h.percentile(99));
}
BENCHMARK(BM_HistogramSample);

void BM_PcieDataWire(benchmark::State& state) {
  fl::config::PcieLink c;
  const fl::hw::PcieTiming t(c, "soc.pcie");
  uint64_t n = 1;
  fl::hw::TlpList tlps;
  for (auto _ : state) {
    tlps.clear();
    t.write(0, n, tlps);
    benchmark::DoNotOptimize(tlps.data());
    n = (n * 7 + 3) & 8191;
  }
}
BENCHMARK(BM_PcieDataWire);

void BM_IotlbLookupHit(benchmark::State& state) {
  fl::iommu::IoTlb tlb(512, 8);
  for (uint64_t p = 0; p < 512; ++p) tlb.insert(1, p << 12, fl::iommu::CachedTranslation{p << 12, 4096, true, true});
  uint64_t p = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(tlb.lookup(1, p << 12));
    p = (p + 97) & 511;
  }
}
BENCHMARK(BM_IotlbLookupHit);

void BM_PcieCompletions(benchmark::State& state) {
  fl::config::PcieLink c;
  const fl::hw::PcieTiming t(c, "soc.pcie");
  fl::hw::TlpList tlps;
  for (auto _ : state) {
    tlps.clear();
    t.completions(0x1000, 4096, tlps);  // a 4 KiB copy burst: 8 requests, 16 completions
    benchmark::DoNotOptimize(tlps.data());
  }
}
BENCHMARK(BM_PcieCompletions);

}  // namespace

int sc_main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

int main(int argc, char** argv) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
