// The host IOMMU (AMD-IOMMU-like) on the GPU's DMA path.
//
// Models: pass-through mode (iommu=pt): every DMA address from the GPU is a host physical
// address; the IOMMU adds a fixed latency for the device-table lookup and routes writes to
// the x86 MSI window (0xFEE00000-0xFEEFFFFF) to the host interrupt controller and all other
// traffic to host memory. It is in the topology now so that translation (device table, IO
// page tables, IOTLB, ATS/PRI) can be added without rewiring.
// Abstracts away: address translation, the IOTLB, interrupt remapping, the command buffer
// and the event log; none exist in pass-through.
//
// Ports: dma_in (AT target, from the host side of the GPU link), mem_out (AT initiator, to
// host DRAM), msi_out (AT initiator, to the host interrupt controller).
#pragma once

#include <systemc>

#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/tlm_ports.h"

namespace fl::iommu {

constexpr uint64_t kMsiBase = 0xFEE00000ULL;
constexpr uint64_t kMsiSize = 0x100000ULL;

inline bool is_msi_address(uint64_t a) { return a >= kMsiBase && a < kMsiBase + kMsiSize; }

class Iommu : public sc_core::sc_module {
 public:
  Iommu(sc_core::sc_module_name name, const config::Iommu& cfg);

  AtTargetPort dma_in;
  AtInitiatorPort mem_out;
  AtInitiatorPort msi_out;

 private:
  sc_core::sc_time latency_;

  stats::Group stats_;
  stats::Counter dma_reads_{stats_, "dma_reads", "count", "DMA reads passed to host memory"};
  stats::Counter dma_writes_{stats_, "dma_writes", "count", "DMA writes passed to host memory"};
  stats::Counter msis_{stats_, "msis", "count", "MSI writes passed to the interrupt controller"};
};

}  // namespace fl::iommu
