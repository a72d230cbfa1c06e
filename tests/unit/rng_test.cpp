// Deterministic random numbers (sim/core/rng.h): reproducibility per (seed, stream),
// independence of streams, range and uniformity of below() and unit().
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "sim/core/rng.h"

namespace {

std::vector<uint64_t> draw(uint64_t seed, uint64_t stream, size_t n) {
  fl::Rng rng(seed, stream);
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = rng.next();
  return v;
}

size_t equal_positions(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  size_t n = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) n += a[i] == b[i] ? 1 : 0;
  return n;
}

// Pearson's chi-square statistic of `draws` values of below(bins) against a uniform law.
double chi_square_below(fl::Rng& rng, uint64_t bins, uint64_t draws) {
  std::vector<uint64_t> counts(bins, 0);
  for (uint64_t i = 0; i < draws; ++i) ++counts[rng.below(bins)];
  const double expected = static_cast<double>(draws) / static_cast<double>(bins);
  double chi2 = 0;
  for (uint64_t c : counts) {
    const double d = static_cast<double>(c) - expected;
    chi2 += d * d / expected;
  }
  return chi2;
}

}  // namespace

TEST(Rng, SplitMix64MatchesReferenceSequence) {
  // Reference outputs of Vigna's splitmix64.c from state 0.
  uint64_t state = 0;
  EXPECT_EQ(fl::splitmix64(state), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(fl::splitmix64(state), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(fl::splitmix64(state), 0x06c45d188009454fULL);
}

TEST(Rng, SameSeedAndStreamReproduce) {
  EXPECT_EQ(draw(1, 0, 1000), draw(1, 0, 1000));
  EXPECT_EQ(draw(0xDEADBEEF, 77, 1000), draw(0xDEADBEEF, 77, 1000));
}

TEST(Rng, DifferentStreamsDiffer) {
  const auto a = draw(1, 0, 1000);
  EXPECT_EQ(equal_positions(a, draw(1, 1, 1000)), 0u);
  EXPECT_EQ(equal_positions(a, draw(1, 2, 1000)), 0u);
  EXPECT_EQ(equal_positions(draw(1, 1, 1000), draw(1, 2, 1000)), 0u);
}

TEST(Rng, DifferentSeedsDiffer) {
  EXPECT_EQ(equal_positions(draw(1, 0, 1000), draw(2, 0, 1000)), 0u);
}

TEST(Rng, StreamIsNotJustAnOffsetIntoAnotherStream) {
  // Stream 1 must not be stream 0 shifted by a few draws.
  const auto a = draw(5, 0, 200);
  const auto b = draw(5, 1, 200);
  for (size_t shift = 1; shift < 50; ++shift) {
    const std::vector<uint64_t> tail(a.begin() + static_cast<std::ptrdiff_t>(shift), a.end());
    EXPECT_EQ(equal_positions(tail, b), 0u) << "shift " << shift;
  }
}

TEST(Rng, BelowOneIsAlwaysZero) {
  fl::Rng rng(3, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(rng.below(1), 0u);
}

TEST(Rng, BelowStaysInRange) {
  fl::Rng rng(4, 0);
  const uint64_t bounds[] = {2,     3,          7,          10,
                             1000,  1ULL << 32, (1ULL << 32) + 1,
                             (1ULL << 63) + 1,  std::numeric_limits<uint64_t>::max()};
  for (uint64_t bound : bounds) {
    for (int i = 0; i < 2000; ++i) {
      const uint64_t v = rng.below(bound);
      ASSERT_LT(v, bound) << "bound " << bound;
    }
  }
}

TEST(Rng, BelowReachesEveryValueOfASmallRange) {
  fl::Rng rng(5, 0);
  std::vector<bool> seen(7, false);
  for (int i = 0; i < 1000; ++i) seen[rng.below(7)] = true;
  for (size_t v = 0; v < seen.size(); ++v) EXPECT_TRUE(seen[v]) << v;
}

TEST(Rng, BelowIsRoughlyUniform) {
  fl::Rng rng(6, 0);
  // 9 degrees of freedom: P(chi2 > 40) is about 1e-5.
  EXPECT_LT(chi_square_below(rng, 10, 100000), 40.0);
  // 2 degrees of freedom with a bound that does not divide 2^64: P(chi2 > 25) < 1e-5.
  EXPECT_LT(chi_square_below(rng, 3, 300000), 25.0);
  // 99 degrees of freedom: P(chi2 > 170) < 1e-5.
  EXPECT_LT(chi_square_below(rng, 100, 200000), 170.0);
}

TEST(Rng, BelowLargeBoundSplitsEvenly) {
  // With bound 3 * 2^62 the high third of the range must be as likely as each other third.
  fl::Rng rng(7, 0);
  const uint64_t third = 1ULL << 62;
  uint64_t counts[3] = {0, 0, 0};
  for (int i = 0; i < 90000; ++i) ++counts[rng.below(3 * third) / third];
  for (uint64_t c : counts) {
    EXPECT_GT(c, 29000u);
    EXPECT_LT(c, 31000u);
  }
}

TEST(Rng, UnitIsInHalfOpenUnitInterval) {
  fl::Rng rng(8, 0);
  double lo = 1, hi = 0, sum = 0;
  constexpr int kDraws = 200000;
  for (int i = 0; i < kDraws; ++i) {
    const double u = rng.unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  EXPECT_LT(lo, 1e-4);
  EXPECT_GT(hi, 1 - 1e-4);
  EXPECT_NEAR(sum / kDraws, 0.5, 0.005);
}

TEST(Rng, UnitDecilesAreBalanced) {
  fl::Rng rng(9, 0);
  std::vector<uint64_t> counts(10, 0);
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) ++counts[static_cast<size_t>(rng.unit() * 10)];
  double chi2 = 0;
  for (uint64_t c : counts) {
    const double d = static_cast<double>(c) - kDraws / 10.0;
    chi2 += d * d / (kDraws / 10.0);
  }
  EXPECT_LT(chi2, 40.0);
}
