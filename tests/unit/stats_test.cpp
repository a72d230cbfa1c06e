// Typed statistics (sim/core/stats.h): Histogram summary values and percentile accuracy,
// Counter, Value, Formula and their registration with a Group. Each test owns at most one
// Group (an sc_object named "stats"), destroyed at the end of the test.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/core/rng.h"
#include "sim/core/stats.h"

namespace {

using fl::stats::Counter;
using fl::stats::Formula;
using fl::stats::Group;
using fl::stats::Histogram;
using fl::stats::Stat;
using fl::stats::Value;

// The nearest-rank percentile of `sorted`: the smallest value with at least p% of the
// samples at or below it.
double nearest_rank(const std::vector<double>& sorted, double p) {
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

const double kPercentiles[] = {0.1, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 100};

// Checks every percentile of `h` against the exact nearest-rank value of `samples`.
void expect_percentiles_close(const Histogram& h, std::vector<double> samples,
                              double max_rel_error) {
  std::sort(samples.begin(), samples.end());
  for (double p : kPercentiles) {
    const double exact = nearest_rank(samples, p);
    const double got = h.percentile(p);
    EXPECT_LE(std::fabs(got - exact), max_rel_error * std::fabs(exact))
        << "p" << p << ": histogram " << got << ", exact " << exact;
  }
}

}  // namespace

TEST(Histogram, EmptyHistogramReportsZeros) {
  Group g("unit.hist");
  Histogram h(g, "lat_ns", "ns", "latency");
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.min(), 0.0);
  EXPECT_EQ(h.max(), 0.0);
  EXPECT_EQ(h.percentile(50), 0.0);
}

TEST(Histogram, CountSumMeanMinMaxAreExact) {
  Group g("unit.hist");
  Histogram h(g, "lat_ns", "ns", "latency");
  for (double v : {3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0}) h.sample(v);
  EXPECT_EQ(h.count(), 8u);
  EXPECT_DOUBLE_EQ(h.sum(), 31.0);
  EXPECT_DOUBLE_EQ(h.mean(), 31.0 / 8.0);
  EXPECT_EQ(h.min(), 1.0);
  EXPECT_EQ(h.max(), 9.0);
}

TEST(Histogram, MinAndMaxTrackFirstSampleEvenIfLarge) {
  Group g("unit.hist");
  Histogram h(g, "lat_ns", "ns", "latency");
  h.sample(1e9);
  EXPECT_EQ(h.min(), 1e9);
  EXPECT_EQ(h.max(), 1e9);
  h.sample(1e12);
  h.sample(0.5);
  EXPECT_EQ(h.min(), 0.5);
  EXPECT_EQ(h.max(), 1e12);
}

TEST(Histogram, PercentilesWithinBucketErrorOfLogUniformSamples) {
  Group g("unit.hist");
  Histogram h(g, "lat_ns", "ns", "latency");
  fl::Rng rng(41, 0);
  std::vector<double> samples;
  for (int i = 0; i < 20000; ++i) {
    const double v = std::pow(10.0, 6.0 * rng.unit());  // 1 to 1e6, spread over 20 octaves
    samples.push_back(v);
    h.sample(v);
  }
  expect_percentiles_close(h, samples, 0.004);
}

TEST(Histogram, PercentilesWithinBucketErrorOfIntegerCycleCounts) {
  Group g("unit.hist");
  Histogram h(g, "lat_cycles", "cycles", "latency");
  fl::Rng rng(42, 0);
  std::vector<double> samples;
  for (int i = 0; i < 20000; ++i) {
    const auto v = static_cast<double>(1 + rng.below(5000));
    samples.push_back(v);
    h.sample(v);
  }
  expect_percentiles_close(h, samples, 0.004);
}

TEST(Histogram, PercentilesWithinBucketErrorOfNarrowDistribution) {
  // Many samples in a few buckets: every percentile lands in a crowded bucket.
  Group g("unit.hist");
  Histogram h(g, "lat_ns", "ns", "latency");
  fl::Rng rng(43, 0);
  std::vector<double> samples;
  for (int i = 0; i < 20000; ++i) {
    const double v = 1000.0 + 10.0 * rng.unit();
    samples.push_back(v);
    h.sample(v);
  }
  expect_percentiles_close(h, samples, 0.004);
}

TEST(Histogram, SingleRepeatedValueGivesExactPercentiles) {
  Group g("unit.hist");
  Histogram h(g, "lat_ns", "ns", "latency");
  for (int i = 0; i < 1000; ++i) h.sample(1234.567);
  for (double p : kPercentiles) EXPECT_EQ(h.percentile(p), 1234.567) << "p" << p;
  EXPECT_EQ(h.min(), 1234.567);
  EXPECT_EQ(h.max(), 1234.567);
  EXPECT_NEAR(h.mean(), 1234.567, 1234.567 * 1e-12);  // a sum of 1000 rounded additions
}

TEST(Histogram, SingleSampleGivesExactPercentiles) {
  Group g("unit.hist");
  Histogram h(g, "lat_ns", "ns", "latency");
  h.sample(0.003);
  for (double p : kPercentiles) EXPECT_EQ(h.percentile(p), 0.003) << "p" << p;
}

TEST(Histogram, ZerosAreCountedAndRankedFirst) {
  Group g("unit.hist");
  Histogram h(g, "lat_ns", "ns", "latency");
  for (double v : {0.0, 0.0, 0.0, 5.0}) h.sample(v);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.min(), 0.0);
  EXPECT_EQ(h.max(), 5.0);
  EXPECT_DOUBLE_EQ(h.mean(), 1.25);
  EXPECT_EQ(h.percentile(25), 0.0);
  EXPECT_EQ(h.percentile(75), 0.0);
  EXPECT_EQ(h.percentile(76), 5.0);
  EXPECT_EQ(h.percentile(100), 5.0);
}

TEST(Histogram, AllZeroSamples) {
  Group g("unit.hist");
  Histogram h(g, "lat_ns", "ns", "latency");
  for (int i = 0; i < 10; ++i) h.sample(0.0);
  EXPECT_EQ(h.count(), 10u);
  EXPECT_EQ(h.mean(), 0.0);
  for (double p : kPercentiles) EXPECT_EQ(h.percentile(p), 0.0) << "p" << p;
}

TEST(Histogram, PercentilesAreMonotonicAndBoundedByMinMax) {
  Group g("unit.hist");
  Histogram h(g, "lat_ns", "ns", "latency");
  fl::Rng rng(44, 0);
  for (int i = 0; i < 5000; ++i) h.sample(rng.unit() < 0.1 ? 0.0 : std::exp(10.0 * rng.unit()));
  double prev = h.min();
  for (double p : kPercentiles) {
    const double v = h.percentile(p);
    EXPECT_GE(v, prev) << "p" << p;
    EXPECT_GE(v, h.min()) << "p" << p;
    EXPECT_LE(v, h.max()) << "p" << p;
    prev = v;
  }
}

TEST(Histogram, BucketHoldingOnlyTheMinOrMaxIsExact) {
  Group g("unit.hist");
  Histogram h(g, "lat_ns", "ns", "latency");
  for (double v : {10.0, 10.0, 10.0, 1000.0}) h.sample(v);
  EXPECT_EQ(h.percentile(50), 10.0);  // every sample of the p50 bucket is the min
  EXPECT_EQ(h.percentile(100), 1000.0);

  Histogram h2(g, "lat2_ns", "ns", "latency");
  for (double v : {1.0, 1003.5}) h2.sample(v);
  EXPECT_EQ(h2.percentile(100), 1003.5);  // every sample of the p100 bucket is the max
}

// ------------------------------------------------------------------ counters and values

TEST(Stats, StatKeepsNameUnitDescriptionAndKind) {
  Group g("unit.stats");
  Counter c(g, "hits", "count", "Lookups that hit");
  EXPECT_EQ(c.name(), "hits");
  EXPECT_EQ(c.unit(), "count");
  EXPECT_EQ(c.desc(), "Lookups that hit");
  EXPECT_EQ(c.kind(), Stat::Kind::kCounter);
  Value v(g, "busy_ns", "ns", "Busy time");
  EXPECT_EQ(v.kind(), Stat::Kind::kValue);
  Histogram h(g, "lat_ns", "ns", "Latency");
  EXPECT_EQ(h.kind(), Stat::Kind::kHistogram);
  Formula f(g, "ratio", "ratio", "A ratio", [] { return 0.5; });
  EXPECT_EQ(f.kind(), Stat::Kind::kFormula);
}

TEST(Stats, CounterIncrementsAndAdds) {
  Group g("unit.stats");
  Counter c(g, "hits", "count", "Lookups that hit");
  EXPECT_EQ(c.value(), 0u);
  ++c;
  ++c;
  c += 40;
  EXPECT_EQ(c.value(), 42u);
  c += 0xFFFFFFFFULL;  // counts beyond 32 bits
  EXPECT_EQ(c.value(), 42u + 0xFFFFFFFFULL);
}

TEST(Stats, ValueAddsSetsAndKeepsMaximum) {
  Group g("unit.stats");
  Value v(g, "busy_ns", "ns", "Busy time");
  EXPECT_EQ(v.value(), 0.0);
  v.add(1.5);
  v.add(2.25);
  EXPECT_DOUBLE_EQ(v.value(), 3.75);
  v.set(10);
  EXPECT_EQ(v.value(), 10.0);
  v.set_max(5);
  EXPECT_EQ(v.value(), 10.0);
  v.set_max(12.5);
  EXPECT_EQ(v.value(), 12.5);
}

TEST(Stats, FormulaIsEvaluatedWhenRead) {
  Group g("unit.stats");
  Counter hits(g, "hits", "count", "Lookups that hit");
  Counter lookups(g, "lookups", "count", "Lookups");
  Formula rate(g, "hit_rate", "ratio", "Hits per lookup", [&] {
    return lookups.value() ? static_cast<double>(hits.value()) / static_cast<double>(lookups.value())
                           : 0.0;
  });
  EXPECT_EQ(rate.value(), 0.0);
  lookups += 4;
  hits += 3;
  EXPECT_DOUBLE_EQ(rate.value(), 0.75);
}

TEST(Stats, GroupRegistersStatsInDeclarationOrder) {
  Group g("soc.gpu.utcl2");
  Counter a(g, "hits", "count", "a");
  Value b(g, "busy_ns", "ns", "b");
  Histogram c(g, "lat_ns", "ns", "c");
  EXPECT_EQ(g.prefix(), "soc.gpu.utcl2");
  ASSERT_EQ(g.stats().size(), 3u);
  EXPECT_EQ(g.stats()[0], &a);
  EXPECT_EQ(g.stats()[1], &b);
  EXPECT_EQ(g.stats()[2], &c);
  EXPECT_STREQ(g.kind(), "fl_stats_group");
}

TEST(Stats, CollectNamesStatsByPrefixAndSortsThem) {
  Group g("unit.collect");
  Counter z(g, "zeta", "count", "z");
  Counter a(g, "alpha", "count", "a");
  std::vector<std::string> names;
  for (const auto& n : fl::stats::collect()) {
    if (n.name.rfind("unit.collect.", 0) == 0) names.push_back(n.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"unit.collect.alpha", "unit.collect.zeta"}));
}
