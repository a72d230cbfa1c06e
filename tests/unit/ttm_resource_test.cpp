// TTM's placement bookkeeping (driver-model/ttm_resource.h): each test names the kernel
// function whose behaviour it checks.
#include <gtest/gtest.h>

#include <deque>
#include <set>

#include "driver-model/ttm_resource.h"

namespace fl::driver {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

TtmBo bo(uint64_t id, uint64_t bytes, uint32_t priority = 0) {
  TtmBo b;
  b.id = id;
  b.name = "bo" + std::to_string(id);
  b.size_bytes = bytes;
  b.priority = priority;
  return b;
}

std::vector<uint64_t> ids(const std::vector<const TtmBo*>& v) {
  std::vector<uint64_t> out;
  for (const TtmBo* b : v) out.push_back(b->id);
  return out;
}

const auto always = [](TtmBo&) { return true; };
const auto nothing = [](TtmBo&) {};
const auto valuable = [](const TtmBo&) { return true; };

// include/drm/ttm/ttm_placement.h numbers the memory types.
TEST(Ttm, DomainsHaveTheKernelsNumbers) {
  EXPECT_EQ(static_cast<int>(TtmDomain::kSystem), 0);  // TTM_PL_SYSTEM
  EXPECT_EQ(static_cast<int>(TtmDomain::kGtt), 1);     // TTM_PL_TT
  EXPECT_EQ(static_cast<int>(TtmDomain::kVram), 2);    // TTM_PL_VRAM
  EXPECT_EQ(kTtmMaxBoPriority, 4u);                    // TTM_MAX_BO_PRIORITY
  EXPECT_EQ(parse_ttm_domain("VRAM"), TtmDomain::kVram);
  EXPECT_EQ(parse_ttm_domain("CPU"), TtmDomain::kSystem);
  EXPECT_FALSE(parse_ttm_domain("vram").has_value());
}

// ttm_resource_alloc: a BO that does not fit in what is left fails (-ENOSPC) and takes
// nothing; ttm_resource_free gives the space back.
TEST(Ttm, AllocationFailsWhenTheBoDoesNotFit) {
  TtmResourceManager vram(TtmDomain::kVram, 8 * kMiB);
  TtmBo a = bo(1, 6 * kMiB), b = bo(2, 4 * kMiB);
  ASSERT_TRUE(vram.alloc(a));
  EXPECT_EQ(a.domain, TtmDomain::kVram);
  EXPECT_FALSE(vram.alloc(b));
  EXPECT_FALSE(b.domain.has_value());
  EXPECT_EQ(vram.usage_bytes(), 6 * kMiB);
  vram.free(a);
  EXPECT_EQ(vram.usage_bytes(), 0u);
  EXPECT_TRUE(vram.alloc(b));
}

// ttm_bo_move_to_lru_tail: a BO used moves to its list's tail; ttm_mem_evict_first walks
// priorities from 0 up and each list from its head, so the least recently used BO of the
// lowest priority goes first.
TEST(Ttm, EvictionOrderIsLeastRecentlyUsedLowestPriorityFirst) {
  TtmResourceManager vram(TtmDomain::kVram, 64 * kMiB);
  std::deque<TtmBo> bos;
  bos.push_back(bo(1, kMiB, 1));
  bos.push_back(bo(2, kMiB, 0));
  bos.push_back(bo(3, kMiB, 1));
  bos.push_back(bo(4, kMiB, 0));
  bos.push_back(bo(5, kMiB, 3));
  for (TtmBo& b : bos) ASSERT_TRUE(vram.alloc(b));
  EXPECT_EQ(ids(vram.lru_order()), (std::vector<uint64_t>{2, 4, 1, 3, 5}));
  vram.touch(bos[1]);  // BO 2 used: now the most recent of priority 0
  EXPECT_EQ(ids(vram.lru_order()), (std::vector<uint64_t>{4, 2, 1, 3, 5}));
  const TtmResourceManager::EvictChoice c = vram.evict_first(always, nothing, valuable);
  ASSERT_NE(c.victim, nullptr);
  EXPECT_EQ(c.victim->id, 4u);
  EXPECT_EQ(c.scanned, 1u);
}

// ttm_bo_evict_swapout_allowable: a BO whose reservation cannot be taken without waiting
// (dma_resv_trylock fails) is skipped, and the first such BO is the one
// ttm_mem_evict_wait_busy waits for when nothing else can go.
TEST(Ttm, ABusyReservationIsSkippedAndRememberedForTheWait) {
  TtmResourceManager gtt(TtmDomain::kGtt, 64 * kMiB);
  std::deque<TtmBo> bos;
  for (uint64_t i = 1; i <= 3; ++i) bos.push_back(bo(i, kMiB));
  for (TtmBo& b : bos) ASSERT_TRUE(gtt.alloc(b));
  std::set<uint64_t> locked = {1, 2};
  std::set<uint64_t> reserved;
  const auto trylock = [&](TtmBo& b) {
    if (locked.count(b.id) != 0) return false;
    reserved.insert(b.id);
    return true;
  };
  const auto unlock = [&](TtmBo& b) { reserved.erase(b.id); };
  TtmResourceManager::EvictChoice c = gtt.evict_first(trylock, unlock, valuable);
  ASSERT_NE(c.victim, nullptr);
  EXPECT_EQ(c.victim->id, 3u);
  ASSERT_NE(c.busy, nullptr);
  EXPECT_EQ(c.busy->id, 1u);
  EXPECT_EQ(c.scanned, 3u);
  // Everything busy: no victim, and the first busy BO to wait for.
  locked.insert(3);
  reserved.clear();
  c = gtt.evict_first(trylock, unlock, valuable);
  EXPECT_EQ(c.victim, nullptr);
  ASSERT_NE(c.busy, nullptr);
  EXPECT_EQ(c.busy->id, 1u);
  EXPECT_TRUE(reserved.empty());
}

// amdgpu_ttm_bo_eviction_valuable says no: the BO's reservation is dropped again and the
// walk goes on.
TEST(Ttm, ABoNotWorthEvictingIsUnreservedAndPassed) {
  TtmResourceManager vram(TtmDomain::kVram, 64 * kMiB);
  std::deque<TtmBo> bos = {bo(1, kMiB), bo(2, kMiB)};
  for (TtmBo& b : bos) ASSERT_TRUE(vram.alloc(b));
  std::set<uint64_t> reserved;
  const TtmResourceManager::EvictChoice c = vram.evict_first(
      [&](TtmBo& b) { return reserved.insert(b.id).second; }, [&](TtmBo& b) { reserved.erase(b.id); },
      [](const TtmBo& b) { return b.id != 1; });
  ASSERT_NE(c.victim, nullptr);
  EXPECT_EQ(c.victim->id, 2u);
  EXPECT_EQ(reserved, (std::set<uint64_t>{2}));  // the victim stays reserved for the caller
}

// ttm_bo_pin takes a BO off the LRU (it cannot be evicted); ttm_bo_unpin of the last pin
// puts it back at the tail.
TEST(Ttm, APinnedBoIsNeverAnEvictionCandidate) {
  TtmResourceManager vram(TtmDomain::kVram, 64 * kMiB);
  std::deque<TtmBo> bos = {bo(1, kMiB), bo(2, kMiB)};
  for (TtmBo& b : bos) ASSERT_TRUE(vram.alloc(b));
  vram.pin(bos[0]);
  vram.pin(bos[0]);
  EXPECT_EQ(ids(vram.lru_order()), (std::vector<uint64_t>{2}));
  vram.unpin(bos[0]);
  EXPECT_EQ(ids(vram.lru_order()), (std::vector<uint64_t>{2}));
  vram.unpin(bos[0]);
  EXPECT_EQ(ids(vram.lru_order()), (std::vector<uint64_t>{2, 1}));
  EXPECT_THROW(vram.unpin(bos[0]), std::logic_error);
  // A BO pinned before it has a resource goes nowhere near the LRU.
  TtmBo c = bo(3, kMiB);
  c.pin_count = 1;
  ASSERT_TRUE(vram.alloc(c));
  EXPECT_EQ(ids(vram.lru_order()), (std::vector<uint64_t>{2, 1}));
}

// ttm_global_init / ttm_tt.c ttm_pages_limit: half of system memory by default; what
// populating more would exceed is what the shrinker must swap out first.
TEST(Ttm, ThePagesLimitIsAFractionOfSystemMemory) {
  TtmPagesLimit limit(16 * 1024 * kMiB, 50);
  EXPECT_EQ(limit.limit_bytes(), 8 * 1024 * kMiB);
  EXPECT_EQ(limit.over_by(8 * 1024 * kMiB), 0u);
  limit.populate(7 * 1024 * kMiB);
  EXPECT_EQ(limit.over_by(2 * 1024 * kMiB), 1024 * kMiB);
  limit.unpopulate(1024 * kMiB);
  EXPECT_EQ(limit.over_by(2 * 1024 * kMiB), 0u);
  EXPECT_TRUE(ttm_domain_uses_tt(TtmDomain::kGtt));
  EXPECT_TRUE(ttm_domain_uses_tt(TtmDomain::kSystem));
  EXPECT_FALSE(ttm_domain_uses_tt(TtmDomain::kVram));
}

}  // namespace
}  // namespace fl::driver
