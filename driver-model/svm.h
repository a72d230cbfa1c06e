// KFD shared virtual memory of one process (kfd_svm.c, kfd_migrate.c): its address space,
// SVM ranges and attributes, the retry-fault handler svm_range_restore_pages, migration
// both ways, and the MMU-notifier callback svm_range_cpu_invalidate_pagetables
// (driver-facts.md sections 1.5, 2, 3 and 9).
//
// Retry fault, in the kernel's order, each step timed: restore_entry_ns (process lookup by
// PASID, locks, range lookup); a fault while the process drains faults after an munmap is
// dropped; with XNACK off it fails (-EFAULT); a fault outside every range creates an
// unregistered range (range_create_ns) of the 2 MiB around the address clipped to its VMA
// and neighbouring ranges; a fault on a range validated less than duplicate_window_ns ago
// is dropped as a duplicate (per range); the VMA must allow the access (-EPERM; VM_IO
// -EFAULT); the location (svm_range_best_restore_location): the preferred location if it
// is this GPU or system memory, else this GPU if it has ACCESS, else with ACCESS_IN_PLACE
// where the range is, else -EACCES; PAGE_FAULT_START; the window of 2^granularity pages
// around the address clipped to the range is migrated if it is not where it should be
// (to VRAM, or back to system memory), falling back to system memory when VRAM cannot be
// had even after evicting other ranges (LRU); then svm_range_validate_and_map: copy-on-
// write pages are broken for a writable VMA, the notifier sequence is read (waiting while an
// invalidation of the range is between its start and end), the pages are
// collected and DMA-mapped (map_per_page_ns a page, the IOMMU when it translates), the
// sequence is checked (changed: -EAGAIN, the fault's filter entry is removed and the
// access faults again), the PTEs written through the copy engine, the fence waited for, a
// legacy TLB flush; PAGE_FAULT_END (M or U). A failed fault (-EACCES, -EPERM, -EFAULT)
// writes a no-retry PTE (amdgpu_vm_handle_fault), so the replay is a fatal VM fault.
//
// A group of faults (driver.irq.fault_service = BATCHED: one 2 MiB block's de-duplicated
// faults of a batch) is served once: one lookup (restore_entry_ns) under the locks; per
// fault the range is found or created and the permission and location checks are made; a
// fault whose page is already mapped where it belongs is counted as already valid (the
// batch path's duplicate check is per page, not the 2 ms per-range window); then per range
// the union of the faults' spans (driver.svm.prefetch: granularity windows, or UVM's
// density prefetch) is migrated, and mapped with one page-table update and one TLB flush.
//
// Ranges: a range tree keyed by start (KFD's ranges are disjoint, so the ordered map is the
// interval tree, and each range is one MMU interval notifier with its own sequence).
// SET_ATTR splits ranges at its boundaries (svm_range_split: the halves share the VRAM
// buffer) and merges neighbours left with equal attributes and state; registration splits
// ranges at max_svm_range_pages (1/32 of VRAM, clamped to 2^9..2^18 pages, a power of
// two). VRAM: a range's buffer (svm_bo) is allocated on its first migration; when VRAM is
// full the least recently used other ranges are migrated back (trigger TTM_EVICTION)
// until it fits.
//
// Invalidation (notifier_strategy, per seed 004): munmap always unmaps the range from the
// GPU (UNMAP_FROM_GPU trigger UNMAP_FROM_CPU: PTEs cleared, fence, heavyweight TLB flush)
// and then drains retry faults (drain_poll_ns); other events (COW at fork and on write,
// mprotect, migration) on GPU-mapped pages: WAIT_FOR_GPU waits for the GPU work using the
// pages, then unmaps them; EVICT_QUEUES marks the ranges invalid and evicts the process's
// queues (the first evicted range), and the restore worker maps them again and restores
// the queues restore_delay_ns later (rescheduled if more were evicted meanwhile);
// UNMAP_FROM_GPU unmaps them and lets retry faults restore them. AUTO is what KFD does:
// EVICT_QUEUES with XNACK off (or a GPU_ALWAYS_MAPPED range), UNMAP_FROM_GPU with XNACK on.
// The CPU operation blocks for the whole callback: notifier.block_ns by strategy.
//
// CPU side: anonymous mappings (driver-model/address_space.h) whose pages a migration
// makes device-private; a CPU access to one faults (cpu_fault_ns) and migrates the
// range's granularity window back (trigger PAGEFAULT_CPU); fork, munmap, mprotect and COW
// breaks go through the address space, which calls the notifier.
//
// Abstracts away: several GPUs and XGMI hives (one GPU; ACCESS bitmaps are one bit),
// page-granular hmm pfns (a window's pages are collected together), the svm_bo eviction
// fence and its worker (VRAM is reclaimed inline by the thread that needs it), partial
// child ranges of the deferred-work list (a split is immediate), the per-range
// migrate_mutex (ranges are serialised by the fault worker).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <systemc>

#include "driver-model/address_space.h"
#include "driver-model/fault_prefetch.h"
#include "driver-model/gpu_vm.h"
#include "driver-model/iommu_dma.h"
#include "driver-model/irq.h"
#include "driver-model/memory_managers.h"
#include "driver-model/migration.h"
#include "driver-model/queue_eviction.h"
#include "driver-model/smi_events.h"
#include "sim/core/fault_trace.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/timeline.h"

namespace fl::driver {

// KFD_IOCTL_SVM_FLAG_* (include/uapi/linux/kfd_ioctl.h).
namespace svm_flag {
constexpr uint32_t kHostAccess = 0x1;
constexpr uint32_t kCoherent = 0x2;
constexpr uint32_t kHiveLocal = 0x4;
constexpr uint32_t kGpuRo = 0x8;
constexpr uint32_t kGpuExec = 0x10;
constexpr uint32_t kGpuReadMostly = 0x20;
constexpr uint32_t kGpuAlwaysMapped = 0x40;
constexpr uint32_t kExtCoherent = 0x80;
constexpr uint32_t kAll = 0xff;
}  // namespace svm_flag

// A VRAM buffer shared by the pieces of a split range (svm_bo); freed with its last piece.
struct VramBo {
  VramBo(PhysAllocator& a, uint64_t addr_, uint64_t bytes_) : alloc(a), addr(addr_), bytes(bytes_) {}
  ~VramBo() { alloc.free(addr, bytes); }
  VramBo(const VramBo&) = delete;
  VramBo& operator=(const VramBo&) = delete;
  PhysAllocator& alloc;
  uint64_t addr;
  uint64_t bytes;
};

struct SvmRange {
  uint64_t start = 0;  // bytes, page aligned
  uint64_t end = 0;
  bool registered = false;
  wl::Location preferred = wl::UNDEFINED;
  wl::Location prefetch = wl::UNDEFINED;
  wl::Access access = wl::ACCESS_DEFAULT;
  uint32_t flags = svm_flag::kHostAccess | svm_flag::kCoherent;
  uint32_t granularity = 9;
  std::shared_ptr<VramBo> bo;
  uint64_t bo_first = 0;            // page of `bo` holding this range's first page
  std::vector<uint8_t> in_vram;     // per page
  std::vector<uint8_t> gpu_mapped;  // per page: PTE valid on the GPU
  std::optional<sc_core::sc_time> validated_at;
  uint64_t seq = 0;        // the range's MMU interval notifier sequence
  uint64_t last_use = 0;   // LRU stamp for VRAM eviction
  bool invalid = false;    // evicted (EVICT_QUEUES / WAIT_FOR_GPU): to be mapped again

  uint64_t pages() const { return (end - start) >> 12; }
  bool any_vram() const;
  bool any_mapped() const;
};

// Attribute changes of one SET_ATTR (unset: unchanged).
struct AttrChange {
  std::optional<wl::Location> preferred;
  std::optional<wl::Location> prefetch;
  std::optional<wl::Access> access;
  uint32_t set_flags = 0;
  uint32_t clr_flags = 0;
  std::optional<uint32_t> granularity;
};

class Svm : public sc_core::sc_module, public FaultHandler {
 public:
  Svm(sc_core::sc_module_name name, const config::Driver& cfg, GpuVm& vm, Migration& migrate,
      PhysAllocator& host_alloc, PhysAllocator& vram_alloc, bool apu, uint16_t pasid, bool xnack,
      SmiEvents& smi, QueueEviction& queues, hw::HostCpu& cpu, FaultTrace* trace);

  // ---- the SVM API and the process's mappings (the workload's operations)
  // mmap of anonymous memory, resident in system memory. Returns the address.
  uint64_t mmap(uint64_t bytes, std::optional<uint64_t> va, VmaFlags flags = {});
  // Reserves VA for a device-memory BO (no host backing, no VMA): at `va`, or at the next
  // free address aligned to `align`. Overlaps with mappings are errors.
  uint64_t reserve_va(uint64_t bytes, uint64_t align, std::optional<uint64_t> va);
  // SET_ATTR on [va, va + bytes) (inside mappings): ranges are created where there are none
  // (registered), split at the boundaries, changed and merged. With XNACK off (or
  // GPU_ALWAYS_MAPPED) ranges the GPU can access are mapped at once.
  void set_attr(DriverThread& t, uint64_t va, uint64_t bytes, const AttrChange& c);
  // PREFETCH_LOC: migrate [va, va + bytes) to `loc` and map it on the GPU.
  void prefetch(DriverThread& t, uint64_t va, uint64_t bytes, wl::Location loc);
  // AMDKFD_IOC_SET_XNACK_MODE (the driver reprograms the VMID's retry bit).
  void set_xnack(bool on) { xnack_ = on; }
  bool xnack() const { return xnack_; }

  // ---- CPU-side operations of the process (or of a forked child: `process` non-empty)
  void munmap(DriverThread& t, uint64_t va, uint64_t bytes);
  void mprotect(DriverThread& t, uint64_t va, uint64_t bytes, bool read, bool write);
  void fork(DriverThread& t, const std::string& child);
  void cpu_touch(DriverThread& t, const std::string& process, uint64_t va, uint64_t bytes, bool write);
  bool has_process(const std::string& child) const { return children_.count(child) != 0; }

  // ---- the GPU's use of memory, for WAIT_FOR_GPU (the fences in the BOs' reservations)
  uint64_t gpu_job_begin(uint64_t va, uint64_t bytes);
  void gpu_job_end(uint64_t id);
  // Before a dispatch with XNACK off: maps ranges left invalid (WAIT_FOR_GPU), as a
  // command submission revalidates its userptr BOs.
  void revalidate(DriverThread& t);

  FaultResult handle_retry_fault(DriverThread& t, const RetryFault& f) override;
  void handle_fault_group(DriverThread& t, const std::vector<RetryFault>& faults) override;

  uint16_t pasid() const { return pasid_; }
  // With a translating IOMMU, system pages the GPU maps are dma_mapped (unless PRI faults
  // them in), and process memory is made known to the PPR handler.
  void set_iommu(IommuDma* iommu) { iommu_ = iommu; }
  // The interrupt handler has nothing left to process (fault draining waits for this).
  void set_irq_idle(std::function<bool()> fn) { irq_idle_ = std::move(fn); }
  // Draws each fault service (lanes "driver.svm.restore_pages N", with its steps), each
  // MMU-notifier callback that acts ("driver.svm.notifier N") and each run of the restore
  // worker ("driver.svm.restore_worker N") on `t` (sim/core/timeline.h).
  void set_timeline(Timeline* t);

  // ---- inspection (tests, stats)
  const AddressSpace& mm() const { return mm_; }
  const AddressSpace* child(const std::string& name) const;
  const std::map<uint64_t, SvmRange>& ranges() const { return ranges_; }
  const SvmRange* find_range(uint64_t va) const;
  uint64_t max_range_pages() const { return max_range_pages_; }
  config::Svm::NotifierStrategy strategy(const SvmRange* r = nullptr) const;
  // Where page `va` of the process is now: in VRAM at the returned address, or (system)
  // at the host frame; nullopt outside every mapping.
  struct Placement {
    bool vram;
    uint64_t pa;
  };
  std::optional<Placement> placement(uint64_t va) const;
  bool draining() const { return draining_; }
  // The process's locks, for fault injection (the workload's hold_lock).
  hw::HostLock& mmap_lock() { return mmap_lock_; }
  // mmu_notifier_register by another part of the driver (userptr BOs) on the process's mm.
  void subscribe_mm(AddressSpace::Subscriber fn) { mm_.subscribe(std::move(fn)); }
  hw::HostLock& svms_lock() { return svms_lock_; }

 private:
  // The result of one fault service, for stats and the fault ledger.
  enum class Served { kMigrated, kUpdated, kDuplicate, kRetried, kFailed, kDrained, kIgnored };

  // Timeline: the steps of one piece of work, one after another, drawn inside its slice.
  struct TlSteps {
    struct Step {
      const char* name;
      uint64_t begin_ps, end_ps;
      std::string args;
    };
    uint64_t mark_ps = 0;  // where the next step begins
    std::vector<Step> steps;
    // A step from the mark to now (left out if empty); the mark moves to now.
    void step(const char* name, std::string args = "");
    // Draws the work on a lane of `lanes`, its steps inside it.
    void draw(TimelineLanes& lanes, const char* name, uint64_t begin_ps, const std::string& args) const;
  };

  Served restore_pages(DriverThread& t, const RetryFault& f, TlSteps* steps = nullptr);
  // Stats and the fault ledger's outcome for one fault served `s` in `ns`.
  void record(const RetryFault& f, Served s, double ns);
  // The spans of `r` a service of faults on pages `faulted` (sorted indices) handles, per
  // the prefetch policy.
  std::vector<PageSpan> service_spans(const SvmRange& r, const std::vector<uint64_t>& faulted, wl::Location dest) const;
  SvmRange* find_range(uint64_t va);
  std::vector<SvmRange*> overlapping(uint64_t start, uint64_t end);
  SvmRange new_range(uint64_t start, uint64_t end, bool registered) const;
  SvmRange& create_unregistered(uint64_t va, const Vma& vma);
  // Makes a range start at `at` (splitting the one containing it).
  void split_at(uint64_t at);
  // Merges neighbours of equal attributes and state around [start, end).
  void merge_around(uint64_t start, uint64_t end);
  std::optional<wl::Location> best_location(const SvmRange& r) const;
  // The migration window around `va`: 2^granularity pages, aligned, clipped to the range
  // (first page index in the range, page count).
  static std::pair<uint64_t, uint64_t> window(const SvmRange& r, uint64_t va);
  bool gpu_access(const SvmRange& r) const;

  // Migrates pages [first, first + n) of `r` to `loc`; false if VRAM could not be had.
  bool migrate(DriverThread& t, SvmRange& r, uint64_t first, uint64_t n, wl::Location loc, MigrateTrigger why);
  bool ensure_bo(DriverThread& t, SvmRange& r);
  void evict_vram(DriverThread& t, const SvmRange& keep);
  // svm_range_validate_and_map of the pages in `spans` (sorted, disjoint): one page-table
  // update and one TLB flush for all of them; false on -EAGAIN. `reports` are the fault
  // ledger ids of the faults served (milestones), the first one owning the mapping.
  bool validate_and_map(DriverThread& t, SvmRange& r, const std::vector<PageSpan>& spans,
                        const std::vector<uint64_t>& reports);
  std::vector<GpuVm::Run> runs(const SvmRange& r, uint64_t first, uint64_t n) const;
  uint64_t page_pa(const SvmRange& r, uint64_t i) const;
  // Clears the GPU mapping of mapped pages in [start, end) (UNMAP_FROM_GPU events, PTEs,
  // fence, heavyweight flush).
  void unmap_from_gpu(DriverThread& t, uint64_t start, uint64_t end, UnmapTrigger why);

  // The MMU-notifier callback (svm_range_cpu_invalidate_pagetables).
  void invalidate(const NotifyRange& nr, DriverThread* t);
  void wait_for_gpu(DriverThread& t, uint64_t start, uint64_t end);
  void schedule_restore(double delay_ns);
  // Maps every range marked invalid again (revalidate_ns each) and clears the mark.
  void map_invalid_ranges(DriverThread& t);
  void restore_worker();
  void start_drain();
  uint32_t smi_loc(wl::Location l) const;

  config::Svm cfg_;
  config::Mm mm_cfg_;
  GpuVm& vm_;
  Migration& migrate_;
  PhysAllocator& host_alloc_;
  PhysAllocator& vram_alloc_;
  bool apu_;
  uint16_t pasid_;
  bool xnack_;
  SmiEvents& smi_;
  QueueEviction& queues_;
  hw::HostCpu& cpu_;
  FaultTrace* trace_;
  IommuDma* iommu_ = nullptr;
  std::function<bool()> irq_idle_;
  uint64_t max_range_pages_;
  std::unique_ptr<FaultPrefetch> prefetch_;
  std::unique_ptr<TimelineLanes> tl_pages_, tl_notifier_, tl_restore_;  // null: no timeline

  FrameTable frames_;
  AddressSpace mm_;
  std::map<std::string, std::unique_ptr<AddressSpace>> children_;
  std::map<uint64_t, uint64_t> device_vas_;  // device-memory BOs: start -> end
  std::map<uint64_t, SvmRange> ranges_;      // by start
  uint64_t next_va_ = 0x7f0000000000ULL;
  uint64_t use_clock_ = 0;

  // GPU work using memory (WAIT_FOR_GPU): id -> [start, end)
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> gpu_jobs_;
  uint64_t next_job_ = 1;
  sc_core::sc_event gpu_jobs_event_;

  // Invalidations between their start and end (mmu_interval_read_begin waits on them).
  std::multiset<std::pair<uint64_t, uint64_t>> active_;
  sc_core::sc_event invalidation_done_;
  // EVICT_QUEUES: ranges evicted since the last restore (svms->evicted_ranges).
  uint32_t evicted_ranges_ = 0;
  bool restore_scheduled_ = false;
  bool draining_ = false;
  bool drain_running_ = false;

  // The process's mmap_lock (rw-semaphore) and its SVM range list lock (svms->lock):
  // a fault holds mmap_lock for reading throughout and svms->lock for the lookup; SET_ATTR
  // and prefetch hold both; munmap, mprotect and fork hold mmap_lock for writing; a CPU
  // fault holds it for reading.
  hw::HostLock mmap_lock_{"mmap_lock", true};
  hw::HostLock svms_lock_{"svms_lock", false};
  stats::Group stats_;
  stats::Counter faults_{stats_, "faults", "count", "Retry faults handled by svm_range_restore_pages"};
  stats::Counter duplicates_{stats_, "duplicates", "count", "Faults ignored: range validated within the duplicate window"};
  stats::Counter migrated_{stats_, "restored_migrated", "count", "Faults restored by migrating (PAGE_FAULT_END 'M')"};
  stats::Counter mapped_{stats_, "restored_mapped", "count", "Faults restored by mapping pages where they were (PAGE_FAULT_END 'U')"};
  stats::Counter retried_{stats_, "eagain", "count", "Faults that returned -EAGAIN: the range was invalidated while being mapped"};
  stats::Counter failed_{stats_, "failed", "count", "Faults that failed (-EACCES, -EPERM, -EFAULT): a no-retry PTE makes the replay fatal"};
  stats::Counter drained_{stats_, "drained", "count", "Faults dropped while draining after an munmap"};
  stats::Counter vram_fallbacks_{stats_, "vram_fallbacks", "count", "Faults served from system memory because VRAM could not be allocated"};
  stats::Counter ranges_created_{stats_, "ranges_created", "count", "Unregistered ranges created by faults"};
  stats::Counter splits_{stats_, "range_splits", "count", "Range splits (SET_ATTR boundaries, munmap, max_svm_range_pages)"};
  stats::Counter merges_{stats_, "range_merges", "count", "Neighbouring ranges merged after SET_ATTR"};
  stats::Counter prefetches_{stats_, "prefetches", "count", "PREFETCH_LOC requests"};
  stats::Counter vram_evictions_{stats_, "vram_evictions", "count", "Ranges migrated back to system memory to make room in VRAM (TTM_EVICTION)"};
  stats::Counter cpu_faults_{stats_, "cpu_faults", "count", "CPU page faults on pages in VRAM (migrated back, PAGEFAULT_CPU)"};
  stats::Counter cow_breaks_{stats_, "cow_breaks", "count", "Copy-on-write breaks (CPU writes and GPU mappings of writable COW pages)"};
  stats::Counter invalidations_{stats_, "notifier.invalidations", "count", "MMU-notifier callbacks that overlapped SVM ranges"};
  stats::Counter ev_unmap_{stats_, "notifier.events_unmap", "count", "Notifier callbacks on SVM ranges for MMU_NOTIFY_UNMAP (munmap)"};
  stats::Counter ev_clear_{stats_, "notifier.events_clear", "count", "Notifier callbacks on SVM ranges for MMU_NOTIFY_CLEAR (COW break)"};
  stats::Counter ev_prot_vma_{stats_, "notifier.events_protection_vma", "count", "Notifier callbacks on SVM ranges for MMU_NOTIFY_PROTECTION_VMA (mprotect)"};
  stats::Counter ev_prot_page_{stats_, "notifier.events_protection_page", "count", "Notifier callbacks on SVM ranges for MMU_NOTIFY_PROTECTION_PAGE (fork write-protecting COW pages)"};
  stats::Counter ev_migrate_{stats_, "notifier.events_migrate", "count", "Notifier callbacks on SVM ranges for MMU_NOTIFY_MIGRATE"};
  // Indexed by NotifyEvent.
  stats::Counter* by_event_[5] = {&ev_unmap_, &ev_clear_, &ev_prot_vma_, &ev_prot_page_, &ev_migrate_};
  stats::Counter gpu_unmaps_{stats_, "notifier.gpu_unmaps", "count", "UNMAP_FROM_GPU operations (PTEs cleared and heavyweight TLB flush)"};
  stats::Histogram block_wait_{stats_, "notifier.block_ns_wait_for_gpu", "ns", "Time a CPU operation was blocked in the notifier, WAIT_FOR_GPU"};
  stats::Histogram block_evict_{stats_, "notifier.block_ns_evict_queues", "ns", "Time a CPU operation was blocked in the notifier, EVICT_QUEUES"};
  stats::Histogram block_unmap_{stats_, "notifier.block_ns_unmap_from_gpu", "ns", "Time a CPU operation was blocked in the notifier, UNMAP_FROM_GPU (and every munmap)"};
  stats::Histogram restore_delay_ns_{stats_, "restore_delay_ns", "ns", "First range eviction to the restore worker's queues restored"};
  stats::Counter restore_rescheduled_{stats_, "restore_rescheduled", "count", "Restore worker runs put off because ranges were evicted meanwhile"};
  stats::Histogram ns_migrated_{stats_, "fault_ns_migrated", "ns", "svm_range_restore_pages duration, faults restored by migrating"};
  stats::Histogram ns_updated_{stats_, "fault_ns_updated", "ns", "svm_range_restore_pages duration, faults restored by mapping in place"};
  stats::Histogram ns_duplicate_{stats_, "fault_ns_duplicate", "ns", "svm_range_restore_pages duration, duplicates"};
  stats::Histogram ns_retried_{stats_, "fault_ns_retried", "ns", "svm_range_restore_pages duration, faults that returned -EAGAIN"};
  stats::Counter groups_{stats_, "fault_groups", "count", "Fault groups serviced at once (BATCHED fault service: one block's faults of a batch)"};
  stats::Counter already_valid_{stats_, "already_valid", "count", "Faults in a group whose page was already mapped where it belongs (serviced by an earlier batch)"};
  stats::Histogram group_faults_{stats_, "group_faults", "faults", "Faults in one serviced group"};
  stats::Histogram group_pages_{stats_, "group_pages", "pages", "Pages migrated or mapped by one serviced group (its windows and prefetch)"};
  stats::Histogram restore_ns_{stats_, "restore_ns", "ns", "svm_range_restore_pages duration for faults that restored a mapping"};
  sc_core::sc_time first_evicted_at_;
};

}  // namespace fl::driver
