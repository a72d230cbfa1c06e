// Translation caches of the IOMMU and of the GPU's ATC.
//
// IoTlb: a set-associative cache of leaf translations of 4 KiB, 2 MiB and 1 GiB pages,
// tagged by domain (the IOMMU's domain id; the ATC uses one tag), LRU within a set. An
// entry lives in the set its own page number selects; a lookup probes each page size's set.
// PageWalkCache: a fully associative LRU cache of page-directory entries of table levels 4
// to 2 (the next table's address for an IOVA region), so a walk can skip the levels above
// the deepest cached entry.
// Both invalidate by domain and IOVA range, as INVALIDATE_IOMMU_PAGES (and, for the ATC, an
// ATS invalidation request) ask.
// Abstracts away: caching of non-present entries, replacement policies other than LRU,
// the timing of a lookup (charged by the owner), separate arrays per page size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fl::iommu {

struct CachedTranslation {
  uint64_t pa_base = 0;     // physical address of the page
  uint64_t page_bytes = 0;
  bool read = false;
  bool write = false;
};

class IoTlb {
 public:
  // Throws std::invalid_argument unless entries is a positive multiple of ways.
  IoTlb(uint32_t entries, uint32_t ways);

  std::optional<CachedTranslation> lookup(uint16_t domain, uint64_t iova);
  void insert(uint16_t domain, uint64_t iova, const CachedTranslation& t);
  // Removes entries of `domain` overlapping [addr, addr + bytes); returns how many.
  uint32_t invalidate(uint16_t domain, uint64_t addr, uint64_t bytes);
  uint32_t invalidate_all();

  uint32_t sets() const { return sets_; }
  uint32_t ways() const { return ways_; }
  uint32_t occupancy() const;

 private:
  struct Entry {
    bool valid = false;
    uint16_t domain = 0;
    uint64_t vbase = 0;   // IOVA of the page
    CachedTranslation t;
    uint64_t lru = 0;
  };
  Entry* set(uint64_t vbase, uint64_t page_bytes);

  uint32_t sets_;
  uint32_t ways_;
  uint64_t tick_ = 0;
  std::vector<Entry> entries_;
};

class PageWalkCache {
 public:
  explicit PageWalkCache(uint32_t entries) : entries_(entries) {}

  struct Hit {
    int level;        // table level of the cached PDE (4, 3 or 2)
    uint64_t table;   // the table it points to (level - 1)
  };
  // The deepest cached PDE on the walk of `iova`.
  std::optional<Hit> lookup(uint16_t domain, uint64_t iova);
  // The PDE read at table `level` on the walk of `iova` points to `table`.
  void insert(uint16_t domain, int level, uint64_t iova, uint64_t table);
  uint32_t invalidate(uint16_t domain, uint64_t addr, uint64_t bytes);
  uint32_t capacity() const { return static_cast<uint32_t>(entries_); }

 private:
  struct Entry {
    uint16_t domain;
    int level;
    uint64_t vbase;   // first IOVA the PDE covers
    uint64_t table;
    uint64_t lru;
  };
  size_t entries_;
  uint64_t tick_ = 0;
  std::vector<Entry> cache_;
};

}  // namespace fl::iommu
