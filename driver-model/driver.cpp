#include "driver-model/driver.h"

#include "iommu/iommu.h"
#include "sim/core/errors.h"

namespace fl::driver {

namespace {
// Host physical memory below 1 MiB is the firmware's; the x86 MSI window is not memory.
constexpr uint64_t kHostBase = 1ULL << 20;

PhysAllocator make_host_allocator(const Platform& p) {
  const uint64_t cap = p.host_mem.capacity();
  PhysAllocator a("host memory", kHostBase, cap > kHostBase ? cap - kHostBase : 0);
  a.reserve(iommu::kMsiBase, iommu::kMsiSize);
  return a;
}

uint64_t must(std::optional<uint64_t> a, const char* what, const char* key) {
  if (!a) throw InputError(std::string(key) + " is too small for the driver's " + what);
  return *a;
}
}  // namespace

Driver::Layout Driver::lay_out(const config::Driver& cfg, const Platform& p, PhysAllocator& host,
                               PhysAllocator& vram) {
  Layout l{};
  const uint32_t ih_bytes = p.ih.ring_bytes(0);
  l.ih_ring = must(host.alloc(ih_bytes, ih_bytes), "IH ring", "soc.host.dram.capacity_bytes");
  l.ih_wptr_wb = must(host.alloc(4096, 4096), "WPTR write-back page", "soc.host.dram.capacity_bytes");
  if (p.ih.has_ring1()) {
    l.ih1_ring = must(host.alloc(p.ih.ring_bytes(1), p.ih.ring_bytes(1)), "IH1 ring", "soc.host.dram.capacity_bytes");
  }
  l.fence = must(host.alloc(4096, 4096), "fence page", "soc.host.dram.capacity_bytes");
  l.sdma_ring = must(host.alloc(kSdmaRingBytes, 4096), "copy-engine ring", "soc.host.dram.capacity_bytes");
  for (size_t i = 0; i < p.more_sdma.size(); ++i) {
    l.more_sdma_rings.push_back(must(host.alloc(kSdmaRingBytes, 4096), "copy-engine ring", "soc.host.dram.capacity_bytes"));
    l.more_sdma_fences.push_back(must(host.alloc(4096, 4096), "fence page", "soc.host.dram.capacity_bytes"));
    p.host_mem.fill(l.more_sdma_fences.back(), 0, 4096);
  }
  const uint64_t gart_bytes = (uint64_t{cfg.migrate().chunk_pages()} * 8 + 4095) / 4096 * 4096;
  l.gart_table = must(vram.alloc(gart_bytes, 4096), "GART window", "soc.gpu.vram.capacity_bytes");
  p.host_mem.fill(l.ih_wptr_wb, 0, 4096);
  p.host_mem.fill(l.fence, 0, 4096);
  return l;
}

std::vector<std::unique_ptr<SdmaJobs>> Driver::more_jobs(const config::Driver& cfg, const Platform& p,
                                                         const Layout& l) {
  std::vector<std::unique_ptr<SdmaJobs>> v;
  for (size_t i = 0; i < p.more_sdma.size(); ++i) {
    const std::string n = "sdma" + std::to_string(p.more_sdma[i]->engine());
    v.push_back(std::make_unique<SdmaJobs>(n.c_str(), cfg.sdma(), *p.more_sdma[i], p.host_mem, l.more_sdma_fences[i]));
  }
  return v;
}

std::vector<SdmaJobs*> Driver::all_jobs() {
  std::vector<SdmaJobs*> v{&sdma_};
  for (auto& j : sdma_more_) v.push_back(j.get());
  return v;
}

Driver::Driver(sc_core::sc_module_name name, const config::Driver& cfg, const Platform& p,
               FaultTrace* trace)
    : sc_module(name),
      cpu_(p.cpu),
      host_alloc_(make_host_allocator(p)),
      vram_alloc_("VRAM", 0, p.vram.capacity()),
      layout_(lay_out(cfg, p, host_alloc_, vram_alloc_)),
      sdma_("sdma", cfg.sdma(), p.sdma, p.host_mem, layout_.fence),
      sdma_more_(more_jobs(cfg, p, layout_)),
      sched_(all_jobs()),
      vm_("vm", cfg.vm(), sched_, vram_alloc_, p.vram, p.walker, kVmid),
      migrate_("migrate", cfg.migrate(), sdma_, layout_.gart_table),
      svm_("svm", cfg.svm(), vm_, migrate_, host_alloc_, vram_alloc_, p.apu, kPasid, trace),
      irq_("irq", cfg.irq(), p.cpu, p.host_mem,
           IrqHandler::Rings{layout_.ih_ring, p.ih.ring_bytes(0), layout_.ih_wptr_wb,
                             layout_.ih1_ring, p.ih.ring_bytes(1), p.ih.retry_cam()},
           sched_, svm_, trace) {
  p.ih.program(layout_.ih_ring, layout_.ih_wptr_wb, layout_.ih1_ring, iommu::kMsiBase, kMsiVector);
  p.intc.connect(kMsiVector, [this](uint32_t) { irq_.on_msi(); });
  p.sdma.program_ring(layout_.sdma_ring, static_cast<uint32_t>(kSdmaRingBytes));
  for (size_t i = 0; i < p.more_sdma.size(); ++i) {
    p.more_sdma[i]->program_ring(layout_.more_sdma_rings[i], static_cast<uint32_t>(kSdmaRingBytes));
  }
}

}  // namespace fl::driver
