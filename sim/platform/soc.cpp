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

// Names of the extra copy engines and of the fabric and IH ports they add.
std::vector<std::string> more_sdma(const config::Gpu& cfg) {
  std::vector<std::string> n;
  for (uint32_t i = 1; i < cfg.sdma().engines(); ++i) n.push_back("sdma" + std::to_string(i));
  return n;
}
std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
}  // namespace

Gpu::Gpu(sc_core::sc_module_name name, const config::Gpu& cfg, uint64_t seed, FaultTrace* trace,
         bool ats, bool pri)
    : sc_module(name),
      clock(cfg.clock_mhz()),
      walker("walker", cfg.walker(), clock),
      utcl2("utcl2", cfg.utcl2(), clock, walker, trace, seed),
      utcl1("utcl1", cfg.utcl1(), clock, cfg.cu().count(), seed),
      cu("cu", cfg.cu(), clock, seed, trace, utcl1),
      fabric("fabric", cfg.fabric(), clock, with({"cu", "walker", "sdma", "ih"}, more_sdma(cfg))),
      vram("vram", memory_params(cfg.vram()), "soc.gpu.vram"),
      ih("ih", cfg.ih(), clock, with({"utcl2", "sdma"}, more_sdma(cfg)), trace),
      sdma("sdma", cfg.sdma(), clock),
      regs("regs"),
      cp("cp", cfg.cp(), cfg.cu(), cfg.vram().bandwidth_gb_per_s(), cu) {
  utcl1.l2_out.socket.bind(utcl2.in.socket);
  utcl2.add_invalidation_target(&utcl1);
  utcl2.set_replay_target([this] { cu.replay(); });
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
  uint32_t engine = 1;
  for (const std::string& n : more_sdma(cfg)) {
    sdma_more.push_back(std::make_unique<hw::CopyEngine>(n.c_str(), cfg.sdma(), clock, engine));
    hw::CopyEngine& e = *sdma_more.back();
    e.mem.socket.bind(fabric.in(n).socket);
    e.ih_out.socket.bind(ih.source(n).socket);
    regs.window(hw::regs::sdma_base(engine), hw::regs::kWindowBytes, n).socket.bind(e.regs.port.socket);
    ++engine;
  }
  if (ats) atc = std::make_unique<iommu::Atc>("atc", cfg.atc(), clock, pri);
}

std::vector<hw::CopyEngine*> Gpu::sdma_engines() {
  std::vector<hw::CopyEngine*> all{&sdma};
  for (auto& e : sdma_more) all.push_back(e.get());
  return all;
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

void Soc::set_timeline(Timeline* t) {
  gpu.utcl2.set_timeline(t);
  gpu.walker.set_timeline(t);
  gpu.ih.set_timeline(t);
  for (hw::CopyEngine* e : gpu.sdma_engines()) e->set_timeline(t);
  gpu.cp.set_timeline(t);
  if (link) link->set_timeline(t);
}

}  // namespace fl::platform
