// The host's IOMMU driver and DMA API as amdgpu/KFD use them (drivers/iommu/amd/iommu.c,
// io_pgtable.c, drivers/iommu/dma-iommu.c), SystemC module driver.iommu.
//
// Models: start-up (untimed) allocates the device table, command buffer, event log and PPR
// log in host memory and programs the IOMMU; the GPU's device table entry is pass-through
// (soc.iommu.mode PASSTHROUGH) or points at the domain's 4-level IO page table (TRANSLATED,
// with ATS and PPR enabled as configured). dma_map writes IO PTEs for whole aligned IO
// pages up to max_io_page_bytes (map_per_page_ns each, table_alloc_ns per new table);
// dma_unmap clears them when their last mapping goes (unmap_per_page_ns) and, in strict
// mode as modelled here, invalidates: INVALIDATE_IOMMU_PAGES, INVALIDATE_IOTLB_PAGES when
// the GPU uses ATS, then COMPLETION_WAIT, whose semaphore the thread polls every
// completion_poll_ns (wait_on_sem). The IOMMU's interrupt runs a handler (isr_ns) that
// reports each event-log entry (event_ns; IO_PAGE_FAULT as the kernel prints it) and
// hands PPR-log entries to a worker, which (ppr_ns) maps the page if it belongs to the
// process's memory and completes the request with COMPLETE_PPR_REQUEST (success or
// invalid).
// IOVAs equal physical addresses (an identity IOVA allocator): the GPU is programmed with
// the same addresses in both modes, and pages mapped twice are reference-counted.
// Abstracts away: the IOVA allocator and its caches (dma-iommu's rcache), lazy (flush-queue)
// invalidation, scatter-gather merging, several domains or devices, interrupt remapping.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>
#include <systemc>

#include "driver-model/driver_thread.h"
#include "driver-model/memory_managers.h"
#include "hw/host_cpu.h"
#include "hw/host_intc.h"
#include "hw/sparse_memory.h"
#include "iommu/io_page_table.h"
#include "iommu/iommu.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"

namespace fl::driver {

class IommuDma : public sc_core::sc_module {
 public:
  static constexpr uint16_t kDomain = 1;
  static constexpr uint32_t kMsiVector = 0x41;
  static constexpr uint32_t kCommandEntries = 512;  // CMD_BUFFER_ENTRIES

  IommuDma(sc_core::sc_module_name name, const config::IommuDriver& cfg,
           const config::Iommu& hw_cfg, iommu::Iommu* hw, hw::HostCpu& cpu, hw::HostIntc& intc,
           hw::SparseMemory& host_mem, PhysAllocator& host_alloc);

  // The GPU's DMA is translated (every page it touches must be mapped).
  bool translating() const { return translating_; }
  // The GPU resolves missing translations through PRI (process pages need no up-front map).
  bool pri() const { return pri_; }

  // dma_map of [pa, pa + bytes) (page aligned); `t` null during untimed start-up.
  void map(DriverThread* t, uint64_t pa, uint64_t bytes);
  // dma_unmap, then the invalidation and its completion wait.
  void unmap(DriverThread& t, uint64_t pa, uint64_t bytes);
  // Memory of the process that PPR requests may fault in (svm mmap).
  void add_process_memory(uint64_t pa, uint64_t bytes);

  bool idle() const { return !isr_running_ && !irq_latched_ && ppr_queue_.empty() && !ppr_running_; }
  uint64_t io_page_faults() const { return io_page_faults_.value(); }
  const std::vector<std::string>& reports() const { return reports_; }

 private:
  void on_irq();
  void isr_thread();
  void ppr_thread();
  void queue_command(DriverThread& t, const iommu::Command& c);
  void flush(DriverThread& t, uint64_t pa, uint64_t bytes);
  void report_event(const iommu::Event& e);

  config::IommuDriver cfg_;
  iommu::Iommu* hw_;
  hw::HostCpu& cpu_;
  hw::SparseMemory& mem_;
  PhysAllocator& alloc_;
  bool translating_;
  bool ats_;
  bool pri_;
  std::unique_ptr<iommu::IoPageTable> table_;
  uint64_t cmd_buf_ = 0;
  uint32_t cmd_tail_ = 0;
  uint64_t event_log_ = 0;
  uint64_t ppr_log_ = 0;
  uint32_t log_entries_ = 0;
  uint32_t event_head_ = 0;
  uint32_t ppr_head_ = 0;
  uint64_t sem_ = 0;
  uint64_t sem_value_ = 0;
  std::map<uint64_t, uint32_t> refs_;  // 4 KiB page -> mappings
  std::map<uint64_t, uint64_t> leaves_;  // IO page base -> its size
  std::map<uint64_t, uint64_t> process_;  // process memory: start -> end
  bool irq_latched_ = false;
  bool isr_running_ = false;
  bool ppr_running_ = false;
  sc_core::sc_event irq_event_;
  sc_core::sc_event ppr_event_;
  std::deque<iommu::PprEntry> ppr_queue_;
  std::vector<std::string> reports_;

  stats::Group stats_;
  stats::Counter maps_{stats_, "maps", "count", "dma_map calls while translating"};
  stats::Counter mapped_pages_{stats_, "mapped_io_pages", "count", "IO pages mapped"};
  stats::Counter unmapped_pages_{stats_, "unmapped_io_pages", "count", "IO pages unmapped"};
  stats::Counter tables_{stats_, "tables_allocated", "count", "IO page-table pages allocated"};
  stats::Counter flushes_{stats_, "flushes", "count", "Invalidations ending in a COMPLETION_WAIT"};
  stats::Histogram flush_ns_{stats_, "flush_ns", "ns", "Time a dma_unmap waited for its invalidation to complete"};
  stats::Counter interrupts_{stats_, "interrupts", "count", "IOMMU interrupts handled"};
  stats::Counter io_page_faults_{stats_, "io_page_faults", "count", "IO_PAGE_FAULT events reported"};
  stats::Counter ppr_resolved_{stats_, "ppr_resolved", "count", "Page requests resolved by mapping the page"};
  stats::Counter ppr_invalid_{stats_, "ppr_invalid", "count", "Page requests for memory the process does not own (completed as invalid)"};
  stats::Histogram ppr_ns_{stats_, "ppr_ns", "ns", "Page request handling, interrupt to COMPLETE_PPR_REQUEST queued"};
};

}  // namespace fl::driver
