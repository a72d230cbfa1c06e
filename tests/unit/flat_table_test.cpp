// The hash table of the UTCL1/UTCL2 MSHRs and the TLB tag indexes (mmu/flat_table.h): find,
// insert and take agree with a std::map through growth and through erasures inside long
// probe runs (keys whose hashes collide, runs that wrap around the end of the table);
// waiters keep arrival order.
#include <cstdint>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "mmu/flat_table.h"
#include "sim/core/rng.h"

namespace {

using fl::Payload;
using fl::mmu::FlatTable;
using fl::mmu::MshrWaiters;

// Keys of one bucket share a home slot on purpose. The table's home slot is the top bits
// of hash() * 0x9E3779B97F4A7C15, so hash() multiplies by that constant's inverse mod 2^64
// to choose the home directly: bucket 0 is the last slot, whatever the table's size, so
// its probe runs wrap around to the start.
struct TestKey {
  uint64_t id = 0;
  uint64_t bucket = 0;
  bool operator==(const TestKey& o) const { return id == o.id; }
  uint64_t hash() const {
    const uint64_t top = ~uint64_t{0} - bucket * 0x0123456789ABCDEFULL;
    return top * 0xF1DE83E19937733DULL;
  }
};

struct Value {
  uint64_t payload = 0;
};

void check_against(FlatTable<TestKey, Value>& t, const std::map<uint64_t, uint64_t>& ref,
                   uint64_t buckets, uint64_t ids) {
  ASSERT_EQ(t.size(), ref.size());
  for (uint64_t id = 0; id < ids; ++id) {
    Value* v = t.find(TestKey{id, id % buckets});
    auto it = ref.find(id);
    if (it == ref.end()) {
      ASSERT_EQ(v, nullptr) << "id " << id;
    } else {
      ASSERT_NE(v, nullptr) << "id " << id;
      ASSERT_EQ(v->payload, it->second) << "id " << id;
    }
  }
  size_t seen = 0;
  t.for_each([&](const TestKey& k, const Value& v) {
    ++seen;
    auto it = ref.find(k.id);
    ASSERT_TRUE(it != ref.end() && it->second == v.payload) << "id " << k.id;
  });
  ASSERT_EQ(seen, ref.size());
}

TEST(FlatTable, AgreesWithAMapThroughGrowthAndCollidingErasures) {
  // Few buckets: long probe runs; many buckets: spread keys. Both wrap around.
  for (uint64_t buckets : {3ULL, 7ULL, 1000003ULL}) {
    FlatTable<TestKey, Value> t;
    std::map<uint64_t, uint64_t> ref;
    fl::Rng rng(buckets, 1);
    constexpr uint64_t kIds = 300;
    for (int step = 0; step < 20000; ++step) {
      const uint64_t id = rng.below(kIds);
      const TestKey key{id, id % buckets};
      if (ref.count(id) != 0) {
        ASSERT_EQ(t.take(key).payload, ref[id]);
        ref.erase(id);
      } else if (ref.size() < 200) {
        const uint64_t value = rng.below(1u << 30);
        t.insert(key).payload = value;
        ref[id] = value;
      }
      if (step % 97 == 0) check_against(t, ref, buckets, kIds);
    }
    check_against(t, ref, buckets, kIds);
    while (!ref.empty()) {
      const uint64_t id = ref.begin()->first;
      ASSERT_EQ(t.take(TestKey{id, id % buckets}).payload, ref.begin()->second);
      ref.erase(ref.begin());
    }
    EXPECT_TRUE(t.empty());
  }
}

TEST(FlatTable, TakingAnAbsentKeyIsABug) {
  FlatTable<TestKey, Value> t;
  t.insert(TestKey{1, 5});
  EXPECT_THROW(t.take(TestKey{2, 5}), std::logic_error);
  EXPECT_EQ(t.size(), 1u);
}

TEST(MshrWaiters, KeepArrivalOrder) {
  std::vector<Payload> gps(5);
  MshrWaiters w;
  std::vector<Payload*> got;
  w.for_each([&](Payload* p) { got.push_back(p); });
  EXPECT_TRUE(got.empty());
  for (Payload& gp : gps) w.push_back(&gp);
  w.for_each([&](Payload* p) { got.push_back(p); });
  ASSERT_EQ(got.size(), gps.size());
  for (size_t i = 0; i < gps.size(); ++i) EXPECT_EQ(got[i], &gps[i]);
}

}  // namespace
