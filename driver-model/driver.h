// The driver model: amdgpu + KFD on the host, for one KFD process (XNACK on unless
// driver.vm.noretry; the workload may switch it before its first queue).
//
// Builds and wires its parts (driver.sdma, driver.vm, driver.migrate, driver.queues,
// driver.svm, driver.irq, and the SMI event recorder) and performs the driver's start-up, untimed: host memory for the IH ring, its
// WPTR write-back, IH1, the copy-engine ring and the fence; VRAM for the page-table root and
// the GART window; then programs the IH (rings, write-back, MSI), the copy engine's ring, the
// process VMID's context in the VM L2 block (VM_CONTEXTn_CNTL with retry faults unless
// driver.vm.noretry, the page-table base, the PASID mapping), and registers the interrupt
// handler for the IH's MSI vector. The process has PASID 0x8000 (the first
// amdgpu_pasid_alloc value) and VMID 8 (the first KFD VMID on gfx9).
// A no-retry VM fault (the VMID's context without retry) is fatal for the process: a
// worker (kfd_signal_vm_fault_event, kfd_dqm_evict_pasid) kills its queues
// vm_fault_kill_ns after the interrupt is handled. Device memory (map_vram_bo) is a VRAM
// BO mapped on the GPU at once.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>
#include <systemc>

#include "driver-model/gpu_vm.h"
#include "driver-model/iommu_dma.h"
#include "driver-model/irq.h"
#include "driver-model/memory_managers.h"
#include "driver-model/migration.h"
#include "driver-model/queue_eviction.h"
#include "driver-model/sdma_jobs.h"
#include "driver-model/smi_events.h"
#include "driver-model/svm.h"
#include "driver-model/ttm.h"
#include "hw/copy_engine.h"
#include "hw/host_cpu.h"
#include "hw/host_intc.h"
#include "hw/interrupt_handler.h"
#include "hw/sparse_memory.h"
#include "mmu/utcl2.h"
#include "sim/core/fault_trace.h"
#include "sim/core/schema.h"

namespace fl::driver {

// The hardware the driver runs on and drives.
struct Platform {
  hw::HostCpu& cpu;
  hw::HostIntc& intc;
  hw::InterruptHandler& ih;
  hw::CopyEngine& sdma;
  mmu::Utcl2& utcl2;  // VM L2 block: context registers (programmed at start-up)
  hw::SparseMemory& host_mem;
  hw::SparseMemory& vram;
  bool apu;  // GPU and CPU share memory behind an on-die link (is_app_apu)
  // Evicts (kills) every queue of a VMID: the command processor's unmap for a dead process.
  std::function<void(uint8_t vmid)> kill_queues;
  std::vector<hw::CopyEngine*> more_sdma = {};  // copy engines after SDMA0
  // The host IOMMU on the GPU's DMA path and its configuration (null: none).
  iommu::Iommu* iommu = nullptr;
  const config::Iommu* iommu_cfg = nullptr;
  // The command processor's unmap / map of every queue of the process (queue eviction).
  QueueControl queues = {};
  // The GPU replays faulted accesses only when the driver issues a replay command
  // (soc.gpu.cu.replay = ON_REPLAY_COMMAND), not on its own retry timer.
  bool replay_on_command = false;
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
  SmiEvents& smi() { return smi_; }
  QueueEviction& queue_eviction() { return queues_; }
  Ttm& ttm() { return ttm_; }
  // AMDKFD_IOC_SET_XNACK_MODE: the process's XNACK mode and its VMID's retry-fault bit.
  void set_xnack(bool on);
  GpuVm& vm() { return vm_; }
  // The retry-fault service as a node of the wait-for graph (what an unmap waiting for a
  // queue's pending faults waits for).
  const WaitResource& fault_service() const { return irq_; }
  // Allocates a VRAM BO of `bytes` backed by chunks of `contiguous_bytes` (not physically
  // adjacent to each other), maps it at a VA aligned to the chunk size (or at `va`), and
  // flushes the TLB. Returns the VA.
  uint64_t map_vram_bo(DriverThread& t, uint64_t bytes, uint64_t contiguous_bytes,
                       std::optional<uint64_t> va);
  uint64_t vm_faults() const { return vm_faults_.value(); }
  // No interrupt, fault or copy-engine job in progress.
  bool idle() const { return irq_.idle() && sched_.idle() && iommu_.idle(); }
  // Draws the driver's threads and work on `t`: interrupt handler and workers, fault
  // services, migrations, page-table updates and TLB flushes, notifier callbacks, the
  // restore worker and queue evictions (sim/core/timeline.h, docs/timeline.md).
  void set_timeline(Timeline* t) {
    irq_.set_timeline(t);
    svm_.set_timeline(t);
    migrate_.set_timeline(t);
    vm_.set_timeline(t);
    queues_.set_timeline(t);
  }
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
    std::vector<uint64_t> more_sdma_rings;   // one per engine after SDMA0
    std::vector<uint64_t> more_sdma_fences;
  };
  static std::vector<std::unique_ptr<SdmaJobs>> more_jobs(const config::Driver& cfg, const Platform& p,
                                                          const Layout& l);
  std::vector<SdmaJobs*> all_jobs();
  static Layout lay_out(const config::Driver& cfg, const Platform& p, PhysAllocator& host,
                        PhysAllocator& vram);

  hw::HostCpu& cpu_;
  PhysAllocator host_alloc_;
  PhysAllocator vram_alloc_;
  Layout layout_;
  IommuDma iommu_;
  SdmaJobs sdma_;
  std::vector<std::unique_ptr<SdmaJobs>> sdma_more_;
  SdmaScheduler sched_;
  GpuVm vm_;
  Migration migrate_;
  SmiEvents smi_;
  QueueEviction queues_;
  Svm svm_;
  IrqHandler irq_;
  Ttm ttm_;
  std::function<void(uint8_t)> kill_queues_;
  mmu::Utcl2& utcl2_;

  stats::Group stats_;
  stats::Counter vm_faults_{stats_, "vm_faults", "count", "No-retry (fatal) GPU VM faults handled"};
  stats::Counter queues_killed_{stats_, "queue_kills", "count", "Processes whose queues were killed after a fatal VM fault"};
  stats::Counter bos_{stats_, "vram_bos", "count", "VRAM buffer objects allocated and mapped"};
};

}  // namespace fl::driver
