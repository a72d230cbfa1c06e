#include "iommu/iommu.h"

#include "sim/core/time.h"

namespace fl::iommu {

Iommu::Iommu(sc_core::sc_module_name name, const config::Iommu& cfg)
    : sc_module(name),
      dma_in("dma_in",
             [this](Payload& gp) {
               if (gp.is_write() && is_msi_address(gp.get_address())) {
                 ++msis_;
                 msi_out.send(gp, latency_);
               } else {
                 (gp.is_read() ? ++dma_reads_ : ++dma_writes_);
                 mem_out.send(gp, latency_);
               }
             }),
      mem_out("mem_out", [this](Payload& gp) { dma_in.respond(gp); }),
      msi_out("msi_out", [this](Payload& gp) { dma_in.respond(gp); }),
      latency_(from_ns(cfg.passthrough_latency_ns())) {}

}  // namespace fl::iommu
