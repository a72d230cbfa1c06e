// The retry-fault filter (driver-model/fault_filter.h), against amdgpu_gmc_filter_faults and
// amdgpu_gmc_filter_faults_remove (amdgpu_gmc.c) and amdgpu_ih_ts_after (amdgpu_ih.h).
#include <cstdint>

#include <gtest/gtest.h>

#include "driver-model/fault_filter.h"

namespace {

using fl::driver::FaultFilter;

// The driver's constants (amdgpu_gmc.h): 2^8 ring entries, 2^8 buckets, 5000 ticks.
constexpr uint32_t kRingOrder = 8;
constexpr uint32_t kHashOrder = 8;
constexpr uint64_t kTimeout = 5000;
// Faults at small timestamps are clamped by the filter (stamp >= 1); start well after that.
constexpr uint64_t kT0 = 1000000;
constexpr uint64_t kPage = 0x7f0000200000ULL;
constexpr uint16_t kPasid = 0x8001;

FaultFilter driver_filter() { return FaultFilter(kRingOrder, kHashOrder, kTimeout); }

// True if dropped; the interrupt handler has processed nothing later than the fault.
bool dropped(FaultFilter& f, uint64_t page, uint16_t pasid, uint64_t ts) {
  return f.filter(page, pasid, ts, 0);
}

}  // namespace

TEST(FaultFilter, KeyPacksPageAndPasid) {
  EXPECT_EQ(FaultFilter::key(0x1000, 0x2), 0x10002u);
  EXPECT_EQ(FaultFilter::key(kPage, kPasid), kPage << 4 | kPasid);
  // A 48-bit page address leaves the 16 low bits for the PASID.
  EXPECT_NE(FaultFilter::key(0x1000, 1), FaultFilter::key(0x2000, 1));
  EXPECT_NE(FaultFilter::key(0x1000, 1), FaultFilter::key(0x1000, 2));
}

TEST(FaultFilter, FirstFaultPasses) {
  FaultFilter f = driver_filter();
  EXPECT_FALSE(dropped(f, kPage, kPasid, kT0));
}

TEST(FaultFilter, SameFaultWithinTimeoutIsDropped) {
  FaultFilter f = driver_filter();
  ASSERT_FALSE(dropped(f, kPage, kPasid, kT0));
  EXPECT_TRUE(dropped(f, kPage, kPasid, kT0));
  EXPECT_TRUE(dropped(f, kPage, kPasid, kT0 + 1));
  EXPECT_TRUE(dropped(f, kPage, kPasid, kT0 + kTimeout - 1));
  // Exactly `timeout` ticks later the first fault is still live (stamp = ts - timeout).
  EXPECT_TRUE(dropped(f, kPage, kPasid, kT0 + kTimeout));
}

TEST(FaultFilter, SameFaultAfterTimeoutPassesAgain) {
  FaultFilter f = driver_filter();
  ASSERT_FALSE(dropped(f, kPage, kPasid, kT0));
  EXPECT_FALSE(dropped(f, kPage, kPasid, kT0 + kTimeout + 1));
  // ... and is then remembered from its new timestamp.
  EXPECT_TRUE(dropped(f, kPage, kPasid, kT0 + kTimeout + 2));
}

TEST(FaultFilter, DroppedDuplicateDoesNotExtendTheWindow) {
  FaultFilter f = driver_filter();
  ASSERT_FALSE(dropped(f, kPage, kPasid, kT0));
  ASSERT_TRUE(dropped(f, kPage, kPasid, kT0 + 4000));
  // The window counts from the recorded fault at kT0, not the dropped one.
  EXPECT_FALSE(dropped(f, kPage, kPasid, kT0 + kTimeout + 1));
}

TEST(FaultFilter, DifferentPasidPasses) {
  FaultFilter f = driver_filter();
  ASSERT_FALSE(dropped(f, kPage, kPasid, kT0));
  EXPECT_FALSE(dropped(f, kPage, kPasid + 1, kT0 + 1));
}

TEST(FaultFilter, DifferentPagePasses) {
  FaultFilter f = driver_filter();
  ASSERT_FALSE(dropped(f, kPage, kPasid, kT0));
  EXPECT_FALSE(dropped(f, kPage + 0x1000, kPasid, kT0 + 1));
  EXPECT_FALSE(dropped(f, kPage - 0x1000, kPasid, kT0 + 2));
}

TEST(FaultFilter, StaleFaultIsDropped) {
  FaultFilter f = driver_filter();
  // The interrupt handler already processed an entry later than this fault.
  EXPECT_TRUE(f.filter(kPage, kPasid, kT0, kT0 + 1));
  // A stale fault is not recorded: the same fault when current passes.
  EXPECT_FALSE(f.filter(kPage, kPasid, kT0 + 2, kT0 + 1));
}

TEST(FaultFilter, FaultAtProcessedTimestampIsNotStale) {
  FaultFilter f = driver_filter();
  EXPECT_FALSE(f.filter(kPage, kPasid, kT0, kT0));
}

TEST(FaultFilter, FaultJustAfterTimestampWrapIsNotStale) {
  FaultFilter f = driver_filter();
  const uint64_t before_wrap = (1ULL << 48) - 16;
  // 10 is 26 ticks after 2^48 - 16 on the 48-bit IH clock.
  EXPECT_FALSE(f.filter(0x1000, 1, 10, before_wrap));
}

TEST(FaultFilter, FullRingOfLiveFaultsDropsNewFaults) {
  FaultFilter f(2, kHashOrder, kTimeout);  // remembers 4 faults
  for (uint64_t i = 0; i < 4; ++i) {
    EXPECT_FALSE(dropped(f, kPage + i * 0x1000, kPasid, kT0 + i)) << "fault " << i;
  }
  // A fifth distinct fault within the timeout of the oldest has no slot.
  EXPECT_TRUE(dropped(f, kPage + 4 * 0x1000, kPasid, kT0 + 4));
  EXPECT_TRUE(dropped(f, kPage + 5 * 0x1000, kPasid, kT0 + kTimeout));
}

TEST(FaultFilter, RingSlotFreesWhenOldestFaultExpires) {
  FaultFilter f(2, kHashOrder, kTimeout);
  for (uint64_t i = 0; i < 4; ++i) ASSERT_FALSE(dropped(f, kPage + i * 0x1000, kPasid, kT0 + i));
  // The oldest (kT0) has expired; its slot takes the new fault.
  EXPECT_FALSE(dropped(f, kPage + 4 * 0x1000, kPasid, kT0 + kTimeout + 1));
  // The next slot (kT0 + 1) is still live.
  EXPECT_TRUE(dropped(f, kPage + 5 * 0x1000, kPasid, kT0 + kTimeout + 1));
}

TEST(FaultFilter, RemembersEveryFaultInTheRing) {
  // 200 distinct faults in 256 buckets collide; every chain must still find its key.
  FaultFilter f = driver_filter();
  constexpr uint64_t kFaults = 200;
  for (uint64_t i = 0; i < kFaults; ++i) {
    ASSERT_FALSE(dropped(f, kPage + i * 0x1000, static_cast<uint16_t>(i % 3), kT0 + i)) << i;
  }
  for (uint64_t i = 0; i < kFaults; ++i) {
    EXPECT_TRUE(dropped(f, kPage + i * 0x1000, static_cast<uint16_t>(i % 3), kT0 + 1000 + i))
        << "repeat of fault " << i;
  }
}

TEST(FaultFilter, RemoveLetsNextFaultAfterRemovalPass) {
  FaultFilter f = driver_filter();
  ASSERT_FALSE(dropped(f, kPage, kPasid, kT0));
  ASSERT_TRUE(dropped(f, kPage, kPasid, kT0 + 10));
  f.remove(kPage, kPasid, kT0 + 20);
  EXPECT_FALSE(dropped(f, kPage, kPasid, kT0 + 21));
}

TEST(FaultFilter, FaultAtOrBeforeRemovalTimestampIsStillDropped) {
  FaultFilter f = driver_filter();
  ASSERT_FALSE(dropped(f, kPage, kPasid, kT0));
  f.remove(kPage, kPasid, kT0 + 20);
  EXPECT_TRUE(dropped(f, kPage, kPasid, kT0 + 15));
  EXPECT_TRUE(dropped(f, kPage, kPasid, kT0 + 20));
}

TEST(FaultFilter, RemoveAffectsOnlyItsKey) {
  FaultFilter f = driver_filter();
  ASSERT_FALSE(dropped(f, kPage, kPasid, kT0));
  ASSERT_FALSE(dropped(f, kPage, kPasid + 1, kT0 + 1));
  f.remove(kPage, kPasid, kT0 + 20);
  EXPECT_TRUE(dropped(f, kPage, kPasid + 1, kT0 + 30));
}

TEST(FaultFilter, RemoveOfUnknownFaultIsHarmless) {
  FaultFilter f = driver_filter();
  f.remove(kPage, kPasid, kT0);  // empty filter
  ASSERT_FALSE(dropped(f, kPage, kPasid, kT0 + 1));
  f.remove(kPage + 0x1000, kPasid, kT0 + 2);
  EXPECT_TRUE(dropped(f, kPage, kPasid, kT0 + 3));
}

TEST(FaultFilter, TsAfterIsStrict) {
  EXPECT_TRUE(FaultFilter::ts_after(1, 2));
  EXPECT_FALSE(FaultFilter::ts_after(2, 1));
  EXPECT_FALSE(FaultFilter::ts_after(5, 5));
}

TEST(FaultFilter, TsAfterWrapsAt48Bits) {
  const uint64_t max48 = (1ULL << 48) - 1;
  EXPECT_TRUE(FaultFilter::ts_after(max48, 0));   // 0 follows 2^48 - 1
  EXPECT_FALSE(FaultFilter::ts_after(0, max48));
  EXPECT_TRUE(FaultFilter::ts_after(max48 - 100, 100));
  // Half the 48-bit range apart is the limit of "after".
  EXPECT_TRUE(FaultFilter::ts_after(0, (1ULL << 47) - 1));
  EXPECT_FALSE(FaultFilter::ts_after(0, 1ULL << 47));
}

TEST(FaultFilter, TsAfterIgnoresBitsAbove47) {
  EXPECT_FALSE(FaultFilter::ts_after(5, (1ULL << 48) | 5));
  EXPECT_TRUE(FaultFilter::ts_after((1ULL << 48) | 5, 6));
  EXPECT_TRUE(FaultFilter::ts_after(5, (0xFFFFULL << 48) | 6));
}
