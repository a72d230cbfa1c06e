// What a fault service migrates and maps (driver-model/fault_prefetch.h).
#include "driver-model/fault_prefetch.h"

#include <gtest/gtest.h>

namespace fl::driver {
namespace {

constexpr uint64_t kBase = 0x7f0000000000ULL;  // 2 MiB aligned

PrefetchRange range(uint64_t start_va, uint64_t pages, uint32_t granularity, std::vector<uint8_t> at = {}) {
  PrefetchRange r;
  r.start_va = start_va;
  r.pages = pages;
  r.granularity = granularity;
  at.resize(pages, 0);
  r.at_destination = [at](uint64_t i) { return at[i] != 0; };
  return r;
}

TEST(GranularityWindow, AlignedWindowClippedToTheRange) {
  GranularityWindow p;
  // A range starting 3 pages into a 16-page window: the fault's window is clipped.
  const auto s = p.spans(range(kBase + 3 * 4096, 100, 4), {5});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], (PageSpan{0, 13}));
  // Two faults in neighbouring windows merge into one span.
  const auto m = p.spans(range(kBase, 512, 4), {1, 17});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], (PageSpan{0, 32}));
}

TEST(DensityPrefetch, AnIsolatedFaultTakesOnlyItsWindow) {
  DensityPrefetch p(51);
  const auto s = p.spans(range(kBase, 512, 4), {100});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], (PageSpan{96, 16}));  // 16 of 32 pages is 50%, not above 51%
}

TEST(DensityPrefetch, GrowsToTheLargestDenseRegion) {
  DensityPrefetch p(51);
  // Pages 0..47 already in VRAM; a fault in window 3 (pages 48..63) makes the 64-page
  // region fully dense and the 128-page region 50%: the service takes pages 0..63, of
  // which only 48..63 are not there yet.
  std::vector<uint8_t> at(512, 0);
  for (int i = 0; i < 48; ++i) at[i] = 1;
  const auto s = p.spans(range(kBase, 512, 4, at), {50});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], (PageSpan{0, 64}));
  // With pages 0..79 there, the 128-page region is 96/128 = 75% dense.
  for (int i = 48; i < 80; ++i) at[i] = 1;
  const auto t = p.spans(range(kBase, 512, 4, at), {100});
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0], (PageSpan{0, 128}));
}

TEST(DensityPrefetch, FaultsOfOneServiceCountTowardsDensity) {
  DensityPrefetch p(51);
  // Three faulted windows of four in a 64-page region: 75% dense, the fourth is prefetched.
  const auto s = p.spans(range(kBase, 512, 4), {0, 16, 32});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], (PageSpan{0, 64}));
}

TEST(DensityPrefetch, NeverLeavesTheBlockOrTheRange) {
  DensityPrefetch p(51);
  // Every page of a 3 MiB range is there but one window in the second block: the region
  // grows to that block only (pages 512..767 of the range), not past it.
  std::vector<uint8_t> at(768, 1);
  for (int i = 512; i < 528; ++i) at[i] = 0;
  const auto s = p.spans(range(kBase, 768, 4, at), {515});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], (PageSpan{512, 256}));
}

}  // namespace
}  // namespace fl::driver
