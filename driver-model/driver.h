// The driver model: amdgpu + KFD on the host, for one process with XNACK on.
//
// Builds and wires its parts (driver.sdma, driver.vm, driver.migrate, driver.svm,
// driver.irq) and performs the driver's start-up, untimed: host memory for the IH ring, its
// WPTR write-back, IH1, the copy-engine ring and the fence; VRAM for the page-table root and
// the GART window; then programs the IH (rings, write-back, MSI), the copy engine's ring, the
// walkers' page-table base for the process's VMID, and registers the interrupt handler
// for the IH's MSI vector. The process has PASID 0x8000 (the first amdgpu_pasid_alloc
// value) and VMID 8 (the first KFD VMID on gfx9).
#pragma once

#include <memory>
#include <systemc>

#include "driver-model/gpu_vm.h"
#include "driver-model/iommu_dma.h"
#include "driver-model/irq.h"
#include "driver-model/memory_managers.h"
#include "driver-model/migration.h"
#include "driver-model/sdma_jobs.h"
#include "driver-model/svm.h"
#include "hw/copy_engine.h"
#include "hw/host_cpu.h"
#include "hw/host_intc.h"
#include "hw/interrupt_handler.h"
#include "hw/sparse_memory.h"
#include "mmu/page_walker.h"
#include "sim/core/fault_trace.h"
#include "sim/core/schema.h"

namespace fl::driver {

// The hardware the driver runs on and drives.
struct Platform {
  hw::HostCpu& cpu;
  hw::HostIntc& intc;
  hw::InterruptHandler& ih;
  hw::CopyEngine& sdma;
  mmu::PageWalker& walker;
  hw::SparseMemory& host_mem;
  hw::SparseMemory& vram;
  bool apu;  // GPU and CPU share memory behind an on-die link (is_app_apu)
  // The host IOMMU on the GPU's DMA path and its configuration (null: none).
  iommu::Iommu* iommu = nullptr;
  const config::Iommu* iommu_cfg = nullptr;
};

class Driver : public sc_core::sc_module {
 public:
  static constexpr uint16_t kPasid = 0x8000;
  static constexpr uint8_t kVmid = 8;
  static constexpr uint32_t kMsiVector = 0x40;
  static constexpr uint64_t kSdmaRingBytes = 1ULL << 20;

  Driver(sc_core::sc_module_name name, const config::Driver& cfg, const Platform& p,
         FaultTrace* trace);

  Svm& svm() { return svm_; }
  // No interrupt, fault or copy-engine job in progress.
  bool idle() const { return irq_.idle() && sdma_.idle() && iommu_.idle(); }
  hw::HostCpu& cpu() { return cpu_; }
  IommuDma& iommu() { return iommu_; }
  SdmaJobs& sdma() { return sdma_; }
  // The fence location the copy-engine jobs write (host physical / DMA address).
  uint64_t fence_addr() const { return layout_.fence; }
  // Pinned host memory and VRAM for the workload's own copies; throw InputError if full.
  uint64_t alloc_host(uint64_t bytes);
  uint64_t alloc_vram(uint64_t bytes);

 private:
  // Where the driver's start-up put things.
  struct Layout {
    uint64_t ih_ring;
    uint64_t ih_wptr_wb;
    uint64_t ih1_ring;
    uint64_t fence;
    uint64_t sdma_ring;
    uint64_t gart_table;
  };
  static Layout lay_out(const config::Driver& cfg, const Platform& p, PhysAllocator& host,
                        PhysAllocator& vram);

  hw::HostCpu& cpu_;
  PhysAllocator host_alloc_;
  PhysAllocator vram_alloc_;
  Layout layout_;
  IommuDma iommu_;
  SdmaJobs sdma_;
  GpuVm vm_;
  Migration migrate_;
  Svm svm_;
  IrqHandler irq_;
};

}  // namespace fl::driver
