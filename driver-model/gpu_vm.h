// GPUVM page tables of one process's VM (amdgpu_vm.c, amdgpu_vm_pt.c, amdgpu_vm_sdma.c) and
// the TLB flush (gmc_v9_0.c gmc_v9_0_flush_gpu_tlb, kfd_flush_tlb).
//
// Models: the 4-level tree (mmu/gpuvm_pte.h, laid out by mmu::PageTableBuilder) in VRAM
// or system memory (page_table_location). The root is allocated at start-up; the driver
// programs it as the VMID's page-table base. An update builds one copy-engine job: WRITE
// packets for PDEs of newly allocated tables (pt_alloc_ns each, zero-filled), PTEPDE
// packets for contiguous VRAM runs (PTEs generated on the engine, with the largest
// fragment the alignment and max_fragment allow; 2 MiB and 1 GiB PDE-as-PTE pages where a
// fragment covers a whole directory entry), WRITE packets carrying PTE values for system
// pages (per_pte_ns each on the CPU); it costs update_ns, is submitted, and the caller waits
// for its fence. The flush writes VM_INVALIDATE_ENG17_REQ for the VMID (all caches, as
// gmc_v9_0_get_invalidate_req asks), then reads
// VM_INVALIDATE_ENG17_ACK until the VMID's bit is set, busy-waiting tlb_poll_interval_ns
// between reads (udelay(1)); a flush not acknowledged in tlb_timeout_ns is an error.
// With update_mode CPU (amdgpu_vm_cpu.c) the CPU writes the entries itself (cpu_pte_ns an
// entry, then hdp_flush_ns for the commit's barrier and HDP flush): no job and no fence.
// Abstracts away: the KIQ/MES firmware path for flushes (the register path is modelled),
// the semaphore of MMHUB flushes, PT clearing by the copy engine (new tables are zeroed
// functionally), returning freed page tables' memory.
#pragma once

#include <map>
#include <vector>
#include <systemc>

#include "driver-model/driver_thread.h"
#include "driver-model/memory_managers.h"
#include "driver-model/sdma_jobs.h"
#include "hw/sparse_memory.h"
#include "mmu/page_table.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/timeline.h"

namespace fl::driver {

enum class TlbFlush : uint32_t { kLegacy = 0, kLightweight = 1, kHeavyweight = 2 };

class GpuVm : public sc_core::sc_module {
 public:
  GpuVm(sc_core::sc_module_name name, const config::GpuVm& cfg, SdmaScheduler& jobs,
        PhysAllocator& vram_alloc, hw::SparseMemory& vram, PhysAllocator& host_alloc,
        hw::SparseMemory& host_mem, uint8_t vmid);

  // A run of pages contiguous in VA and in physical memory.
  struct Run {
    uint64_t va;
    uint64_t pages;
    uint64_t pa;   // VRAM address, or DMA address of system memory
    bool system;
  };
  // Writes PTEs for `runs` (in VA order): one copy-engine job per stretch of runs in the
  // same memory domain (svm_range_map_to_gpu calls amdgpu_vm_update_range per domain
  // segment), then waits for the last job's fence.
  void map(DriverThread& t, const std::vector<Run>& runs, bool writeable);
  // Clears the PTEs of [va, va + pages * 4 KiB) (one job, fence waited for).
  void unmap(DriverThread& t, uint64_t va, uint64_t pages);
  void flush_tlb(DriverThread& t, TlbFlush type);
  // amdgpu_vm_handle_fault after a failed restore of a compute VM: writes the page's PTE
  // with AMDGPU_VM_NORETRY_FLAGS (EXECUTABLE | PDE_PTE | TF, not valid), so the replayed
  // access takes a no-retry (fatal) fault. No TLB flush: invalid entries are not cached.
  void map_noretry(DriverThread& t, uint64_t va);

  uint8_t vmid() const { return vmid_; }
  // The page-table base register value (root address with the PDE's VALID/SYSTEM bits).
  uint64_t root_pde() const { return builder_.root_pde(); }
  // Draws page-table updates and TLB flushes on lanes "driver.vm N" (sim/core/timeline.h).
  void set_timeline(Timeline* t) { tl_ = std::make_unique<TimelineLanes>(*t, name(), timeline_sort::kGpuVm); }

 private:
  // Packets for the builder's writes; CPU time for tables it allocated meanwhile.
  void add_writes(DriverThread& t, const std::vector<mmu::PtWrite>& writes,
                  std::vector<hw::SdmaPacket>& pkts);
  uint64_t alloc_table();
  // CPU update mode: writes the entries functionally, charging core time; false in SDMA mode.
  bool cpu_update(DriverThread& t, const std::vector<mmu::PtWrite>& writes);
  // Core time for page tables the builder allocated since the last call.
  void account_tables(DriverThread& t);
  // Submits `pkts` as one job, or as several of at most kMaxJobBytes each; returns the
  // last fence.
  uint32_t submit(DriverThread& t, SdmaJobs& jobs, std::vector<hw::SdmaPacket> pkts, uint32_t last_fence);

  static constexpr uint64_t kMaxJobBytes = 64 * 1024;       // AMDGPU_VM_SDMA_MAX_NUM_DW (16 Ki dwords)
  static constexpr uint64_t kMaxEntriesPerPacket = 8192;     // one WRITE/PTEPDE packet's entries

  config::GpuVm cfg_;
  SdmaScheduler& jobs_;
  PhysAllocator& table_alloc_;
  hw::SparseMemory& table_mem_;
  bool tables_in_system_;
  uint8_t vmid_;
  mmu::PageTableBuilder builder_;
  uint64_t allocated_seen_ = 0;
  std::unique_ptr<TimelineLanes> tl_;  // null: no timeline

  // The root page directory's reservation (dma_resv ww_mutex), held while a page-table
  // update is built and submitted (amdgpu_vm_update_range under the VM's reservation).
  hw::HostLock root_resv_{"root_resv", false};
  stats::Group stats_;
  stats::Counter updates_{stats_, "updates", "count", "Page-table updates (each one copy-engine job)"};
  stats::Counter ptes_{stats_, "ptes_written", "count", "PTEs written"};
  stats::Counter tables_allocated_{stats_, "tables_allocated", "count", "Page-table and page-directory pages allocated"};
  stats::Counter cpu_updates_{stats_, "cpu_updates", "count", "Page-table updates written by the CPU (update_mode CPU)"};
  stats::Counter split_jobs_{stats_, "split_jobs", "count", "Extra copy-engine jobs an update needed because it exceeded one job's size"};
  stats::Counter flushes_{stats_, "tlb_flushes", "count", "TLB flushes"};
  stats::Counter polls_{stats_, "tlb_ack_polls", "count", "Reads of the invalidation ACK register"};
  stats::Histogram update_ns_{stats_, "update_ns", "ns", "Mapping from the first update's start to the last fence signalled"};
  stats::Histogram flush_ns_{stats_, "tlb_flush_ns", "ns", "TLB flush from start to ACK seen"};
};

}  // namespace fl::driver
