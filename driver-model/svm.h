// KFD shared virtual memory of one process (kfd_svm.c): its VMAs, SVM ranges, and the
// retry-fault handler svm_range_restore_pages.
//
// Models, for a retry fault (driver-facts.md section 1.5, in order):
//   restore_entry_ns for the process lookup, locks and range lookup; a fault outside every
//   range creates an unregistered range (range_create_ns) of the 2 MiB around the address,
//   clipped to its VMA and neighbouring ranges; a fault on a range validated less than
//   duplicate_window_ns ago is a duplicate and ignored (the check is per range, so faults
//   on other pages of the range wait too); the VMA must allow the access; the best
//   location is the preferred one if set, else this GPU (XNACK on gives every GPU access),
//   and system memory on APUs; the window is 2^granularity pages around the address,
//   clipped to the range; pages not where they should be are migrated (or, for system
//   memory, collected and DMA-mapped: map_per_page_ns a page); then PTEs are written and
//   the TLB flushed (legacy), and the range's validation time is set.
// A range's VRAM is one buffer the size of the range, allocated on its first migration
// (svm_range_vram_node_new); page i of the range lives at offset i pages. If VRAM is full
// the fault is served from system memory.
// Abstracts away: several processes and GPUs, XNACK off, CPU faults and MMU notifiers,
// migration back to system memory, range splitting, access attributes (every range is
// accessible to the GPU), the fault-drain protocol.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>
#include <systemc>

#include "driver-model/gpu_vm.h"
#include "driver-model/iommu_dma.h"
#include "driver-model/irq.h"
#include "driver-model/memory_managers.h"
#include "driver-model/migration.h"
#include "sim/core/fault_trace.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"

namespace fl::driver {

struct Vma {
  uint64_t start = 0;
  uint64_t end = 0;
  bool writable = true;
  uint64_t sys_base = 0;  // host physical address backing `start` (DMA address, pass-through)
};

struct SvmRange {
  uint64_t start = 0;  // bytes, page aligned
  uint64_t end = 0;
  bool registered = false;
  wl::Location preferred = wl::UNDEFINED;
  uint32_t granularity = 9;
  std::optional<uint64_t> vram_bo;  // VRAM buffer, once allocated
  std::vector<bool> in_vram;        // per page
  std::optional<sc_core::sc_time> validated_at;

  uint64_t pages() const { return (end - start) >> 12; }
};

class Svm : public sc_core::sc_module, public FaultHandler {
 public:
  Svm(sc_core::sc_module_name name, const config::Svm& cfg, GpuVm& vm, Migration& migrate,
      PhysAllocator& host_alloc, PhysAllocator& vram_alloc, bool apu, uint16_t pasid,
      FaultTrace* trace);

  // mmap of anonymous memory, resident in system memory. Returns the address.
  uint64_t mmap(uint64_t bytes, std::optional<uint64_t> va);
  // Reserves VA for a device-memory BO (no host backing, no VMA): at `va`, or at the next
  // free address aligned to `align`. Overlaps with mappings are errors.
  uint64_t reserve_va(uint64_t bytes, uint64_t align, std::optional<uint64_t> va);
  // Registers [va, va + bytes) (inside one mapping) as an SVM range (SET_ATTR).
  void register_range(uint64_t va, uint64_t bytes, wl::Location preferred,
                      std::optional<uint32_t> granularity);
  void set_attr(uint64_t va, std::optional<wl::Location> preferred,
                std::optional<uint32_t> granularity);
  // PREFETCH_LOC: migrate the range to `loc` and map it on the GPU.
  void prefetch(DriverThread& t, uint64_t va, wl::Location loc);

  void handle_retry_fault(DriverThread& t, const RetryFault& f) override;

  uint16_t pasid() const { return pasid_; }
  // With a translating IOMMU, system pages the GPU maps are dma_mapped (unless PRI faults
  // them in), and process memory is made known to the PPR handler.
  void set_iommu(IommuDma* iommu) { iommu_ = iommu; }

 private:
  const Vma* find_vma(uint64_t va) const;
  void check_free(uint64_t start, uint64_t bytes) const;
  SvmRange* find_range(uint64_t va);
  SvmRange& create_unregistered(uint64_t va, const Vma& vma);
  wl::Location best_location(const SvmRange& r) const;
  // Makes pages [first, first + n) of `r` live in `loc`; false if VRAM could not be had.
  bool place(DriverThread& t, SvmRange& r, const Vma& vma, uint64_t first, uint64_t n,
             wl::Location loc, MigrateTrigger why);
  // PTE runs for pages [first, first + n) of `r`.
  std::vector<GpuVm::Run> runs(const SvmRange& r, const Vma& vma, uint64_t first, uint64_t n) const;
  uint64_t sys_addr(const Vma& vma, uint64_t va) const { return vma.sys_base + (va - vma.start); }

  config::Svm cfg_;
  GpuVm& vm_;
  Migration& migrate_;
  PhysAllocator& host_alloc_;
  PhysAllocator& vram_alloc_;
  bool apu_;
  uint16_t pasid_;
  FaultTrace* trace_;
  IommuDma* iommu_ = nullptr;
  std::map<uint64_t, Vma> vmas_;         // by start
  std::map<uint64_t, uint64_t> device_vas_;  // device-memory BOs: start -> end
  std::map<uint64_t, SvmRange> ranges_;  // by start
  uint64_t next_va_ = 0x7f0000000000ULL;

  // The process's mmap_lock (rw-semaphore) and its SVM range list lock (svms->lock):
  // a fault holds mmap_lock for reading throughout and svms->lock for the lookup; a
  // prefetch (svm_range_set_attr) holds both for its whole duration, mmap_lock for reading
  // (the kernel takes it for writing, then downgrades before migrating).
  hw::HostLock mmap_lock_{"mmap_lock", true};
  hw::HostLock svms_lock_{"svms_lock", false};
  stats::Group stats_;
  stats::Counter faults_{stats_, "faults", "count", "Retry faults handled by svm_range_restore_pages"};
  stats::Counter duplicates_{stats_, "duplicates", "count", "Faults ignored: range validated within the duplicate window"};
  stats::Counter migrated_{stats_, "restored_migrated", "count", "Faults restored in VRAM (migrating whatever was not there yet; PAGE_FAULT_END 'M')"};
  stats::Counter mapped_{stats_, "restored_mapped", "count", "Faults restored by mapping system memory (PAGE_FAULT_END 'U')"};
  stats::Counter vram_fallbacks_{stats_, "vram_fallbacks", "count", "Faults served from system memory because VRAM could not be allocated"};
  stats::Counter ranges_created_{stats_, "ranges_created", "count", "Unregistered ranges created by faults"};
  stats::Counter prefetches_{stats_, "prefetches", "count", "PREFETCH_LOC requests"};
  stats::Histogram restore_ns_{stats_, "restore_ns", "ns", "svm_range_restore_pages duration for faults that restored a mapping"};
};

}  // namespace fl::driver
