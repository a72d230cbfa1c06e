// UTCL2 tag/data array (mmu/tlb_array.h): hit/miss, LRU victim selection within a set,
// in-place refresh, invalidation by VMID and by VPN range, set selection by vpn % sets.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include <gtest/gtest.h>

#include "mmu/tlb_array.h"
#include "sim/core/rng.h"

namespace {

using fl::mmu::TlbArray;
using fl::mmu::TlbEntry;

constexpr uint8_t kVmid = 3;

// A translation whose ppn tells which vpn it came from.
uint64_t ppn_of(uint64_t vpn) { return 0x100000 + vpn; }

void insert_all(TlbArray& tlb, std::initializer_list<uint64_t> vpns, uint8_t vmid = kVmid) {
  for (uint64_t vpn : vpns) tlb.insert(vmid, vpn, ppn_of(vpn), false, true);
}

bool hits(TlbArray& tlb, uint64_t vpn, uint8_t vmid = kVmid) {
  return tlb.lookup(vmid, vpn) != nullptr;
}

}  // namespace

TEST(TlbArray, GeometryFromEntriesAndWays) {
  TlbArray tlb(4096, 16);
  EXPECT_EQ(tlb.sets(), 256u);
  EXPECT_EQ(tlb.ways(), 16u);
  EXPECT_EQ(tlb.valid_entries(), 0u);
}

TEST(TlbArray, EmptyArrayMisses) {
  TlbArray tlb(64, 4);
  EXPECT_EQ(tlb.lookup(kVmid, 0), nullptr);
  EXPECT_EQ(tlb.lookup(kVmid, 12345), nullptr);
}

TEST(TlbArray, InsertThenLookupHitsWithTranslation) {
  TlbArray tlb(64, 4);
  EXPECT_FALSE(tlb.insert(kVmid, 42, 0xABCDE, true, false));
  const TlbEntry* e = tlb.lookup(kVmid, 42);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->valid);
  EXPECT_EQ(e->vmid, kVmid);
  EXPECT_EQ(e->vpn, 42u);
  EXPECT_EQ(e->ppn, 0xABCDEu);
  EXPECT_TRUE(e->system);
  EXPECT_FALSE(e->writeable);
  EXPECT_EQ(tlb.valid_entries(), 1u);
}

TEST(TlbArray, LookupMissesOtherVmidAndOtherPage) {
  TlbArray tlb(64, 4);
  insert_all(tlb, {42});
  EXPECT_FALSE(hits(tlb, 42, kVmid + 1));
  EXPECT_FALSE(hits(tlb, 43));
  EXPECT_FALSE(hits(tlb, 42 + tlb.sets()));  // same set, other page
}

TEST(TlbArray, SameVpnInTwoVmidsAreSeparateEntries) {
  TlbArray tlb(64, 4);
  tlb.insert(1, 7, 100, false, false);
  tlb.insert(2, 7, 200, false, false);
  EXPECT_EQ(tlb.valid_entries(), 2u);
  ASSERT_NE(tlb.lookup(1, 7), nullptr);
  EXPECT_EQ(tlb.lookup(1, 7)->ppn, 100u);
  ASSERT_NE(tlb.lookup(2, 7), nullptr);
  EXPECT_EQ(tlb.lookup(2, 7)->ppn, 200u);
}

TEST(TlbArray, FillingASetDoesNotEvict) {
  TlbArray tlb(8, 4);  // 2 sets; set 0 holds even vpns
  for (uint64_t vpn : {0, 2, 4, 6}) {
    EXPECT_FALSE(tlb.insert(kVmid, vpn, ppn_of(vpn), false, false)) << vpn;
  }
  for (uint64_t vpn : {0, 2, 4, 6}) EXPECT_TRUE(hits(tlb, vpn)) << vpn;
}

TEST(TlbArray, EvictsLeastRecentlyUsedWay) {
  TlbArray tlb(8, 4);
  insert_all(tlb, {0, 2, 4, 6});
  TlbEntry victim;
  EXPECT_TRUE(tlb.insert(kVmid, 8, ppn_of(8), false, false, &victim));
  EXPECT_TRUE(victim.valid);
  EXPECT_EQ(victim.vmid, kVmid);
  EXPECT_EQ(victim.vpn, 0u);
  EXPECT_EQ(victim.ppn, ppn_of(0));
  EXPECT_FALSE(hits(tlb, 0));
  for (uint64_t vpn : {2, 4, 6, 8}) EXPECT_TRUE(hits(tlb, vpn)) << vpn;
  EXPECT_EQ(tlb.valid_entries(), 4u);
}

TEST(TlbArray, EvictionsFollowInsertionOrderWithoutLookups) {
  TlbArray tlb(8, 4);
  insert_all(tlb, {0, 2, 4, 6});
  // Each new page evicts the oldest remaining one: 0, 2, 4, 6 in turn.
  uint64_t next = 8;
  for (uint64_t expected : {0, 2, 4, 6}) {
    TlbEntry victim;
    ASSERT_TRUE(tlb.insert(kVmid, next, ppn_of(next), false, false, &victim));
    EXPECT_EQ(victim.vpn, expected);
    next += 2;
  }
}

TEST(TlbArray, LookupRefreshesRecency) {
  TlbArray tlb(8, 4);
  insert_all(tlb, {0, 2, 4, 6});
  ASSERT_TRUE(hits(tlb, 0));  // 0 becomes most recently used; 2 is now the LRU
  TlbEntry victim;
  ASSERT_TRUE(tlb.insert(kVmid, 8, ppn_of(8), false, false, &victim));
  EXPECT_EQ(victim.vpn, 2u);
  EXPECT_TRUE(hits(tlb, 0));
  EXPECT_FALSE(hits(tlb, 2));
}

TEST(TlbArray, MissingLookupDoesNotChangeRecency) {
  TlbArray tlb(8, 4);
  insert_all(tlb, {0, 2, 4, 6});
  EXPECT_FALSE(hits(tlb, 0, kVmid + 1));  // same page, other VMID: a miss
  TlbEntry victim;
  ASSERT_TRUE(tlb.insert(kVmid, 8, ppn_of(8), false, false, &victim));
  EXPECT_EQ(victim.vpn, 0u);
}

TEST(TlbArray, ReinsertRefreshesInPlace) {
  TlbArray tlb(8, 4);
  insert_all(tlb, {0, 2});
  TlbEntry victim;
  victim.vpn = 999;
  EXPECT_FALSE(tlb.insert(kVmid, 0, 0x777, true, false, &victim));
  EXPECT_EQ(victim.vpn, 999u) << "victim must not be written when nothing is evicted";
  EXPECT_EQ(tlb.valid_entries(), 2u);
  const TlbEntry* e = tlb.lookup(kVmid, 0);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->ppn, 0x777u);
  EXPECT_TRUE(e->system);
  EXPECT_FALSE(e->writeable);
}

TEST(TlbArray, ReinsertInFullSetMakesPageMostRecentlyUsed) {
  TlbArray tlb(8, 4);
  insert_all(tlb, {0, 2, 4, 6});
  EXPECT_FALSE(tlb.insert(kVmid, 0, ppn_of(0), false, false));  // refresh, no eviction
  EXPECT_EQ(tlb.valid_entries(), 4u);
  TlbEntry victim;
  ASSERT_TRUE(tlb.insert(kVmid, 8, ppn_of(8), false, false, &victim));
  EXPECT_EQ(victim.vpn, 2u);
  EXPECT_TRUE(hits(tlb, 0));
}

TEST(TlbArray, InvalidatedWayIsReusedBeforeEvicting) {
  TlbArray tlb(8, 4);
  insert_all(tlb, {0, 2, 4, 6});
  ASSERT_EQ(tlb.invalidate_range(kVmid, 4, 4), 1u);
  EXPECT_FALSE(tlb.insert(kVmid, 8, ppn_of(8), false, false));
  for (uint64_t vpn : {0, 2, 6, 8}) EXPECT_TRUE(hits(tlb, vpn)) << vpn;
}

// A fully associative array of an odd way count (hash-indexed): every way, the last ones
// included, hits; ways freed by an invalidation are refilled
// before anything is evicted; a full array then evicts its least recently used entry.
TEST(TlbArray, FullyAssociativeOddWayCountUsesEveryWay) {
  constexpr uint64_t kWays = 37;
  TlbArray tlb(kWays, kWays);
  for (uint64_t vpn = 0; vpn < kWays; ++vpn) EXPECT_FALSE(tlb.insert(kVmid, vpn * 512, ppn_of(vpn), false, true));
  for (uint64_t vpn = 0; vpn < kWays; ++vpn) {
    const TlbEntry* e = tlb.lookup(kVmid, vpn * 512);
    ASSERT_NE(e, nullptr) << vpn;
    EXPECT_EQ(e->translate(vpn * 512), ppn_of(vpn));
  }
  ASSERT_EQ(tlb.invalidate_range(kVmid, 5 * 512, 5 * 512), 1u);
  ASSERT_EQ(tlb.invalidate_range(kVmid, 36 * 512, 36 * 512), 1u);
  EXPECT_FALSE(tlb.insert(kVmid, 100 * 512, ppn_of(100), false, true));
  EXPECT_FALSE(tlb.insert(kVmid, 101 * 512, ppn_of(101), false, true));
  EXPECT_EQ(tlb.valid_entries(), kWays);
  // Full: the next fill evicts page 0, the least recently looked up.
  TlbEntry victim;
  EXPECT_TRUE(tlb.insert(kVmid, 102 * 512, ppn_of(102), false, true, &victim));
  EXPECT_EQ(victim.vpn, 0u);
  EXPECT_FALSE(hits(tlb, 0));
  for (uint64_t vpn : {1, 4, 6, 35, 100, 101, 102}) EXPECT_TRUE(hits(tlb, vpn * 512)) << vpn;
}

// The same block base in another VMID sits in an earlier way: the scan goes past it.
TEST(TlbArray, LookupAndRefillSkipAnotherVmidsEntryForTheSameBase) {
  TlbArray tlb(8, 8);
  insert_all(tlb, {40}, 1);
  insert_all(tlb, {40}, 2);
  ASSERT_NE(tlb.lookup(2, 40), nullptr);
  EXPECT_EQ(tlb.lookup(2, 40)->vmid, 2);
  // Refilling VMID 2's block replaces it in place: still two entries.
  EXPECT_FALSE(tlb.insert(2, 40, ppn_of(41), false, true));
  EXPECT_EQ(tlb.valid_entries(), 2u);
  EXPECT_EQ(tlb.lookup(2, 40)->ppn, ppn_of(41));
  EXPECT_EQ(tlb.lookup(1, 40)->ppn, ppn_of(40));
}

TEST(TlbArray, SetIsSelectedByVpnModuloSets) {
  TlbArray tlb(16, 2);  // 8 sets of 2 ways
  ASSERT_EQ(tlb.sets(), 8u);
  insert_all(tlb, {3, 11});  // both in set 3: the set is now full
  // Pages of other sets never evict from set 3.
  for (uint64_t vpn : {0, 1, 2, 4, 5, 6, 7, 12}) {
    EXPECT_FALSE(tlb.insert(kVmid, vpn, ppn_of(vpn), false, false)) << vpn;
  }
  EXPECT_TRUE(hits(tlb, 3));
  EXPECT_TRUE(hits(tlb, 11));
  // A third page of set 3 (19 % 8 == 3) evicts the LRU of set 3, which is 3 (11 was
  // inserted later, and lookups above touched 3 before 11).
  TlbEntry victim;
  ASSERT_TRUE(tlb.insert(kVmid, 19, ppn_of(19), false, false, &victim));
  EXPECT_EQ(victim.vpn, 3u);
}

TEST(TlbArray, EvictionInOneSetLeavesOtherSetsIntact) {
  TlbArray tlb(8, 4);  // sets 0 (even) and 1 (odd)
  insert_all(tlb, {1, 3, 5, 7});
  insert_all(tlb, {0, 2, 4, 6, 8, 10, 12, 14});  // churns set 0 twice over
  for (uint64_t vpn : {1, 3, 5, 7}) EXPECT_TRUE(hits(tlb, vpn)) << vpn;
  EXPECT_EQ(tlb.valid_entries(), 8u);
}

TEST(TlbArray, InvalidateVmidDropsOnlyThatVmid) {
  TlbArray tlb(64, 4);
  insert_all(tlb, {1, 2, 3}, 1);
  insert_all(tlb, {1, 2, 3, 4}, 2);
  EXPECT_EQ(tlb.invalidate_vmid(1), 3u);
  for (uint64_t vpn : {1, 2, 3}) EXPECT_FALSE(hits(tlb, vpn, 1)) << vpn;
  for (uint64_t vpn : {1, 2, 3, 4}) EXPECT_TRUE(hits(tlb, vpn, 2)) << vpn;
  EXPECT_EQ(tlb.valid_entries(), 4u);
  EXPECT_EQ(tlb.invalidate_vmid(1), 0u) << "nothing left to drop";
}

TEST(TlbArray, InvalidateRangeBoundsAreInclusive) {
  TlbArray tlb(64, 4);
  for (uint64_t vpn = 10; vpn <= 20; ++vpn) tlb.insert(kVmid, vpn, ppn_of(vpn), false, false);
  EXPECT_EQ(tlb.invalidate_range(kVmid, 12, 15), 4u);
  for (uint64_t vpn = 10; vpn <= 20; ++vpn) {
    EXPECT_EQ(hits(tlb, vpn), vpn < 12 || vpn > 15) << vpn;
  }
}

TEST(TlbArray, InvalidateRangeLeavesOtherVmids) {
  TlbArray tlb(64, 4);
  insert_all(tlb, {5, 6}, 1);
  insert_all(tlb, {5, 6}, 2);
  EXPECT_EQ(tlb.invalidate_range(1, 0, 100), 2u);
  EXPECT_TRUE(hits(tlb, 5, 2));
  EXPECT_TRUE(hits(tlb, 6, 2));
}

TEST(TlbArray, InvalidateSinglePageRange) {
  TlbArray tlb(64, 4);
  insert_all(tlb, {5, 6, 7});
  EXPECT_EQ(tlb.invalidate_range(kVmid, 6, 6), 1u);
  EXPECT_TRUE(hits(tlb, 5));
  EXPECT_FALSE(hits(tlb, 6));
  EXPECT_TRUE(hits(tlb, 7));
}

TEST(TlbArray, FragmentEntryCoversItsAlignedBlock) {
  TlbArray tlb(64, 4);
  tlb.insert_block(kVmid, 0x1234, 0x8034, 4, false, true);  // 16-page block from 0x1230
  for (uint64_t v = 0x1230; v < 0x1240; ++v) {
    const TlbEntry* e = tlb.lookup(kVmid, v);
    ASSERT_NE(e, nullptr) << v;
    EXPECT_EQ(e->translate(v), 0x8030 + (v - 0x1230));
  }
  EXPECT_EQ(tlb.lookup(kVmid, 0x122f), nullptr);
  EXPECT_EQ(tlb.lookup(kVmid, 0x1240), nullptr);
  EXPECT_EQ(tlb.valid_entries(), 1u);
}

TEST(TlbArray, MixedBlockSizesCoexistAndInvalidateByOverlap) {
  TlbArray tlb(64, 4);
  tlb.insert_block(kVmid, 0, 0x100, 9, false, true);      // 2 MiB at page 0
  tlb.insert_block(kVmid, 0x1000, 0x9000, 0, false, true);  // 4 KiB
  EXPECT_NE(tlb.lookup(kVmid, 511), nullptr);
  EXPECT_NE(tlb.lookup(kVmid, 0x1000), nullptr);
  EXPECT_EQ(tlb.invalidate_range(kVmid, 100, 100), 1u);  // inside the 2 MiB block
  EXPECT_EQ(tlb.lookup(kVmid, 0), nullptr);
  EXPECT_NE(tlb.lookup(kVmid, 0x1000), nullptr);
}

TEST(TlbReplacement, FifoIgnoresHitsLruDoesNot) {
  for (auto policy : {fl::mmu::Replacement::kLru, fl::mmu::Replacement::kFifo}) {
    TlbArray tlb(4, 4, policy);  // one set
    insert_all(tlb, {0, 1, 2, 3});
    ASSERT_TRUE(hits(tlb, 0));  // LRU: 0 becomes most recent
    TlbEntry victim;
    ASSERT_TRUE(tlb.insert(kVmid, 4, ppn_of(4), false, true, &victim));
    EXPECT_EQ(victim.vpn, policy == fl::mmu::Replacement::kLru ? 1u : 0u);
  }
}

TEST(TlbReplacement, TreePlruEvictsAwayFromRecentUse) {
  TlbArray tlb(4, 4, fl::mmu::Replacement::kTreePlru);
  insert_all(tlb, {0, 1, 2, 3});
  // Touch 0 and 2: the tree then points at the half of 1 / 3 not used last.
  ASSERT_TRUE(hits(tlb, 0));
  ASSERT_TRUE(hits(tlb, 2));
  TlbEntry victim;
  ASSERT_TRUE(tlb.insert(kVmid, 4, ppn_of(4), false, true, &victim));
  EXPECT_TRUE(victim.vpn == 1 || victim.vpn == 3) << victim.vpn;
  EXPECT_TRUE(hits(tlb, 0));
  EXPECT_TRUE(hits(tlb, 2));
  EXPECT_NE(fl::mmu::ReplacementPolicy::check(fl::mmu::Replacement::kTreePlru, 6), "");
  EXPECT_EQ(fl::mmu::ReplacementPolicy::check(fl::mmu::Replacement::kTreePlru, 8), "");
}

TEST(TlbReplacement, RandomIsDeterministicForASeed) {
  std::vector<uint64_t> a, b;
  for (auto* out : {&a, &b}) {
    TlbArray tlb(8, 8, fl::mmu::Replacement::kRandom, 99);
    for (uint64_t v = 0; v < 64; ++v) {
      TlbEntry victim;
      if (tlb.insert(kVmid, v * 1, ppn_of(v), false, true, &victim)) out->push_back(victim.vpn);
    }
  }
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 56u);
}

TEST(TlbReplacement, LruListMatchesRecencyStampsUnderRandomUse) {
  constexpr uint32_t kSets = 3, kWays = 8;
  fl::mmu::LruPolicy lru(kSets, kWays);
  std::vector<uint64_t> stamp(kSets * kWays, 0);
  uint64_t clock = 0;
  fl::Rng rng(5, 6);
  for (int i = 0; i < 20000; ++i) {
    const auto set = static_cast<uint32_t>(rng.below(kSets));
    const auto way = static_cast<uint32_t>(rng.below(kWays));
    lru.touch(set, way);
    stamp[set * kWays + way] = ++clock;
    // The reference victim: the oldest stamp (lowest way on ties, as initially).
    uint32_t want = 0;
    for (uint32_t w = 1; w < kWays; ++w) {
      if (stamp[set * kWays + w] < stamp[set * kWays + want]) want = w;
    }
    ASSERT_EQ(lru.victim(set), want) << "step " << i;
  }
}

// A fully associative LRU array (hash-indexed from 16 ways) against a reference: a list
// in recency order. Random fills of three block sizes in two VMIDs, lookups and range
// invalidations; hits, translations, evictions and victims must agree at every step.
TEST(TlbArray, FullyAssociativeLruMatchesARecencyListUnderRandomUse) {
  struct Ref {
    uint8_t vmid;
    uint32_t size;
    uint64_t base;
    uint64_t ppn;
  };
  for (uint32_t ways : {16u, 40u}) {
    TlbArray tlb(ways, ways);
    std::vector<Ref> lru;  // front: least recently used
    fl::Rng rng(ways, 3);
    const uint32_t sizes[] = {0, 4, 9};
    auto ref_find = [&](uint8_t vmid, uint64_t vpn) -> int {
      // The array probes block sizes smallest first; the reference does the same.
      for (uint32_t size : sizes) {
        for (size_t i = 0; i < lru.size(); ++i) {
          if (lru[i].vmid == vmid && lru[i].size == size && lru[i].base == ((vpn >> size) << size)) {
            return static_cast<int>(i);
          }
        }
      }
      return -1;
    };
    for (int step = 0; step < 20000; ++step) {
      const auto vmid = static_cast<uint8_t>(1 + rng.below(2));
      const uint64_t vpn = rng.below(4096);
      const uint64_t op = rng.below(10);
      if (op < 5) {
        const int i = ref_find(vmid, vpn);
        const TlbEntry* e = tlb.lookup(vmid, vpn);
        ASSERT_EQ(e != nullptr, i >= 0) << "step " << step;
        if (i >= 0) {
          const Ref r = lru[static_cast<size_t>(i)];
          ASSERT_EQ(e->translate(vpn), r.ppn + (vpn - r.base)) << "step " << step;
          lru.erase(lru.begin() + i);
          lru.push_back(r);
        }
      } else if (op < 9) {
        const uint32_t size = sizes[rng.below(3)];
        const uint64_t base = (vpn >> size) << size;
        const uint64_t ppn = 0x10000 + rng.below(1u << 20);
        TlbEntry victim;
        const bool evicted = tlb.insert_block(vmid, vpn, ppn + (vpn - base), size, false, true, &victim);
        auto same = std::find_if(lru.begin(), lru.end(), [&](const Ref& r) {
          return r.vmid == vmid && r.size == size && r.base == base;
        });
        bool ref_evicted = false;
        if (same != lru.end()) {
          lru.erase(same);
        } else if (lru.size() == ways) {
          ref_evicted = true;
          ASSERT_TRUE(evicted) << "step " << step;
          ASSERT_EQ(victim.vpn, lru.front().base) << "step " << step;
          ASSERT_EQ(victim.vmid, lru.front().vmid) << "step " << step;
          lru.erase(lru.begin());
        }
        ASSERT_EQ(evicted, ref_evicted) << "step " << step;
        lru.push_back(Ref{vmid, size, base, ppn});
      } else {
        const uint64_t last = vpn + rng.below(64);
        uint32_t n = 0;
        for (size_t i = lru.size(); i-- > 0;) {
          const Ref& r = lru[i];
          if (r.vmid == vmid && r.base <= last && r.base + (uint64_t{1} << r.size) - 1 >= vpn) {
            lru.erase(lru.begin() + static_cast<long>(i));
            ++n;
          }
        }
        ASSERT_EQ(tlb.invalidate_range(vmid, vpn, last), n) << "step " << step;
      }
      ASSERT_EQ(tlb.valid_entries(), lru.size()) << "step " << step;
    }
  }
}
