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
  const uint64_t gart_bytes = (uint64_t{cfg.migrate().chunk_pages()} * 8 + 4095) / 4096 * 4096;
  l.gart_table = must(vram.alloc(gart_bytes, 4096), "GART window", "soc.gpu.vram.capacity_bytes");
  p.host_mem.fill(l.ih_wptr_wb, 0, 4096);
  p.host_mem.fill(l.fence, 0, 4096);
  return l;
}

Driver::Driver(sc_core::sc_module_name name, const config::Driver& cfg, const Platform& p,
               FaultTrace* trace)
    : sc_module(name),
      cpu_(p.cpu),
      host_alloc_(make_host_allocator(p)),
      vram_alloc_("VRAM", 0, p.vram.capacity()),
      layout_(lay_out(cfg, p, host_alloc_, vram_alloc_)),
      iommu_("iommu", cfg.iommu(), p.iommu_cfg != nullptr ? *p.iommu_cfg : config::Iommu::default_instance(),
             p.iommu, p.cpu, p.intc, p.host_mem, host_alloc_),
      sdma_("sdma", cfg.sdma(), p.sdma, p.host_mem, layout_.fence),
      vm_("vm", cfg.vm(), sdma_, vram_alloc_, p.vram, p.walker, kVmid),
      migrate_("migrate", cfg.migrate(), sdma_, layout_.gart_table),
      svm_("svm", cfg.svm(), vm_, migrate_, host_alloc_, vram_alloc_, p.apu, kPasid, trace),
      irq_("irq", cfg.irq(), p.cpu, p.host_mem,
           IrqHandler::Rings{layout_.ih_ring, p.ih.ring_bytes(0), layout_.ih_wptr_wb,
                             layout_.ih1_ring, p.ih.ring_bytes(1)},
           sdma_, svm_, trace) {
  // The GPU's DMA targets in host memory (amdgpu maps its rings and write-back pages for DMA).
  iommu_.map(nullptr, layout_.ih_ring, p.ih.ring_bytes(0));
  iommu_.map(nullptr, layout_.ih_wptr_wb, 4096);
  if (p.ih.has_ring1()) iommu_.map(nullptr, layout_.ih1_ring, p.ih.ring_bytes(1));
  iommu_.map(nullptr, layout_.fence, 4096);
  iommu_.map(nullptr, layout_.sdma_ring, kSdmaRingBytes);
  migrate_.set_iommu(&iommu_);
  svm_.set_iommu(&iommu_);
  p.ih.program(layout_.ih_ring, layout_.ih_wptr_wb, layout_.ih1_ring, iommu::kMsiBase, kMsiVector);
  p.intc.connect(kMsiVector, [this](uint32_t) { irq_.on_msi(); });
  p.sdma.program_ring(layout_.sdma_ring, static_cast<uint32_t>(kSdmaRingBytes));
}

uint64_t Driver::alloc_host(uint64_t bytes) {
  const auto a = host_alloc_.alloc((bytes + 4095) / 4096 * 4096, 4096);
  if (!a) throw InputError("a copy buffer of " + std::to_string(bytes) + " bytes exceeds free host memory (soc.host.dram.capacity_bytes)");
  return *a;
}

uint64_t Driver::alloc_vram(uint64_t bytes) {
  const auto a = vram_alloc_.alloc((bytes + 4095) / 4096 * 4096, 4096);
  if (!a) throw InputError("a copy buffer of " + std::to_string(bytes) + " bytes exceeds free VRAM (soc.gpu.vram.capacity_bytes)");
  return *a;
}

}  // namespace fl::driver
