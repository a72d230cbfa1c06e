// GPUVM page-table layout (mmu/page_table.h) against the format of amdgpu_vm.h /
// gmc_v9_0.c: every page size (4 KiB PTE, PTE fragments, 2 MiB and 1 GiB PDE-as-PTE),
// walk_step for each level, splitting and unmapping, and a functional test mapping
// thousands of random ranges of mixed sizes against a reference map.
#include <cstdint>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "hw/sparse_memory.h"
#include "mmu/page_table.h"
#include "sim/core/rng.h"

namespace {

using namespace fl::mmu;
constexpr uint64_t k4K = 4096;
constexpr uint64_t k64K = 64 * 1024;
constexpr uint64_t k2M = 2ULL << 20;
constexpr uint64_t k1G = 1ULL << 30;
constexpr uint64_t kFlags = pte::kValid | pte::kReadable | pte::kWriteable;

// Page tables in a sparse memory, allocated from a bump pointer.
struct Tree {
  fl::hw::SparseMemory mem{1ULL << 40};
  uint64_t next = 1ULL << 30;
  PageTableBuilder b{false, 31, [this] {
                       const uint64_t a = next;
                       next += kTableBytes;
                       mem.fill(a, 0, kTableBytes);
                       return a;
                     }};
  void apply(const std::vector<PtWrite>& ws) {
    apply_writes(ws, [this](uint64_t a, uint64_t v) { mem.write64(a, v); });
  }
  void map(uint64_t va, uint64_t pa, uint64_t bytes, uint32_t max_frag = 31) {
    std::vector<PtWrite> ws;
    b.map(va, pa, bytes / k4K, kFlags, ws, max_frag);
    apply(ws);
  }
  void unmap(uint64_t va, uint64_t bytes) {
    std::vector<PtWrite> ws;
    b.unmap(va, bytes / k4K, ws);
    apply(ws);
  }
  FunctionalTranslation walk(uint64_t va) const {
    return walk_functional([this](uint64_t a, bool) { return mem.read64(a); }, b.root(), false, va);
  }
};

}  // namespace

TEST(PageTable, FourKiBPagesAreWrittenInThePtbWithoutFragment) {
  Tree t;
  t.map(0x10000000, 0x123000, k4K);
  const auto r = t.walk(0x10000abc);
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(r.level, kPtb);
  EXPECT_EQ(r.pa, 0x123000u);
  EXPECT_EQ(r.log2_pages, 0u);
  EXPECT_FALSE(t.walk(0x10001000).valid);
}

TEST(PageTable, SixtyFourKiBAlignedRunGetsFragmentFour) {
  Tree t;
  t.map(0x20000000, 0x40000000, k64K);
  for (uint64_t off = 0; off < k64K; off += k4K) {
    const auto r = t.walk(0x20000000 + off);
    ASSERT_TRUE(r.valid) << off;
    EXPECT_EQ(r.level, kPtb);
    EXPECT_EQ(r.log2_pages, 4u);  // the PTE's fragment field
    EXPECT_EQ(r.pa, 0x40000000 + off);
  }
}

TEST(PageTable, FragmentIsBoundedByPhysicalAlignment) {
  Tree t;
  t.map(0x20000000, 0x40001000, k64K);  // PA only 4 KiB aligned
  EXPECT_EQ(t.walk(0x20000000).log2_pages, 0u);
  EXPECT_EQ(PageTableBuilder::fragment_for(0x20000, 0x40001, 16, 31), 0u);
  EXPECT_EQ(PageTableBuilder::fragment_for(0x20000, 0x40000, 16, 31), 4u);
  EXPECT_EQ(PageTableBuilder::fragment_for(0x20000, 0x40000, 16, 2), 2u);
  EXPECT_EQ(PageTableBuilder::fragment_for(0x20000, 0x40000, 15, 31), 3u);
}

TEST(PageTable, TwoMiBRunBecomesPdeAsPteInPdb0) {
  Tree t;
  t.map(0x40000000, 0x80000000, k2M);
  const auto r = t.walk(0x40000000 + 0x12345);
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(r.level, kPdb0);
  EXPECT_EQ(r.log2_pages, 9u);
  EXPECT_EQ(r.pa, 0x80000000u + 0x12000);
  EXPECT_EQ(t.b.huge_entries(), 1u);
}

TEST(PageTable, OneGiBRunBecomesPdeAsPteInPdb1) {
  Tree t;
  t.map(k1G * 5, k1G * 9, k1G);
  const auto r = t.walk(k1G * 5 + 0x3ff01234);
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(r.level, kPdb1);
  EXPECT_EQ(r.log2_pages, 18u);
  EXPECT_EQ(r.pa, k1G * 9 + 0x3ff01000);
}

TEST(PageTable, MaxFragmentZeroForcesFourKiBPtes) {
  Tree t;
  t.map(0x40000000, 0x80000000, k2M, 0);
  const auto r = t.walk(0x40000000 + k2M - 1);
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(r.level, kPtb);
  EXPECT_EQ(r.log2_pages, 0u);
  EXPECT_EQ(r.pa, 0x80000000 + k2M - k4K);
}

TEST(PageTable, MappingFourKiBInsideAHugePageSplitsItKeepingTheRest) {
  Tree t;
  t.map(0x40000000, 0x80000000, k2M);
  t.map(0x40000000 + 5 * k4K, 0x1000000, k4K);
  EXPECT_EQ(t.walk(0x40000000 + 5 * k4K).pa, 0x1000000u);
  const auto other = t.walk(0x40000000 + 6 * k4K);
  ASSERT_TRUE(other.valid);
  EXPECT_EQ(other.pa, 0x80000000 + 6 * k4K);
  EXPECT_EQ(other.level, kPtb);
  EXPECT_EQ(t.b.huge_entries(), 0u);
}

TEST(PageTable, HugePageReplacesAndFreesTheTableBelow) {
  std::vector<uint64_t> freed;
  fl::hw::SparseMemory mem(1ULL << 40);
  uint64_t next = 1ULL << 30;
  PageTableBuilder b(false, 31, [&] { const uint64_t a = next; next += kTableBytes; return a; },
                     [&](uint64_t a) { freed.push_back(a); });
  std::vector<PtWrite> ws;
  b.map(0x40000000, 0x1000000, 1, kFlags, ws);  // creates PDB1, PDB0 and PTB tables
  b.map(0x40000000, 0x80000000, 512, kFlags, ws);  // the 2 MiB block as a huge page
  EXPECT_EQ(freed.size(), 1u);  // the PTB
  EXPECT_EQ(b.tables_freed(), 1u);
}

TEST(PageTable, UnmapClearsPtesAndHugeEntries) {
  Tree t;
  t.map(0x40000000, 0x80000000, k2M);
  t.map(0x50000000, 0x90000000, 8 * k4K);
  t.unmap(0x40000000, k2M);
  t.unmap(0x50000000 + k4K, 2 * k4K);
  EXPECT_FALSE(t.walk(0x40000000).valid);
  EXPECT_TRUE(t.walk(0x50000000).valid);
  EXPECT_FALSE(t.walk(0x50000000 + k4K).valid);
  EXPECT_FALSE(t.walk(0x50000000 + 2 * k4K).valid);
  EXPECT_TRUE(t.walk(0x50000000 + 3 * k4K).valid);
}

TEST(PageTable, UnmapPartOfAHugePageSplitsIt) {
  Tree t;
  t.map(0x40000000, 0x80000000, k2M);
  t.unmap(0x40000000 + k64K, k64K);
  EXPECT_TRUE(t.walk(0x40000000).valid);
  EXPECT_FALSE(t.walk(0x40000000 + k64K).valid);
  EXPECT_EQ(t.walk(0x40000000 + 2 * k64K).pa, 0x80000000 + 2 * k64K);
}

TEST(PageTable, RootPdeCarriesValidAndSystem) {
  uint64_t next = 0x10000;
  PageTableBuilder sys(true, 31, [&] { const uint64_t a = next; next += kTableBytes; return a; });
  const Entry e = Entry::decode_pde(sys.root_pde());
  EXPECT_TRUE(e.valid);
  EXPECT_TRUE(e.system);
  EXPECT_EQ(e.address, sys.root());
  std::vector<PtWrite> ws;
  sys.map(0x40000000, 0x80000000, 1, kFlags, ws);
  for (const PtWrite& w : ws) EXPECT_TRUE(w.system);
}

TEST(WalkStep, DecodesEachLevelAndPageSize) {
  const uint64_t va = 0x7f1234567000ULL | 0x89a;
  // Invalid at any level.
  for (int l = 0; l < kLevels; ++l) EXPECT_EQ(walk_step(l, 0, va).kind, WalkStep::kInvalid);
  // A PDE points at the next table, with its SYSTEM bit.
  Entry pde;
  pde.valid = true;
  pde.system = true;
  pde.address = 0x1234000;
  for (int l = kPdb2; l < kPtb; ++l) {
    const WalkStep s = walk_step(l, pde.encode_pde(), va);
    EXPECT_EQ(s.kind, WalkStep::kNext);
    EXPECT_EQ(s.next_table, 0x1234000u);
    EXPECT_TRUE(s.next_system);
  }
  // PDE_PTE in PDB2 is not a page (the root level cannot be huge).
  EXPECT_EQ(walk_step(kPdb2, pde.encode_pde() | pte::kPdePte, va).kind, WalkStep::kNext);
  // PDE_PTE in PDB1: 1 GiB page; in PDB0: 2 MiB page.
  Entry huge;
  huge.valid = huge.readable = huge.writeable = huge.pde_pte = true;
  huge.address = 0x40000000;
  const WalkStep g = walk_step(kPdb1, huge.encode_pte(), va);
  EXPECT_EQ(g.kind, WalkStep::kLeaf);
  EXPECT_EQ(g.log2_pages, 18u);
  EXPECT_EQ(g.pa, 0x40000000 + (va & (k1G - 1) & ~(k4K - 1)));
  huge.address = 0x80000000;
  const WalkStep m = walk_step(kPdb0, huge.encode_pte(), va);
  EXPECT_EQ(m.log2_pages, 9u);
  EXPECT_EQ(m.pa, 0x80000000 + (va & (k2M - 1) & ~(k4K - 1)));
  // PTE with a 64 KiB fragment, read-only, system.
  Entry p;
  p.valid = p.readable = p.system = true;
  p.fragment = 4;
  p.address = 0x5000;
  const WalkStep s = walk_step(kPtb, p.encode_pte(), va);
  EXPECT_EQ(s.kind, WalkStep::kLeaf);
  EXPECT_EQ(s.pa, 0x5000u);
  EXPECT_EQ(s.log2_pages, 4u);
  EXPECT_TRUE(s.system);
  EXPECT_FALSE(s.writeable);
}

// Acceptance: thousands of random ranges with mixed page and fragment sizes agree with a
// reference map, before and after remapping part of them.
TEST(PageTable, RandomRangesAgreeWithReferenceMapBeforeAndAfterRemapping) {
  Tree t;
  fl::Rng rng(42, 7);
  struct Range { uint64_t va, bytes, pa; };
  std::vector<Range> ranges;
  uint64_t va = 1ULL << 32;
  uint64_t pa = 1ULL << 36;
  const uint64_t sizes[] = {k4K, 3 * k4K, k64K, 5 * k64K, k2M, 3 * k2M, 17 * k4K};
  for (int i = 0; i < 3000; ++i) {
    const uint64_t bytes = sizes[rng.below(7)];
    const uint64_t align = bytes >= k2M ? k2M : bytes >= k64K ? k64K : k4K;
    va = (va + align - 1) / align * align + k4K * rng.below(2) * (align == k4K);
    pa = (pa + align - 1) / align * align + (rng.below(4) == 0 ? k4K : 0);  // sometimes misaligned
    ranges.push_back({va, bytes, pa});
    t.map(va, pa, bytes);
    va += bytes + k4K * rng.below(3);
    pa += bytes + k64K;
  }
  // A few 1 GiB pages.
  for (int i = 0; i < 3; ++i) {
    const uint64_t gva = (1ULL << 40) + i * 2 * k1G;
    ranges.push_back({gva, k1G, (1ULL << 38) + i * k1G});
    t.map(gva, (1ULL << 38) + i * k1G, k1G);
  }
  const auto check = [&](const char* when) {
    for (int i = 0; i < 20000; ++i) {
      const Range& r = ranges[rng.below(ranges.size())];
      const uint64_t off = rng.below(r.bytes);
      const auto got = t.walk(r.va + off);
      ASSERT_TRUE(got.valid) << when << " va " << std::hex << r.va + off;
      ASSERT_EQ(got.pa, (r.pa + off) & ~(k4K - 1)) << when << " va " << std::hex << r.va + off;
      // The block the walk reports is naturally aligned and lies inside the range's
      // contiguous mapping, so a TLB may cache it whole.
      const uint64_t block = (k4K << got.log2_pages);
      const uint64_t base = (r.va + off) & ~(block - 1);
      ASSERT_GE(base, r.va) << when;
      ASSERT_LE(base + block, r.va + r.bytes) << when;
    }
  };
  check("after mapping");
  // Remap a third of the ranges to new physical pages (other sizes of fragment), unmap some.
  std::vector<Range> kept;
  std::vector<Range> gone;
  for (Range& r : ranges) {
    const uint64_t k = rng.below(6);
    if (k < 2) {
      r.pa = (1ULL << 39) + (r.pa & (k1G - 1)) + (k == 0 ? k4K : 0);
      t.map(r.va, r.pa, r.bytes);
    } else if (k == 2 && r.bytes < k1G) {
      t.unmap(r.va, r.bytes);
      gone.push_back(r);
      continue;
    }
    kept.push_back(r);
  }
  ranges = kept;
  check("after remapping");
  for (const Range& r : gone) {
    EXPECT_FALSE(t.walk(r.va).valid);
    EXPECT_FALSE(t.walk(r.va + r.bytes - 1).valid);
  }
}
