// The timed TTM driver of the KFD process: GTT and system buffer objects, their
// reservations with the process's eviction fence, TTM's pages limit, the shrinker that
// direct reclaim calls, and the eviction / restore of the process that a KFD BO's eviction
// causes (drivers/gpu/drm/ttm/ttm_bo.c ttm_bo_swapout, ttm_tt.c ttm_global_swapout,
// ttm_device.c ttm_device_swapout; amdgpu_amdkfd_gpuvm.c; amdgpu_amdkfd_fence.c
// amdkfd_fence_enable_signaling; kfd_process.c restore_process_worker). The placement
// bookkeeping (managers, LRU, victim choice, the limit) is ttm_resource.h.
//
// Models:
// - create: the BO gets a resource in its domain and its pages (a ttm_tt), counted against
//   the pages limit (driver.ttm.pages_limit_percent of host memory) and host memory; past the
//   limit TTM swaps other BOs out first (ttm_global_swapout), short of host memory direct
//   reclaim runs in the creating thread. A KFD BO's reservation holds the process's current
//   eviction fence (DMA_RESV_USAGE_BOOKKEEP), added by amdgpu_amdkfd_add_eviction_fence.
// - allocate_host (memory pressure): direct reclaim when host memory is short; the shrinker
//   (TTM's, the only one modelled) is asked for the difference.
// - The shrinker walks the LRUs of GTT then SYSTEM in eviction order (ttm_resource.h): a BO
//   whose reservation is contended is skipped (trylock); one with unsignalled fences is
//   handled by driver.ttm.fence_policy (FencePolicy below); otherwise its pages are copied
//   out (swap_gb_per_s, core time) and released. Each BO looked at costs scan_bo_ns.
// - Waiting on the eviction fence enables its signalling: the evict worker evicts the
//   process's queues (QUEUE_EVICTION, trigger TTM; the caller of the wait sleeps meanwhile)
//   and then signals the fence. restore_delay_ns later the restore worker makes a new
//   eviction fence, validates every evicted BO back (pages copied in; if they do not fit,
//   it tries again after the same delay), adds the fence to every KFD BO and restores the
//   queues (QUEUE_RESTORE).
// - In the wait-for graph the eviction fence's context needs the command processor's unmap
//   (which needs pending faults serviced when the GPU cannot preempt them), so a waiter
//   whose own locks hold that service up closes a cycle and the run stops (exit 3).
// Abstracts away: other shrinkers and the page cache (reclaim frees only TTM pages), swap
// I/O (swapped pages are copied to shmem and stay in memory the limit does not count),
// VRAM BOs (vram_alloc maps device memory without TTM eviction), GPU page-table updates of
// evicted GTT BOs (KFD's queues are off the GPU while they are evicted), the ticketed
// second eviction pass (the trylock pass is the only one), and the OOM killer (an
// allocation reclaim cannot satisfy fails and is counted).
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "driver-model/address_space.h"
#include "driver-model/dma_fence.h"
#include "driver-model/driver_thread.h"
#include "driver-model/queue_eviction.h"
#include "driver-model/ttm_resource.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"

namespace fl::driver {

// What the shrinker does with a BO whose reservation has unsignalled fences: one class per
// variant of driver.ttm.fence_policy.
class ShrinkerFencePolicy {
 public:
  virtual ~ShrinkerFencePolicy() = default;
  virtual const char* name() const = 0;
  // Whether KFD BOs are pinned when created (then the shrinker never sees them).
  virtual bool pins_kfd_bos() const { return false; }
  // Whether to skip this BO rather than wait for `pending` (all unsignalled); waiting is
  // the default.
  virtual bool skip(const std::vector<std::shared_ptr<DmaFence>>& /*pending*/) const { return false; }
};

std::unique_ptr<ShrinkerFencePolicy> make_shrinker_fence_policy(config::Ttm::FencePolicy p);

class Ttm : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Ttm);
  // `host_bytes` is host memory; `queues` evicts and restores the process's queues, whose
  // control node (the command processor) the eviction fence's work needs, and whose
  // blocked_by_faults says whether that unmap waits for a fault service right now.
  Ttm(sc_core::sc_module_name name, const config::Ttm& cfg, uint64_t host_bytes, hw::HostCpu& cpu,
      QueueEviction& queues, const QueueControl& control);

  // amdgpu_amdkfd_gpuvm_alloc_memory_of_gpu for GTT / system: false when there is no room
  // even after reclaim (-ENOMEM; counted, the BO does not exist).
  bool create(DriverThread& t, const std::string& name, uint64_t bytes, TtmDomain domain, uint32_t priority, bool kfd);
  // amdgpu_amdkfd_gpuvm_free_memory_of_gpu: waits for the BO's reservation, releases its
  // pages. A BO whose creation failed is ignored.
  void free(DriverThread& t, const std::string& name);
  // A host allocation of `bytes`: false when reclaim could not make room (-ENOMEM).
  bool allocate_host(DriverThread& t, uint64_t bytes);
  // Gives back `bytes` of what allocate_host took.
  void release_host(uint64_t bytes) { other_bytes_ -= std::min(bytes, other_bytes_); }

  // A userptr BO over [va, va + bytes) of the process's memory (init_user_pages: the pages
  // are got, and PINNED pinned, at userptr_pages_ns each, under mmap_lock for reading).
  void create_userptr(DriverThread& t, const std::string& name, uint64_t va, uint64_t bytes);
  // The process's MMU notifier as its userptr BOs hear it (amdgpu_hmm_invalidate_hsa ->
  // amdgpu_amdkfd_evict_userptr): NOTIFIER mode evicts the queues on the first
  // invalidation (trigger USERPTR) and blocks the invalidating thread until they are off.
  void on_invalidate(const NotifyRange& r, DriverThread* t);
  // The process's mmap_lock, which the userptr restore worker takes to get pages again.
  void set_mmap_lock(hw::HostLock* l) { mmap_lock_ = l; }

  // The process's eviction fence context (its node in the wait-for graph).
  const FenceContext& eviction_context() const { return evict_ctx_; }
  uint64_t host_free_bytes() const;
  const TtmPagesLimit& pages_limit() const { return limit_; }

 private:
  struct Bo {
    TtmBo ttm;
    std::unique_ptr<DmaResv> resv;
    bool kfd = false;
    bool swapped = false;   // pages copied out by the shrinker
    bool evicted = false;   // swapped while the process was evicted: the restore brings it back
    TtmDomain home = TtmDomain::kGtt;
  };

  // Makes room for `bytes` more TTM pages (`tt`) or other host memory; false if it could not.
  bool make_room(DriverThread& t, uint64_t bytes, bool tt);
  // The shrinker: tries to free `bytes`; returns what it freed.
  uint64_t shrink(DriverThread& t, uint64_t bytes);
  // Swaps `bo` out (its reservation held by the caller).
  void swap_out(DriverThread& t, Bo& bo);
  bool populate(DriverThread& t, Bo& bo);
  TtmResourceManager& manager(TtmDomain d) { return *managers_[static_cast<size_t>(d)]; }
  void new_eviction_fence();
  void evict_thread();
  void restore_thread();
  void userptr_restore_thread();
  double copy_ns(uint64_t bytes) const { return static_cast<double>(bytes) / cfg_.swap_gb_per_s(); }

  config::Ttm cfg_;
  std::unique_ptr<ShrinkerFencePolicy> policy_;
  hw::HostCpu& cpu_;
  QueueEviction& queues_;
  uint64_t host_bytes_;
  uint64_t other_bytes_ = 0;  // host allocations outside TTM
  TtmPagesLimit limit_;
  std::vector<std::unique_ptr<TtmResourceManager>> managers_;
  std::map<std::string, std::unique_ptr<Bo>> bos_;
  uint64_t next_id_ = 1;

  FenceContext evict_ctx_;
  std::shared_ptr<DmaFence> evict_fence_;
  bool evict_requested_ = false;
  bool process_evicted_ = false;
  sc_core::sc_event evict_request_;
  sc_core::sc_event restore_request_;

  struct Userptr {
    uint64_t va = 0;
    uint64_t bytes = 0;
    bool valid = true;  // false: invalidated, its pages to be got again
  };
  std::map<std::string, Userptr> userptrs_;
  bool userptr_evicted_ = false;
  sc_core::sc_event userptr_restore_;
  hw::HostLock* mmap_lock_ = nullptr;

  stats::Group stats_;
  stats::Counter bos_created_{stats_, "bos_created", "count", "BOs created"};
  stats::Counter create_failures_{stats_, "create_failures", "count", "BO creations that failed for want of memory after reclaim (-ENOMEM)"};
  stats::Counter alloc_failures_{stats_, "alloc_failures", "count", "Host allocations (memory_pressure) that reclaim could not make room for (-ENOMEM)"};
  stats::Counter reclaims_{stats_, "reclaims", "count", "Direct-reclaim passes (host memory short) and TTM swapouts (pages limit reached)"};
  stats::Histogram block_ns_{stats_, "shrinker.block_ns", "ns", "Time one shrinker call took, waits for fences included (the allocating thread is blocked this long)"};
  stats::Counter scanned_{stats_, "shrinker.scanned_bos", "count", "BOs the shrinker looked at"};
  stats::Counter busy_skips_{stats_, "shrinker.busy_skips", "count", "BOs skipped because their reservation was held (dma_resv_trylock failed)"};
  stats::Counter backoffs_{stats_, "shrinker.backoffs", "count", "BOs skipped because a fence may deadlock (BACK_OFF)"};
  stats::Counter reclaimed_bytes_{stats_, "shrinker.reclaimed_bytes", "bytes", "Bytes the shrinker freed"};
  stats::Counter unreclaimed_bytes_{stats_, "shrinker.unreclaimed_bytes", "bytes", "Bytes asked of the shrinker that it could not free"};
  stats::Histogram fence_wait_ns_{stats_, "fence_wait_ns", "ns", "Time the shrinker waited for a BO's fences"};
  stats::Counter evictions_gtt_{stats_, "evictions.gtt", "count", "GTT BOs swapped out"};
  stats::Counter evictions_system_{stats_, "evictions.system", "count", "System BOs swapped out"};
  stats::Counter evictions_kfd_{stats_, "evictions.kfd", "count", "Of those, KFD BOs (whose eviction fence evicted the queues)"};
  stats::Counter evicted_bytes_{stats_, "evicted_bytes", "bytes", "Bytes of BOs swapped out"};
  stats::Counter restored_bytes_{stats_, "restored_bytes", "bytes", "Bytes of evicted KFD BOs validated back by the restore worker"};
  stats::Counter fence_evictions_{stats_, "process_evictions", "count", "Eviction-fence signallings (the process's queues evicted for TTM)"};
  stats::Counter restore_retries_{stats_, "restore_retries", "count", "Restores put off because the evicted BOs did not fit yet"};
  stats::Histogram restore_ns_{stats_, "restore_ns", "ns", "Restore worker: start to queues running again (BO validation and queue restore)"};
  stats::Counter userptr_bos_{stats_, "userptr.bos", "count", "Userptr BOs registered"};
  stats::Counter userptr_invalidations_{stats_, "userptr.invalidations", "count", "Notifier invalidations that hit a userptr BO (NOTIFIER)"};
  stats::Histogram userptr_block_ns_{stats_, "userptr.block_ns", "ns", "Time an invalidating thread (fork, munmap, ...) blocked in the userptr notifier"};
  stats::Counter userptr_restores_{stats_, "userptr.restores", "count", "Userptr restore-worker passes (pages got again, queues restored)"};
  stats::Counter userptr_pages_{stats_, "userptr.pages", "count", "Userptr pages got (and pinned), at registration and on restore"};
};

}  // namespace fl::driver
