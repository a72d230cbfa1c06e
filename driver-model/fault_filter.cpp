#include "driver-model/fault_filter.h"

#include <algorithm>

namespace fl::driver {

FaultFilter::FaultFilter(uint32_t ring_order, uint32_t hash_order, uint64_t timeout_ticks)
    : ring_mask_((1u << ring_order) - 1),
      hash_bits_(hash_order),
      timeout_(timeout_ticks),
      ring_(size_t{1} << ring_order),
      hash_(size_t{1} << hash_order, 0) {}

uint32_t FaultFilter::bucket(uint64_t key) const {
  // Linux hash_64 (include/linux/hash.h): GOLDEN_RATIO_64 multiply, top bits.
  return static_cast<uint32_t>((key * 0x61C8864680B583EBULL) >> (64 - hash_bits_));
}

bool FaultFilter::filter(uint64_t page_addr, uint16_t pasid, uint64_t timestamp,
                         uint64_t processed_timestamp) {
  const uint64_t k = key(page_addr, pasid);
  // A retry fault whose timestamp is behind what was already processed is stale.
  if (ts_after(timestamp, processed_timestamp)) return true;

  // Faults at or after `stamp` are still live.
  const uint64_t stamp = std::max(timestamp, timeout_ + 1) - timeout_;

  // The slot about to be reused still holds a live fault: no room to track this one.
  if (ring_[last_].timestamp >= stamp) return true;

  const uint32_t b = bucket(k);
  uint32_t idx = hash_[b];
  while (ring_[idx].timestamp >= stamp) {
    const Slot& s = ring_[idx];
    if (s.key == k) {
      // Removed before this fault was raised: treat it as new.
      if (s.expiry != 0 && ts_after(s.expiry, timestamp)) break;
      return true;
    }
    const uint64_t prev_ts = s.timestamp;
    idx = s.next;
    // The chain continues only through strictly older entries; otherwise the slot was reused.
    if (ring_[idx].timestamp >= prev_ts) break;
  }

  Slot& slot = ring_[last_];
  slot.key = k;
  slot.timestamp = timestamp;
  slot.next = hash_[b];
  hash_[b] = last_;
  last_ = (last_ + 1) & ring_mask_;
  return false;
}

void FaultFilter::remove(uint64_t page_addr, uint16_t pasid, uint64_t timestamp) {
  const uint64_t k = key(page_addr, pasid);
  uint32_t idx = hash_[bucket(k)];
  for (uint32_t steps = 0; steps <= ring_mask_; ++steps) {
    Slot& s = ring_[idx];
    if (s.key == k) {
      s.expiry = timestamp;
      return;
    }
    const uint64_t prev_ts = s.timestamp;
    idx = s.next;
    if (ring_[idx].timestamp >= prev_ts) return;
  }
}

}  // namespace fl::driver
