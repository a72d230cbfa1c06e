// IO page tables (iommu/io_page_table.h) and the IOMMU's translation caches
// (iommu/translation_cache.h): encode and walk of 4 KiB, 2 MiB and 1 GiB mappings, table
// allocation, unmap; IOTLB sets, LRU, page sizes, invalidation; page-walk cache.
#include <cstdint>
#include <stdexcept>

#include <gtest/gtest.h>

#include "hw/sparse_memory.h"
#include "iommu/io_page_table.h"
#include "iommu/translation_cache.h"

namespace {

using namespace fl::iommu;

struct Table {
  fl::hw::SparseMemory mem{1ULL << 40};
  uint64_t next = 0x100000;
  IoPageTable pt{mem, [this] {
                   const uint64_t p = next;
                   next += 4096;
                   return p;
                 }};
};

TEST(IoPageTable, A4KiBMappingAllocatesThreeTablesBelowTheRootAndWalksFourLevels) {
  Table t;
  EXPECT_EQ(t.pt.map(0x7F0000123000ULL, 0x45678000, 4096, true, true), 3);
  const WalkResult w = t.pt.walk(0x7F0000123ABCULL);
  ASSERT_TRUE(w.present);
  EXPECT_EQ(w.pa, 0x45678ABCu);
  EXPECT_EQ(w.page_bytes, 4096u);
  ASSERT_EQ(w.steps.size(), 4u);
  EXPECT_EQ(w.steps[0].level, 4);
  EXPECT_EQ(w.steps[0].entry_pa, t.pt.root() + 8 * level_index(4, 0x7F0000123000ULL));
  // Each directory entry names the next level and points at the table read next.
  for (size_t i = 0; i + 1 < w.steps.size(); ++i) {
    const IoPte e = IoPte::decode(w.steps[i].value);
    EXPECT_EQ(e.next_level, static_cast<uint32_t>(w.steps[i].level - 1));
    EXPECT_EQ(w.steps[i + 1].entry_pa, e.addr + 8 * level_index(w.steps[i + 1].level, 0x7F0000123000ULL));
  }
  // A neighbouring page shares every table.
  EXPECT_EQ(t.pt.map(0x7F0000124000ULL, 0x9000, 4096, true, false), 0);
  const WalkResult n = t.pt.walk(0x7F0000124000ULL);
  EXPECT_TRUE(n.present && n.read && !n.write);
}

TEST(IoPageTable, LargePagesAreLeavesAtLevelsTwoAndThree) {
  Table t;
  t.pt.map(0x40000000, 0x80000000, k1G, true, true);
  const WalkResult g = t.pt.walk(0x40000000 + 0x12345678);
  ASSERT_TRUE(g.present);
  EXPECT_EQ(g.page_bytes, k1G);
  EXPECT_EQ(g.pa, 0x80000000u + 0x12345678u);
  EXPECT_EQ(g.steps.size(), 2u);  // root, then the level-3 leaf
  t.pt.map(0x200000, 0x600000, k2M, true, true);
  const WalkResult m = t.pt.walk(0x2ABCDE);
  ASSERT_TRUE(m.present);
  EXPECT_EQ(m.page_bytes, k2M);
  EXPECT_EQ(m.pa, 0x6ABCDEu);
  EXPECT_EQ(m.steps.size(), 3u);
}

TEST(IoPageTable, UnmappedAddressesWalkToTheMissingEntry) {
  Table t;
  const WalkResult empty = t.pt.walk(0x1000);
  EXPECT_FALSE(empty.present);
  EXPECT_EQ(empty.steps.size(), 1u);  // the root entry is not present
  t.pt.map(0x1000, 0x2000, 4096, true, true);
  EXPECT_FALSE(t.pt.walk(0x3000).present);
  EXPECT_EQ(t.pt.walk(0x3000).steps.size(), 4u);  // same tables, leaf absent
  EXPECT_EQ(t.pt.unmap(0x1000), 4096u);
  EXPECT_FALSE(t.pt.walk(0x1000).present);
  EXPECT_EQ(t.pt.unmap(0x1000), 0u);
}

TEST(IoPageTable, RejectsMisalignedOrConflictingMappings) {
  Table t;
  EXPECT_THROW(t.pt.map(0x1800, 0x2000, 4096, true, true), std::invalid_argument);
  EXPECT_THROW(t.pt.map(0x200000, 0x1000, k2M, true, true), std::invalid_argument);
  EXPECT_THROW(t.pt.map(0, 0, 8192, true, true), std::invalid_argument);
  t.pt.map(0x200000, 0x400000, k2M, true, true);
  EXPECT_THROW(t.pt.map(0x201000, 0x1000, 4096, true, true), std::invalid_argument);
  t.pt.map(0x1000, 0x2000, 4096, true, true);
  EXPECT_THROW(t.pt.map(0x1000, 0x3000, 4096, true, true), std::invalid_argument);
  EXPECT_NO_THROW(t.pt.map(0x1000, 0x2000, 4096, true, true));  // the same mapping again
}

TEST(IoPageTable, WalkFromACachedDirectorySkipsTheLevelsAbove) {
  Table t;
  t.pt.map(0x7F0000123000ULL, 0x5000, 4096, true, true);
  const WalkResult full = t.pt.walk(0x7F0000123000ULL);
  const IoPte l2 = IoPte::decode(full.steps[2].value);  // the level-2 PDE -> level-1 table
  const WalkResult part = t.pt.walk_from(0x7F0000123000ULL, 1, l2.addr);
  ASSERT_TRUE(part.present);
  EXPECT_EQ(part.steps.size(), 1u);
  EXPECT_EQ(part.pa, 0x5000u);
}

TEST(IoTlb, HitsAfterInsertPerDomainAndPageSize) {
  IoTlb tlb(16, 4);
  EXPECT_EQ(tlb.sets(), 4u);
  EXPECT_FALSE(tlb.lookup(1, 0x1000));
  tlb.insert(1, 0x1000, CachedTranslation{0x9000, 4096, true, true});
  const auto h = tlb.lookup(1, 0x1FFF);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->pa_base, 0x9000u);
  EXPECT_FALSE(tlb.lookup(2, 0x1000));   // another domain
  EXPECT_FALSE(tlb.lookup(1, 0x2000));   // the next page
  tlb.insert(1, 0x40000000 + 0x1234, CachedTranslation{0x80000000, k1G, true, false});
  const auto g = tlb.lookup(1, 0x7FFFFFFF);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->page_bytes, k1G);
  EXPECT_FALSE(g->write);
}

TEST(IoTlb, LruEvictsTheLeastRecentlyUsedWayOfTheSet) {
  IoTlb tlb(8, 2);  // 4 sets: pages 0, 4, 8 (x 4 KiB) share set 0
  tlb.insert(1, 0x0000, CachedTranslation{0x100000, 4096, true, true});
  tlb.insert(1, 0x4000, CachedTranslation{0x104000, 4096, true, true});
  ASSERT_TRUE(tlb.lookup(1, 0x0000));  // page 0 now more recent than page 4
  tlb.insert(1, 0x8000, CachedTranslation{0x108000, 4096, true, true});
  EXPECT_TRUE(tlb.lookup(1, 0x0000));
  EXPECT_FALSE(tlb.lookup(1, 0x4000));
  EXPECT_TRUE(tlb.lookup(1, 0x8000));
  EXPECT_EQ(tlb.occupancy(), 2u);
}

TEST(IoTlb, ReachIsEntriesTimesPageSize) {
  IoTlb tlb(64, 8);
  for (uint64_t p = 0; p < 64; ++p) tlb.insert(1, p * 4096, CachedTranslation{p * 4096, 4096, true, true});
  for (uint64_t p = 0; p < 64; ++p) EXPECT_TRUE(tlb.lookup(1, p * 4096)) << p;
  tlb.insert(1, 64 * 4096, CachedTranslation{0, 4096, true, true});
  uint32_t hits = 0;
  for (uint64_t p = 0; p <= 64; ++p) hits += tlb.lookup(1, p * 4096) ? 1 : 0;
  EXPECT_EQ(hits, 64u);  // one entry had to go
}

TEST(IoTlb, InvalidationDropsOverlappingEntriesOfTheDomainOnly) {
  IoTlb tlb(64, 8);
  for (uint64_t p = 0; p < 8; ++p) tlb.insert(1, p * 4096, CachedTranslation{p * 4096, 4096, true, true});
  tlb.insert(2, 0x1000, CachedTranslation{0, 4096, true, true});
  tlb.insert(1, 0x200000, CachedTranslation{0x200000, k2M, true, true});
  EXPECT_EQ(tlb.invalidate(1, 0x2000, 0x2000), 2u);  // pages 2 and 3
  EXPECT_FALSE(tlb.lookup(1, 0x2000));
  EXPECT_FALSE(tlb.lookup(1, 0x3000));
  EXPECT_TRUE(tlb.lookup(1, 0x4000));
  EXPECT_TRUE(tlb.lookup(2, 0x1000));
  EXPECT_EQ(tlb.invalidate(1, 0x300000, 4096), 1u);  // inside the 2 MiB entry
  EXPECT_FALSE(tlb.lookup(1, 0x200000));
  EXPECT_GT(tlb.invalidate_all(), 0u);
  EXPECT_EQ(tlb.occupancy(), 0u);
}

TEST(IoTlb, RejectsEntriesNotAMultipleOfWays) {
  EXPECT_THROW(IoTlb(10, 4), std::invalid_argument);
  EXPECT_THROW(IoTlb(0, 1), std::invalid_argument);
}

TEST(PageWalkCache, ReturnsTheDeepestCachedDirectory) {
  PageWalkCache pwc(8);
  EXPECT_FALSE(pwc.lookup(1, 0x7F0000123000ULL));
  pwc.insert(1, 4, 0x7F0000123000ULL, 0xA000);
  pwc.insert(1, 3, 0x7F0000123000ULL, 0xB000);
  auto h = pwc.lookup(1, 0x7F0000123000ULL);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->level, 3);
  EXPECT_EQ(h->table, 0xB000u);
  pwc.insert(1, 2, 0x7F0000123000ULL, 0xC000);
  h = pwc.lookup(1, 0x7F00001FF000ULL);  // same 2 MiB region: the level-2 PDE covers it
  ASSERT_TRUE(h);
  EXPECT_EQ(h->level, 2);
  h = pwc.lookup(1, 0x7F0000400000ULL);  // another 2 MiB region, same 1 GiB
  ASSERT_TRUE(h);
  EXPECT_EQ(h->level, 3);
  EXPECT_FALSE(pwc.lookup(2, 0x7F0000123000ULL));
  pwc.insert(1, 1, 0x1000, 0xD000);  // level-1 entries are leaves: not cached
  EXPECT_FALSE(pwc.lookup(1, 0x1000));
}

TEST(PageWalkCache, InvalidationAndCapacity) {
  PageWalkCache pwc(2);
  pwc.insert(1, 2, 0x000000, 0x1000);
  pwc.insert(1, 2, 0x200000, 0x2000);
  pwc.insert(1, 2, 0x400000, 0x3000);  // evicts the least recently used
  EXPECT_FALSE(pwc.lookup(1, 0x000000));
  EXPECT_TRUE(pwc.lookup(1, 0x400000));
  EXPECT_EQ(pwc.invalidate(1, 0x400000, 4096), 1u);
  EXPECT_FALSE(pwc.lookup(1, 0x400000));
  PageWalkCache off(0);
  off.insert(1, 2, 0, 0x1000);
  EXPECT_FALSE(off.lookup(1, 0));
}

}  // namespace
