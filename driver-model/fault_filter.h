// The retry-fault filter of the amdgpu interrupt handler (amdgpu_gmc.c,
// amdgpu_gmc_filter_faults / amdgpu_gmc_filter_faults_remove), without a retry CAM.
//
// A fault is keyed by (page address << 4 | pasid). The filter remembers the last 2^ring_order
// faults in a ring, chained from a 2^hash_order-bucket hash of the key (the kernel's
// hash_64: multiply by the golden ratio, keep the top bits). Timestamps are IH ticks
// (48 bits). A fault is dropped when
//   - it is older than the last entry the interrupt handler processed on its ring (stale),
//   - the ring slot it would overwrite is still younger than the timeout (the ring is full
//     of live faults), or
//   - the same key was recorded within the last `timeout` ticks and has not been removed.
// Otherwise it is recorded and passes. remove() marks a key as expired at a timestamp, so
// a later fault on it passes again (used when handling returns -EAGAIN). As in the kernel
// source read for this model, recording a fault in a reused slot keeps that slot's expiry
// mark, so a slot once removed never filters again until the mark is overwritten by remove().
#pragma once

#include <cstdint>
#include <vector>

namespace fl::driver {

class FaultFilter {
 public:
  FaultFilter(uint32_t ring_order, uint32_t hash_order, uint64_t timeout_ticks);

  static uint64_t key(uint64_t page_addr, uint16_t pasid) { return page_addr << 4 | pasid; }
  // 48-bit wrap-aware "t2 is later than t1" (amdgpu_ih_ts_after).
  static bool ts_after(uint64_t t1, uint64_t t2) {
    return static_cast<int64_t>(t2 << 16) - static_cast<int64_t>(t1 << 16) > 0;
  }

  // True if the fault must be dropped.
  bool filter(uint64_t page_addr, uint16_t pasid, uint64_t timestamp, uint64_t processed_timestamp);
  // Lets the next fault on (page_addr, pasid) after `timestamp` through.
  void remove(uint64_t page_addr, uint16_t pasid, uint64_t timestamp);

 private:
  struct Slot {
    uint64_t key = 0;
    uint64_t timestamp = 0;
    uint64_t expiry = 0;  // 0: not removed
    uint32_t next = 0;
  };
  uint32_t bucket(uint64_t key) const;

  uint32_t ring_mask_;
  uint32_t hash_bits_;
  uint64_t timeout_;
  std::vector<Slot> ring_;
  std::vector<uint32_t> hash_;  // bucket -> ring index of its newest entry
  uint32_t last_ = 0;           // next ring slot to fill
};

}  // namespace fl::driver
