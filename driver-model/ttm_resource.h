// TTM's placement bookkeeping: memory domains, buffer objects' resources, the per-domain
// resource managers with their per-priority LRU lists, the choice of an eviction victim,
// and the global limit on the system pages TTM may hold (drivers/gpu/drm/ttm/ttm_bo.c,
// ttm_resource.c, ttm_tt.c; include/drm/ttm/ttm_placement.h, ttm_resource.h).
//
// Models (the decisions, untimed; the timed driver module around them takes reservation
// locks, waits for fences and moves BOs with the copy engine):
// - Domains SYSTEM, GTT (TT) and VRAM with TTM's numbers (TTM_PL_SYSTEM 0, TTM_PL_TT 1,
//   TTM_PL_VRAM 2). A manager has a size and a usage; allocation fails (-ENOSPC) when the
//   BO does not fit in what is left (ttm_resource_alloc with a range manager's space check).
// - LRU: one list per priority (TTM_MAX_BO_PRIORITY = 4); a BO enters at the tail when it
//   gets a resource and moves to the tail when used (ttm_bo_move_to_lru_tail), so the head
//   is the least recently used. A pinned BO is off the LRU (ttm_bo_pin moves it to the
//   pinned list), so it is never an eviction candidate.
// - Eviction order (ttm_mem_evict_first): priorities from 0 up, each list from its head;
//   the first BO whose reservation can be taken without waiting (dma_resv_trylock; the
//   caller's test) and whose eviction is worth it (the driver's eviction_valuable) is the
//   victim; the first BO whose reservation was contended is remembered as the one to wait
//   for (ttm_mem_evict_wait_busy) when there is no victim.
// - The global limit (ttm_tt.c ttm_pages_limit, set by ttm_global_init): the pages backing
//   SYSTEM and GTT BOs (their ttm_tt) may not exceed a fraction of system memory, 50% by
//   default; populating past it first swaps out (the shrinker path).
// Abstracts away: range-manager fragmentation (space is a byte count per domain; VRAM
// addresses come from the driver's VRAM allocator), the bulk-move LRU sections, the
// ww_mutex acquire context and its -EDEADLK back-off, DMA32 limits, swap storage (a
// swapped-out BO's pages are simply released).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fl::driver {

// include/drm/ttm/ttm_placement.h: TTM_PL_SYSTEM, TTM_PL_TT, TTM_PL_VRAM.
enum class TtmDomain : uint8_t { kSystem = 0, kGtt = 1, kVram = 2 };
constexpr size_t kTtmDomains = 3;
// include/drm/ttm/ttm_resource.h: TTM_MAX_BO_PRIORITY.
constexpr uint32_t kTtmMaxBoPriority = 4;

const char* to_string(TtmDomain d);
// "VRAM", "GTT", "SYSTEM" (also "CPU" for SYSTEM, as amdgpu's AMDGPU_GEM_DOMAIN_CPU).
std::optional<TtmDomain> parse_ttm_domain(std::string_view s);

// A buffer object's TTM state (struct ttm_buffer_object's placement-related part).
struct TtmBo {
  uint64_t id = 0;
  std::string name;
  uint64_t size_bytes = 0;
  uint32_t priority = 0;                    // its LRU list, 0 evicted first
  std::vector<TtmDomain> placements;        // where it should be, in order of preference
  std::vector<TtmDomain> busy_placements;   // where it may go by evicting others
  std::optional<TtmDomain> domain;          // where its resource is; none: no backing yet
  uint32_t pin_count = 0;
  // The manager's LRU position, valid while on_lru.
  std::list<TtmBo*>::iterator lru_pos;
  bool on_lru = false;
};

class TtmResourceManager {
 public:
  TtmResourceManager(TtmDomain domain, uint64_t size_bytes);

  // Takes space for `bo` (ttm_resource_alloc): false when it does not fit (-ENOSPC). On
  // success the BO is in this domain and, unless pinned, at the tail of its LRU list.
  bool alloc(TtmBo& bo);
  // Gives the BO's space back (ttm_resource_free) and takes it off the LRU.
  void free(TtmBo& bo);
  // The BO was used: most recently used now (ttm_bo_move_to_lru_tail).
  void touch(TtmBo& bo);
  // Pinning takes a BO off the LRU, unpinning the last pin puts it back at the tail
  // (ttm_bo_pin / ttm_bo_unpin).
  void pin(TtmBo& bo);
  void unpin(TtmBo& bo);

  struct EvictChoice {
    TtmBo* victim = nullptr;  // reserved by `try_reserve` and valuable: evict it
    TtmBo* busy = nullptr;    // the first whose reservation was contended (wait for it)
    uint32_t scanned = 0;     // candidates looked at
  };
  // ttm_mem_evict_first's walk. `try_reserve` takes the BO's reservation without waiting
  // (true: taken; the caller releases it if the BO is then not chosen); `valuable` is the
  // driver's eviction_valuable.
  EvictChoice evict_first(const std::function<bool(TtmBo&)>& try_reserve,
                          const std::function<void(TtmBo&)>& unreserve,
                          const std::function<bool(const TtmBo&)>& valuable) const;

  // The BOs on the LRU, in eviction order (priority 0 first, least recently used first).
  std::vector<const TtmBo*> lru_order() const;

  TtmDomain domain() const { return domain_; }
  uint64_t size_bytes() const { return size_bytes_; }
  uint64_t usage_bytes() const { return usage_bytes_; }
  uint64_t free_bytes() const { return size_bytes_ - usage_bytes_; }

 private:
  void add_to_lru(TtmBo& bo);
  void remove_from_lru(TtmBo& bo);

  TtmDomain domain_;
  uint64_t size_bytes_;
  uint64_t usage_bytes_ = 0;
  std::array<std::list<TtmBo*>, kTtmMaxBoPriority> lru_;
};

// The global limit on pages backing SYSTEM and GTT BOs (ttm_tt.c: ttm_pages_limit).
class TtmPagesLimit {
 public:
  // `percent` of `system_bytes` (ttm_global_init: half of RAM by default).
  TtmPagesLimit(uint64_t system_bytes, double percent);
  uint64_t limit_bytes() const { return limit_bytes_; }
  uint64_t used_bytes() const { return used_bytes_; }
  // Bytes to swap out before `bytes` more can be populated (0: it fits).
  uint64_t over_by(uint64_t bytes) const;
  void populate(uint64_t bytes) { used_bytes_ += bytes; }
  void unpopulate(uint64_t bytes) { used_bytes_ -= bytes; }

 private:
  uint64_t limit_bytes_;
  uint64_t used_bytes_ = 0;
};

// Whether a BO in `d` is backed by pages TTM counts against the limit (a ttm_tt).
inline bool ttm_domain_uses_tt(TtmDomain d) { return d != TtmDomain::kVram; }

}  // namespace fl::driver
