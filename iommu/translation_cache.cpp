#include "iommu/translation_cache.h"

#include <algorithm>
#include <stdexcept>

#include "iommu/amd_iommu_types.h"
#include "iommu/io_page_table.h"

namespace fl::iommu {

namespace {
constexpr uint64_t kSizes[] = {k4K, k2M, k1G};
bool overlaps(uint64_t a, uint64_t an, uint64_t b, uint64_t bn) {
  return a < b + bn && b < a + an;
}
}  // namespace

IoTlb::IoTlb(uint32_t entries, uint32_t ways) : ways_(ways) {
  if (ways == 0 || entries == 0 || entries % ways != 0) {
    throw std::invalid_argument("entries must be a positive multiple of ways");
  }
  sets_ = entries / ways;
  entries_.resize(entries);
}

IoTlb::Entry* IoTlb::set(uint64_t vbase, uint64_t page_bytes) {
  const uint64_t vpn = vbase / page_bytes;
  return &entries_[(vpn % sets_) * ways_];
}

std::optional<CachedTranslation> IoTlb::lookup(uint16_t domain, uint64_t iova) {
  for (uint64_t size : kSizes) {
    const uint64_t vbase = iova & ~(size - 1);
    Entry* s = set(vbase, size);
    for (uint32_t w = 0; w < ways_; ++w) {
      Entry& e = s[w];
      if (e.valid && e.domain == domain && e.t.page_bytes == size && e.vbase == vbase) {
        e.lru = ++tick_;
        return e.t;
      }
    }
  }
  return std::nullopt;
}

void IoTlb::insert(uint16_t domain, uint64_t iova, const CachedTranslation& t) {
  const uint64_t vbase = iova & ~(t.page_bytes - 1);
  Entry* s = set(vbase, t.page_bytes);
  Entry* victim = &s[0];
  for (uint32_t w = 0; w < ways_; ++w) {
    Entry& e = s[w];
    if (e.valid && e.domain == domain && e.vbase == vbase && e.t.page_bytes == t.page_bytes) {
      victim = &e;  // refresh
      break;
    }
    if (!e.valid) {
      if (victim->valid) victim = &e;
    } else if (victim->valid && e.lru < victim->lru) {
      victim = &e;
    }
  }
  *victim = Entry{true, domain, vbase, t, ++tick_};
}

uint32_t IoTlb::invalidate(uint16_t domain, uint64_t addr, uint64_t bytes) {
  uint32_t n = 0;
  for (Entry& e : entries_) {
    if (e.valid && e.domain == domain && overlaps(e.vbase, e.t.page_bytes, addr, bytes)) {
      e.valid = false;
      ++n;
    }
  }
  return n;
}

uint32_t IoTlb::invalidate_all() {
  uint32_t n = 0;
  for (Entry& e : entries_) {
    n += e.valid ? 1 : 0;
    e.valid = false;
  }
  return n;
}

uint32_t IoTlb::occupancy() const {
  return static_cast<uint32_t>(std::count_if(entries_.begin(), entries_.end(), [](const Entry& e) { return e.valid; }));
}

std::optional<PageWalkCache::Hit> PageWalkCache::lookup(uint16_t domain, uint64_t iova) {
  Entry* best = nullptr;
  for (Entry& e : cache_) {
    const uint64_t span = level_page_bytes(e.level);
    if (e.domain == domain && (iova & ~(span - 1)) == e.vbase && (best == nullptr || e.level < best->level)) {
      best = &e;
    }
  }
  if (best == nullptr) return std::nullopt;
  best->lru = ++tick_;
  return Hit{best->level, best->table};
}

void PageWalkCache::insert(uint16_t domain, int level, uint64_t iova, uint64_t table) {
  if (entries_ == 0 || level < 2) return;
  const uint64_t vbase = iova & ~(level_page_bytes(level) - 1);
  for (Entry& e : cache_) {
    if (e.domain == domain && e.level == level && e.vbase == vbase) {
      e.table = table;
      e.lru = ++tick_;
      return;
    }
  }
  if (cache_.size() < entries_) {
    cache_.push_back(Entry{domain, level, vbase, table, ++tick_});
    return;
  }
  auto victim = std::min_element(cache_.begin(), cache_.end(), [](const Entry& a, const Entry& b) { return a.lru < b.lru; });
  *victim = Entry{domain, level, vbase, table, ++tick_};
}

uint32_t PageWalkCache::invalidate(uint16_t domain, uint64_t addr, uint64_t bytes) {
  const size_t before = cache_.size();
  cache_.erase(std::remove_if(cache_.begin(), cache_.end(),
                              [&](const Entry& e) {
                                return e.domain == domain &&
                                       overlaps(e.vbase, level_page_bytes(e.level), addr, bytes);
                              }),
               cache_.end());
  return static_cast<uint32_t>(before - cache_.size());
}

}  // namespace fl::iommu
