// The simulated system on chip, SystemC module "soc": builds every hardware model from its
// config section (module names mirror the config keys) and wires them.
//
//   soc.gpu.cu --tr--> soc.gpu.utcl1 --tr--> soc.gpu.utcl2 --walk--> soc.gpu.walker
//   soc.gpu.{cu,walker,sdma,ih} --> soc.gpu.fabric --> soc.gpu.vram
//                                                  \--> soc.{pcie|ondie}.up --> soc.iommu --> soc.host.dram
//                                                                                        \--> soc.host.intc (MSI)
//   soc.host.cpu (MMIO) --> soc.{pcie|ondie}.down --> soc.gpu.regs --> {ih, sdma, utcl2} registers
//   soc.gpu.{utcl2,sdma} --interrupts--> soc.gpu.ih
// With ATS (soc.iommu.ats), soc.gpu.atc sits between soc.gpu.fabric and the link, and it and
// soc.iommu exchange ATS/PRI messages over the link.
// Every arrow is an AT TLM-2.0 link (sim/core/tlm_ports.h) except cu -> utcl1, a direct
// call inside the shader array, and utcl2 -> walker, a direct call inside the VM L2 block.
#pragma once

#include <memory>
#include <string>
#include <vector>
#include <systemc>

#include "hw/command_processor.h"
#include "hw/compute_units.h"
#include "hw/copy_engine.h"
#include "hw/gpu_fabric.h"
#include "hw/host_cpu.h"
#include "hw/host_intc.h"
#include "hw/host_link.h"
#include "hw/interrupt_handler.h"
#include "hw/memory.h"
#include "iommu/atc.h"
#include "iommu/iommu.h"
#include "mmu/page_walker.h"
#include "mmu/utcl1.h"
#include "mmu/utcl2.h"
#include "sim/core/fault_trace.h"
#include "sim/core/schema.h"
#include "sim/core/timeline.h"

namespace fl::platform {

class Gpu : public sc_core::sc_module {
 public:
  // `ats`: the GPU uses ATS (soc.iommu.ats), with PRI if `pri`: an ATC sits between the
  // fabric and the host link.
  Gpu(sc_core::sc_module_name name, const config::Gpu& cfg, uint64_t seed, FaultTrace* trace,
      bool ats = false, bool pri = false);

  Clock clock;
  mmu::PageWalker walker;
  mmu::Utcl2 utcl2;
  mmu::Utcl1 utcl1;
  hw::ComputeUnits cu;
  hw::GpuFabric fabric;
  hw::Memory vram;
  hw::InterruptHandler ih;
  hw::CopyEngine sdma;
  hw::RegisterBus regs;
  hw::CommandProcessor cp;
  // Copy engines after SDMA0 (soc.gpu.sdma.engines > 1): sdma1, sdma2, ...
  std::vector<std::unique_ptr<hw::CopyEngine>> sdma_more;
  // Every copy engine, SDMA0 first.
  std::vector<hw::CopyEngine*> sdma_engines();
  std::unique_ptr<iommu::Atc> atc;  // with ATS only
};

class Host : public sc_core::sc_module {
 public:
  Host(sc_core::sc_module_name name, const config::Host& cfg);

  hw::Memory dram;
  hw::HostCpu cpu;
  hw::HostIntc intc;
};

class Soc : public sc_core::sc_module {
 public:
  Soc(sc_core::sc_module_name name, const config::Soc& cfg, uint64_t seed, FaultTrace* trace);

  bool apu() const { return apu_; }
  // Draws the hardware units' work on `t`: UTCL2, walkers, IH rings, copy engines, the
  // host link and the compute queues (sim/core/timeline.h, docs/timeline.md).
  void set_timeline(Timeline* t);

  Gpu gpu;
  std::unique_ptr<hw::HostLink> link;
  iommu::Iommu iommu;
  Host host;

 private:
  bool apu_;
};

}  // namespace fl::platform
