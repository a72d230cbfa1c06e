#include "sim/platform/soc.h"

#include "hw/gpu_regs.h"
#include "sim/core/errors.h"

namespace fl::platform {

namespace {
template <class C>
hw::MemoryParams memory_params(const C& c) {
  return hw::MemoryParams{c.capacity_bytes(), c.latency_ns(),  c.bandwidth_gb_per_s(),
                          c.access_bytes(),   c.channels(),    c.interleave_bytes(),
                          c.banks(),          c.row_bytes(),   c.row_miss_ns()};
}
}  // namespace

Gpu::Gpu(sc_core::sc_module_name name, const config::Gpu& cfg, uint64_t seed, FaultTrace* trace,
         bool ats, bool pri)
    : sc_module(name),
      clock(cfg.clock_mhz()),
      cu("cu", cfg.cu(), clock, seed, trace),
      walker("walker", cfg.walker(), clock),
      utcl2("utcl2", cfg.utcl2(), clock, walker, trace),
      fabric("fabric", cfg.fabric(), clock, {"cu", "walker", "sdma", "ih"}),
      vram("vram", memory_params(cfg.vram()), "soc.gpu.vram"),
      ih("ih", cfg.ih(), clock, {"utcl2", "sdma"}, trace),
      sdma("sdma", cfg.sdma(), clock),
      regs("regs") {
  cu.tr_out.socket.bind(utcl2.in.socket);
  cu.mem_out.socket.bind(fabric.in("cu").socket);
  walker.mem.socket.bind(fabric.in("walker").socket);
  sdma.mem.socket.bind(fabric.in("sdma").socket);
  ih.out.socket.bind(fabric.in("ih").socket);
  utcl2.ih_out.socket.bind(ih.source("utcl2").socket);
  sdma.ih_out.socket.bind(ih.source("sdma").socket);
  fabric.to_vram.socket.bind(vram.port.socket);
  regs.window(hw::regs::kIhBase, hw::regs::kWindowBytes, "ih").socket.bind(ih.regs.port.socket);
  regs.window(hw::regs::kSdmaBase, hw::regs::kWindowBytes, "sdma").socket.bind(sdma.regs.port.socket);
  regs.window(hw::regs::kVmBase, hw::regs::kWindowBytes, "utcl2").socket.bind(utcl2.regs.port.socket);
  if (ats) atc = std::make_unique<iommu::Atc>("atc", cfg.atc(), clock, pri);
}

Host::Host(sc_core::sc_module_name name, const config::Host& cfg)
    : sc_module(name), dram("dram", memory_params(cfg.dram()), "soc.host.dram"), cpu("cpu", cfg.cpu()), intc("intc") {}

namespace {
// ATS needs a translating IOMMU, PRI needs ATS.
bool checked_ats(const config::Soc& cfg) {
  const auto& i = cfg.iommu();
  if (i.ats() && i.mode() != config::Iommu::TRANSLATED) {
    throw InputError("soc.iommu.ats = true needs soc.iommu.mode = TRANSLATED");
  }
  if (i.pri() && !i.ats()) throw InputError("soc.iommu.pri = true needs soc.iommu.ats = true");
  return i.ats();
}

std::unique_ptr<hw::HostLink> make_link(const config::Soc& cfg) {
  if (cfg.host_link() == config::Soc::ON_DIE) {
    return std::make_unique<hw::HostLink>("ondie", std::make_unique<hw::OnDieTiming>(cfg.ondie()));
  }
  return std::make_unique<hw::HostLink>("pcie", std::make_unique<hw::PcieTiming>(cfg.pcie(), "soc.pcie"),
                                        &cfg.pcie());
}
}  // namespace

Soc::Soc(sc_core::sc_module_name name, const config::Soc& cfg, uint64_t seed, FaultTrace* trace)
    : sc_module(name),
      gpu("gpu", cfg.gpu(), seed, trace, checked_ats(cfg), cfg.iommu().pri()),
      link(make_link(cfg)),
      iommu("iommu", cfg.iommu()),
      host("host", cfg.host()),
      apu_(cfg.host_link() == config::Soc::ON_DIE) {
  if (gpu.atc) {
    gpu.fabric.to_host.socket.bind(gpu.atc->in.socket);
    gpu.atc->out.socket.bind(link->gpu_in.socket);
    gpu.atc->attach(link.get(), &iommu);
  } else {
    gpu.fabric.to_host.socket.bind(link->gpu_in.socket);
  }
  iommu.attach(host.dram.storage(), link.get(), gpu.atc.get());
  link->host_out.socket.bind(iommu.dma_in.socket);
  iommu.mem_out.socket.bind(host.dram.port.socket);
  iommu.msi_out.socket.bind(host.intc.msi_in.socket);
  host.cpu.mmio.socket.bind(link->host_in.socket);
  link->gpu_out.socket.bind(gpu.regs.in.socket);
}

}  // namespace fl::platform
