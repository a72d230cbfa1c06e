// Migration of SVM pages between system memory and VRAM (kfd_migrate.c,
// svm_migrate_to_vram and svm_migrate_vram_to_ram).
//
// Models: migrate_vma_setup collects and unmaps the CPU pages (setup_ns plus
// setup_per_page_ns a page); the pages are copied to their VRAM places in chunks of at most
// chunk_pages contiguous pages, each chunk a GART-window job (the chunk's system pages
// written as GART entries) followed by a copy job, submitted back to back on the copy
// engine; the thread waits for the last fence, then finalises (finalize_per_page_ns a page).
// Back to system memory is the same with the copy reversed (VRAM to the GART-mapped system
// pages). The SMI event MIGRATE_START/END pair brackets each call (the caller emits them);
// bytes are counted per trigger.
// Abstracts away: the GART window's VMID-0 translation (the copy reads the system pages'
// DMA addresses directly), VRAM-to-VRAM moves between GPUs.
#pragma once

#include <cstdint>
#include <systemc>

#include "driver-model/driver_thread.h"
#include "driver-model/iommu_dma.h"
#include "driver-model/sdma_jobs.h"
#include "driver-model/smi_events.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/timeline.h"

namespace fl::driver {

class Migration : public sc_core::sc_module {
 public:
  Migration(sc_core::sc_module_name name, const config::Migration& cfg, SdmaJobs& jobs,
            uint64_t gart_table);

  // Moves `pages` pages whose system copies start at DMA address `sys` to VRAM at `vram`.
  // Both are contiguous (the caller splits at discontinuities).
  void to_vram(DriverThread& t, uint64_t sys, uint64_t vram, uint64_t pages, MigrateTrigger why);
  // Moves `pages` pages from VRAM at `vram` back to system memory at DMA address `sys`.
  void to_ram(DriverThread& t, uint64_t vram, uint64_t sys, uint64_t pages, MigrateTrigger why);

  const config::Migration& cfg() const { return cfg_; }
  // With a translating IOMMU the source pages are dma_mapped for the copy and unmapped
  // after it (svm_migrate_copy_to_vram / svm_migrate_dma_unmap).
  void set_iommu(IommuDma* iommu) { iommu_ = iommu; }
  // Bytes migrated so far, both ways, every trigger.
  uint64_t bytes() const {
    return bytes_prefetch_.value() + bytes_fault_.value() + bytes_cpu_.value() + bytes_evict_.value();
  }
  // Draws each migration (setup to finalise, with its bytes) on lanes "driver.migrate N"
  // (sim/core/timeline.h).
  void set_timeline(Timeline* t) { tl_ = std::make_unique<TimelineLanes>(*t, name(), timeline_sort::kMigrate); }

 private:
  void move(DriverThread& t, uint64_t sys, uint64_t vram, uint64_t pages, bool to_vram, MigrateTrigger why);

  config::Migration cfg_;
  SdmaJobs& jobs_;
  uint64_t gart_table_;
  IommuDma* iommu_ = nullptr;
  std::unique_ptr<TimelineLanes> tl_;  // null: no timeline

  stats::Group stats_;
  stats::Counter migrations_{stats_, "migrations", "count", "Migrations to VRAM"};
  stats::Counter migrations_to_ram_{stats_, "migrations_to_ram", "count", "Migrations from VRAM back to system memory"};
  stats::Counter pages_{stats_, "pages", "count", "Pages migrated to VRAM"};
  stats::Counter pages_to_ram_{stats_, "pages_to_ram", "count", "Pages migrated back to system memory"};
  stats::Counter bytes_prefetch_{stats_, "bytes_prefetch", "bytes", "Bytes migrated for prefetches (trigger PREFETCH)"};
  stats::Counter bytes_fault_{stats_, "bytes_pagefault_gpu", "bytes", "Bytes migrated for GPU page faults (trigger PAGEFAULT_GPU)"};
  stats::Counter bytes_cpu_{stats_, "bytes_pagefault_cpu", "bytes", "Bytes migrated back for CPU page faults (trigger PAGEFAULT_CPU)"};
  stats::Counter bytes_evict_{stats_, "bytes_ttm_eviction", "bytes", "Bytes migrated back to free VRAM (trigger TTM_EVICTION)"};
  stats::Counter chunks_{stats_, "chunks", "count", "GART-window chunks copied"};
  stats::Histogram migrate_ns_{stats_, "migrate_ns", "ns", "Duration of one migration, setup to finalise"};
};

}  // namespace fl::driver
