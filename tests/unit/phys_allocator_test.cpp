// The driver's physical-memory allocator (driver-model/memory_managers.h): first fit with
// alignment, exhaustion, coalescing of freed blocks, reserved holes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "driver-model/memory_managers.h"
#include "sim/core/rng.h"

namespace {

using fl::driver::PhysAllocator;

constexpr uint64_t kBase = 0x100000000ULL;  // 4 GiB
constexpr uint64_t kBytes = 1ULL << 20;     // 1 MiB
constexpr uint64_t kPage = 4096;

struct Block {
  uint64_t addr;
  uint64_t bytes;
};

bool overlaps(const Block& a, const Block& b) {
  return a.addr < b.addr + b.bytes && b.addr < a.addr + a.bytes;
}

// Allocates `bytes`-sized blocks aligned to `bytes` until the allocator runs out.
std::vector<Block> alloc_until_full(PhysAllocator& a, uint64_t bytes) {
  std::vector<Block> out;
  while (auto addr = a.alloc(bytes, bytes)) out.push_back(Block{*addr, bytes});
  return out;
}

}  // namespace

TEST(PhysAllocator, ReportsCapacityAndName) {
  PhysAllocator a("vram", kBase, kBytes);
  EXPECT_EQ(a.capacity(), kBytes);
  EXPECT_EQ(a.used_bytes(), 0u);
  EXPECT_EQ(a.what(), "vram");
}

TEST(PhysAllocator, FirstAllocationStartsAtBase) {
  PhysAllocator a("vram", kBase, kBytes);
  EXPECT_EQ(a.alloc(kPage, kPage), std::optional<uint64_t>(kBase));
  EXPECT_EQ(a.used_bytes(), kPage);
}

TEST(PhysAllocator, ReturnsAlignedAddresses) {
  PhysAllocator a("vram", kBase, kBytes);
  ASSERT_TRUE(a.alloc(100, 1).has_value());  // misaligns the free space
  for (uint64_t align : {8ULL, 256ULL, 4096ULL, 65536ULL}) {
    const auto addr = a.alloc(64, align);
    ASSERT_TRUE(addr.has_value()) << align;
    EXPECT_EQ(*addr % align, 0u) << align;
    EXPECT_GE(*addr, kBase);
    EXPECT_LE(*addr + 64, kBase + kBytes);
  }
}

TEST(PhysAllocator, AlignsWithinAnUnalignedRange) {
  PhysAllocator a("host", 0x1001, 0x10000);
  const auto addr = a.alloc(16, 256);
  ASSERT_TRUE(addr.has_value());
  EXPECT_EQ(*addr, 0x1100u);
}

TEST(PhysAllocator, RandomAllocationsNeverOverlap) {
  PhysAllocator a("vram", kBase, kBytes);
  fl::Rng rng(31, 0);
  std::vector<Block> blocks;
  for (int i = 0; i < 400; ++i) {
    const uint64_t bytes = 1 + rng.below(8192);
    const uint64_t align = 1ULL << rng.below(13);
    if (auto addr = a.alloc(bytes, align)) {
      EXPECT_EQ(*addr % align, 0u);
      EXPECT_GE(*addr, kBase);
      EXPECT_LE(*addr + bytes, kBase + kBytes);
      blocks.push_back(Block{*addr, bytes});
    }
    // Free about a third of the live blocks as we go.
    if (!blocks.empty() && rng.below(3) == 0) {
      const size_t victim = rng.below(blocks.size());
      a.free(blocks[victim].addr, blocks[victim].bytes);
      blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(victim));
    }
  }
  uint64_t live = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    live += blocks[i].bytes;
    for (size_t j = i + 1; j < blocks.size(); ++j) {
      EXPECT_FALSE(overlaps(blocks[i], blocks[j]))
          << std::hex << blocks[i].addr << "+" << blocks[i].bytes << " and " << blocks[j].addr
          << "+" << blocks[j].bytes;
    }
  }
  EXPECT_EQ(a.used_bytes(), live);
}

TEST(PhysAllocator, ExhaustionReturnsNullopt) {
  PhysAllocator a("vram", kBase, kBytes);
  EXPECT_FALSE(a.alloc(kBytes + 1, 1).has_value());
  ASSERT_TRUE(a.alloc(kBytes, kPage).has_value());
  EXPECT_FALSE(a.alloc(1, 1).has_value());
  EXPECT_EQ(a.used_bytes(), kBytes);
}

TEST(PhysAllocator, AlignmentPaddingCanMakeARequestFail) {
  PhysAllocator a("vram", kBase, kBytes);
  ASSERT_TRUE(a.alloc(1, 1).has_value());
  // kBytes - 1 bytes are free, but not kBytes / 2 aligned to kBytes / 2 twice.
  ASSERT_TRUE(a.alloc(kBytes / 2, kBytes / 2).has_value());
  EXPECT_FALSE(a.alloc(kBytes / 2, kBytes / 2).has_value());
}

TEST(PhysAllocator, FreedSpaceIsReused) {
  PhysAllocator a("vram", kBase, kBytes);
  const std::vector<Block> pages = alloc_until_full(a, kPage);
  ASSERT_EQ(pages.size(), kBytes / kPage);
  a.free(pages[7].addr, kPage);
  EXPECT_EQ(a.used_bytes(), kBytes - kPage);
  EXPECT_EQ(a.alloc(kPage, kPage), std::optional<uint64_t>(pages[7].addr));
}

TEST(PhysAllocator, FreeCoalescesBackIntoTheWholeRange) {
  PhysAllocator a("vram", kBase, kBytes);
  const std::vector<Block> quarters = alloc_until_full(a, kBytes / 4);
  ASSERT_EQ(quarters.size(), 4u);
  // Free out of order so that both "merge with next" and "merge with previous" happen.
  for (size_t i : {1, 3, 0, 2}) a.free(quarters[i].addr, quarters[i].bytes);
  EXPECT_EQ(a.used_bytes(), 0u);
  EXPECT_EQ(a.alloc(kBytes, 1), std::optional<uint64_t>(kBase));
}

TEST(PhysAllocator, FreeOfManySmallBlocksCoalesces) {
  PhysAllocator a("vram", kBase, kBytes);
  std::vector<Block> pages = alloc_until_full(a, kPage);
  fl::Rng rng(32, 0);
  // Free in a random order.
  for (size_t i = pages.size(); i > 1; --i) std::swap(pages[i - 1], pages[rng.below(i)]);
  for (const Block& b : pages) a.free(b.addr, b.bytes);
  EXPECT_EQ(a.alloc(kBytes, kBytes), std::optional<uint64_t>(kBase));
}

TEST(PhysAllocator, AlignmentPaddingIsReturnedToFreeSpace) {
  PhysAllocator a("vram", kBase, kBytes);
  const auto small = a.alloc(64, 1);
  const auto big = a.alloc(kBytes / 2, kBytes / 2);  // leaves a gap after `small`
  ASSERT_TRUE(small && big);
  EXPECT_EQ(*big, kBase + kBytes / 2);
  // The gap is allocatable...
  const auto gap = a.alloc(kBytes / 2 - 64, 1);
  ASSERT_TRUE(gap.has_value());
  EXPECT_EQ(*gap, kBase + 64);
  // ... and everything coalesces again when freed.
  a.free(*gap, kBytes / 2 - 64);
  a.free(*small, 64);
  a.free(*big, kBytes / 2);
  EXPECT_EQ(a.alloc(kBytes, 1), std::optional<uint64_t>(kBase));
}

TEST(PhysAllocator, ReserveCarvesAHoleAllocNeverReturns) {
  PhysAllocator a("vram", kBase, kBytes);
  const Block hole{kBase + kBytes / 2, 3 * kPage};
  a.reserve(hole.addr, hole.bytes);
  EXPECT_EQ(a.capacity(), kBytes - hole.bytes);
  const std::vector<Block> pages = alloc_until_full(a, kPage);
  EXPECT_EQ(pages.size(), (kBytes - hole.bytes) / kPage);
  for (const Block& b : pages) {
    EXPECT_FALSE(overlaps(b, hole)) << std::hex << b.addr;
  }
}

TEST(PhysAllocator, FreeingAroundAHoleDoesNotCoalesceAcrossIt) {
  PhysAllocator a("vram", kBase, kBytes);
  a.reserve(kBase + kBytes / 2, kPage);
  const std::vector<Block> pages = alloc_until_full(a, kPage);
  for (const Block& b : pages) a.free(b.addr, b.bytes);
  EXPECT_FALSE(a.alloc(kBytes, 1).has_value());
  EXPECT_FALSE(a.alloc(kBytes / 2 + 1, 1).has_value());
  EXPECT_EQ(a.alloc(kBytes / 2, 1), std::optional<uint64_t>(kBase));
  EXPECT_EQ(a.alloc(kBytes / 2 - kPage, 1), std::optional<uint64_t>(kBase + kBytes / 2 + kPage));
}

TEST(PhysAllocator, ReserveAtTheEdgesOfTheRange) {
  PhysAllocator a("vram", kBase, kBytes);
  a.reserve(kBase, kPage);
  a.reserve(kBase + kBytes - kPage, kPage);
  EXPECT_EQ(a.alloc(kBytes - 2 * kPage, 1), std::optional<uint64_t>(kBase + kPage));
  EXPECT_FALSE(a.alloc(1, 1).has_value());
}

TEST(PhysAllocator, ReserveOutsideTheRangeLeavesCapacityUnchanged) {
  PhysAllocator a("host", 1ULL << 20, 15ULL << 20);
  a.reserve(0xFEE00000ULL, 1ULL << 20);
  EXPECT_EQ(a.capacity(), 15ULL << 20);
  EXPECT_TRUE(a.alloc(15ULL << 20, 1).has_value());
}

TEST(PhysAllocator, ReserveStraddlingTheEndCountsOnlyTheOverlap) {
  PhysAllocator a("vram", kBase, kBytes);
  a.reserve(kBase + kBytes - kPage, 2 * kPage);
  EXPECT_EQ(a.capacity(), kBytes - kPage);
  EXPECT_EQ(a.alloc(kBytes - kPage, 1), std::optional<uint64_t>(kBase));
}

TEST(PhysAllocator, ReserveAfterAnAllocationIsRefused) {
  // A hole reserved after blocks were handed out could overlap one of them.
  PhysAllocator a("vram", kBase, kBytes);
  ASSERT_TRUE(a.alloc(kPage, kPage).has_value());
  EXPECT_THROW(a.reserve(kBase, 2 * kPage), std::logic_error);
}
