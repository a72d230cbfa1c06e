#include "driver-model/ttm_resource.h"

#include <cmath>
#include <stdexcept>

namespace fl::driver {

const char* to_string(TtmDomain d) {
  switch (d) {
    case TtmDomain::kSystem: return "SYSTEM";
    case TtmDomain::kGtt: return "GTT";
    case TtmDomain::kVram: return "VRAM";
  }
  return "?";
}

std::optional<TtmDomain> parse_ttm_domain(std::string_view s) {
  if (s == "VRAM") return TtmDomain::kVram;
  if (s == "GTT") return TtmDomain::kGtt;
  if (s == "SYSTEM" || s == "CPU") return TtmDomain::kSystem;
  return std::nullopt;
}

TtmResourceManager::TtmResourceManager(TtmDomain domain, uint64_t size_bytes) : domain_(domain), size_bytes_(size_bytes) {}

bool TtmResourceManager::alloc(TtmBo& bo) {
  if (bo.domain.has_value()) throw std::logic_error("ttm: BO " + bo.name + " already has a resource");
  if (bo.size_bytes > free_bytes()) return false;
  usage_bytes_ += bo.size_bytes;
  bo.domain = domain_;
  if (bo.pin_count == 0) add_to_lru(bo);
  return true;
}

void TtmResourceManager::free(TtmBo& bo) {
  if (bo.domain != domain_) throw std::logic_error("ttm: BO " + bo.name + " is not in " + to_string(domain_));
  if (bo.on_lru) remove_from_lru(bo);
  usage_bytes_ -= bo.size_bytes;
  bo.domain.reset();
}

void TtmResourceManager::touch(TtmBo& bo) {
  if (!bo.on_lru) return;
  remove_from_lru(bo);
  add_to_lru(bo);
}

void TtmResourceManager::pin(TtmBo& bo) {
  if (bo.pin_count++ == 0 && bo.on_lru) remove_from_lru(bo);
}

void TtmResourceManager::unpin(TtmBo& bo) {
  if (bo.pin_count == 0) throw std::logic_error("ttm: BO " + bo.name + " unpinned more often than pinned");
  if (--bo.pin_count == 0 && bo.domain == domain_) add_to_lru(bo);
}

void TtmResourceManager::add_to_lru(TtmBo& bo) {
  auto& list = lru_[std::min(bo.priority, kTtmMaxBoPriority - 1)];
  bo.lru_pos = list.insert(list.end(), &bo);
  bo.on_lru = true;
}

void TtmResourceManager::remove_from_lru(TtmBo& bo) {
  lru_[std::min(bo.priority, kTtmMaxBoPriority - 1)].erase(bo.lru_pos);
  bo.on_lru = false;
}

TtmResourceManager::EvictChoice TtmResourceManager::evict_first(const std::function<bool(TtmBo&)>& try_reserve,
                                                                const std::function<void(TtmBo&)>& unreserve,
                                                                const std::function<bool(const TtmBo&)>& valuable) const {
  EvictChoice c;
  for (const auto& list : lru_) {
    for (TtmBo* bo : list) {
      ++c.scanned;
      if (!try_reserve(*bo)) {
        if (c.busy == nullptr) c.busy = bo;
        continue;
      }
      if (!valuable(*bo)) {
        unreserve(*bo);
        continue;
      }
      c.victim = bo;
      return c;
    }
  }
  return c;
}

std::vector<const TtmBo*> TtmResourceManager::lru_order() const {
  std::vector<const TtmBo*> v;
  for (const auto& list : lru_) v.insert(v.end(), list.begin(), list.end());
  return v;
}

TtmPagesLimit::TtmPagesLimit(uint64_t system_bytes, double percent)
    : limit_bytes_(static_cast<uint64_t>(std::floor(static_cast<double>(system_bytes) * percent / 100.0))) {}

uint64_t TtmPagesLimit::over_by(uint64_t bytes) const {
  const uint64_t want = used_bytes_ + bytes;
  return want > limit_bytes_ ? want - limit_bytes_ : 0;
}

}  // namespace fl::driver
