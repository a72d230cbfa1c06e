#include "driver-model/driver.h"

#include <algorithm>

#include "hw/gpu_regs.h"
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
      iommu_("iommu", cfg.iommu(), p.iommu_cfg != nullptr ? *p.iommu_cfg : config::Iommu::default_instance(),
             p.iommu, p.cpu, p.intc, p.host_mem, host_alloc_),
      sdma_("sdma", cfg.sdma(), p.sdma, p.host_mem, layout_.fence),
      sdma_more_(more_jobs(cfg, p, layout_)),
      sched_(all_jobs()),
      vm_("vm", cfg.vm(), sched_, vram_alloc_, p.vram, host_alloc_, p.host_mem, kVmid),
      migrate_("migrate", cfg.migrate(), sdma_, layout_.gart_table),
      smi_(cfg.kfd().pid(), cfg.kfd().gpu_id()),
      queues_("queues", cfg.kfd(), smi_),
      svm_("svm", cfg, vm_, migrate_, host_alloc_, vram_alloc_, p.apu, kPasid, !cfg.vm().noretry(), smi_,
           queues_, p.cpu, trace),
      irq_("irq", cfg.irq(), p.cpu, p.host_mem,
           IrqHandler::Rings{layout_.ih_ring, p.ih.ring_bytes(0), layout_.ih_wptr_wb,
                             layout_.ih1_ring, p.ih.ring_bytes(1), p.ih.retry_cam()},
           sched_, svm_, trace),
      ttm_("ttm", cfg.ttm(), p.host_mem.capacity(), p.cpu, queues_, p.queues),
      kill_queues_(p.kill_queues),
      utcl2_(p.utcl2) {
  IrqHandler::validate_hardware(cfg.irq(), "driver.irq", p.ih.has_ring1(), p.replay_on_command);
  queues_.set_control(p.queues);
  ttm_.set_mmap_lock(&svm_.mmap_lock());
  svm_.subscribe_mm([this](const NotifyRange& r, DriverThread* t) { ttm_.on_invalidate(r, t); });
  svm_.set_irq_idle([this] { return irq_.idle(); });
  // The GPU's DMA targets in host memory (amdgpu maps its rings and write-back pages for DMA).
  iommu_.map(nullptr, layout_.ih_ring, p.ih.ring_bytes(0));
  iommu_.map(nullptr, layout_.ih_wptr_wb, 4096);
  if (p.ih.has_ring1()) iommu_.map(nullptr, layout_.ih1_ring, p.ih.ring_bytes(1));
  iommu_.map(nullptr, layout_.fence, 4096);
  iommu_.map(nullptr, layout_.sdma_ring, kSdmaRingBytes);
  migrate_.set_iommu(&iommu_);
  svm_.set_iommu(&iommu_);
  p.ih.program(layout_.ih_ring, layout_.ih_wptr_wb, layout_.ih1_ring, iommu::kMsiBase, kMsiVector);
  // gfxhub_v1_0_setup_vmid_config + kfd_set_pasid_vmid_mapping for the process's VMID.
  namespace regs = hw::regs;
  uint32_t cntl = regs::kVmCntlEnable | (3u << regs::kVmCntlDepthShift);
  if (!cfg.vm().noretry()) cntl |= regs::kVmCntlRetryFault;
  p.utcl2.write_register(regs::kVmContextCntl + 4 * kVmid, cntl);
  const uint64_t root = vm_.root_pde();
  p.utcl2.write_register(regs::kVmContextPtBaseLo + 8 * kVmid, static_cast<uint32_t>(root));
  p.utcl2.write_register(regs::kVmContextPtBaseHi + 8 * kVmid, static_cast<uint32_t>(root >> 32));
  p.utcl2.write_register(regs::kAtcVmidPasidMapping + 4 * kVmid, regs::kAtcPasidValid | kPasid);
  irq_.set_vm_fault_handler([this, kill_ns = cfg.vm().vm_fault_kill_ns()](const RetryFault& f) {
    ++vm_faults_;
    smi_.vm_fault();  // kfd_smi_event_update_vmfault
    // kfd_int_process: the process is dead; evict its queues from a worker.
    sc_core::sc_spawn_options opts;
    sc_core::sc_spawn(
        [this, f, kill_ns] {
          DriverThread t(cpu_, hw::WorkClass::kWorker);
          t.compute_ns(kill_ns);
          ++queues_killed_;
          if (kill_queues_) kill_queues_(f.vmid);
          t.release();
        },
        sc_core::sc_gen_unique_name("vm_fault_kill"), &opts);
  });
  p.intc.connect(kMsiVector, [this](uint32_t) { irq_.on_msi(); });
  p.sdma.program_ring(layout_.sdma_ring, static_cast<uint32_t>(kSdmaRingBytes));
  for (size_t i = 0; i < p.more_sdma.size(); ++i) {
    p.more_sdma[i]->program_ring(layout_.more_sdma_rings[i], static_cast<uint32_t>(kSdmaRingBytes));
  }
}

uint64_t Driver::map_vram_bo(DriverThread& t, uint64_t bytes, uint64_t contiguous_bytes,
                            std::optional<uint64_t> va) {
  bytes = (bytes + 4095) / 4096 * 4096;
  const uint64_t chunk = std::min(contiguous_bytes, bytes);
  const uint64_t chunks = (bytes + chunk - 1) / chunk;
  const auto base = vram_alloc_.alloc(chunks * chunk, chunk);
  if (!base) {
    throw InputError("a VRAM buffer of " + std::to_string(bytes) + " bytes exceeds free VRAM (" +
                     std::to_string(vram_alloc_.capacity() - vram_alloc_.used_bytes()) +
                     " bytes left of soc.gpu.vram.capacity_bytes)");
  }
  const uint64_t start = svm_.reserve_va(bytes, chunk, va);
  // Chunk i of the BO sits at physical chunk (chunks - 1 - i): neighbours in VA are never
  // neighbours in VRAM, so no fragment can span two chunks.
  std::vector<GpuVm::Run> runs;
  runs.reserve(chunks);
  for (uint64_t i = 0; i < chunks; ++i) {
    const uint64_t len = std::min(chunk, bytes - i * chunk);
    runs.push_back(GpuVm::Run{start + i * chunk, len / 4096, *base + (chunks - 1 - i) * chunk, false});
  }
  ++bos_;
  vm_.map(t, runs, /*writeable=*/true);
  vm_.flush_tlb(t, TlbFlush::kLegacy);
  return start;
}

void Driver::set_xnack(bool on) {
  namespace regs = hw::regs;
  uint32_t cntl = utcl2_.read_register(regs::kVmContextCntl + 4 * kVmid);
  cntl = on ? (cntl | regs::kVmCntlRetryFault) : (cntl & ~regs::kVmCntlRetryFault);
  utcl2_.write_register(regs::kVmContextCntl + 4 * kVmid, cntl);
  svm_.set_xnack(on);
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
