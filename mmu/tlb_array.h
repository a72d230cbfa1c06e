// The tag and data array of a set-associative TLB with LRU replacement, without timing:
// the part of UTCL2 that decides hit, miss and victim. Entries map one 4 KiB page of one
// VMID. Sets are selected by VPN modulo the set count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fl::mmu {

struct TlbEntry {
  bool valid = false;
  uint8_t vmid = 0;
  uint64_t vpn = 0;
  uint64_t ppn = 0;
  bool system = false;
  bool writeable = false;
  uint64_t last_use = 0;
};

class TlbArray {
 public:
  TlbArray(uint32_t entries, uint32_t ways);

  uint32_t sets() const { return sets_; }
  uint32_t ways() const { return ways_; }

  // The entry for (vmid, vpn), marked most recently used; nullptr on a miss.
  const TlbEntry* lookup(uint8_t vmid, uint64_t vpn);
  // Installs a translation, replacing the least recently used way of its set (or an
  // existing entry for the same page). Returns true and fills `victim` if a valid entry
  // of another page was evicted.
  bool insert(uint8_t vmid, uint64_t vpn, uint64_t ppn, bool system, bool writeable,
              TlbEntry* victim = nullptr);
  // Drops every entry of `vmid`; returns how many were valid.
  uint32_t invalidate_vmid(uint8_t vmid);
  // Drops entries of `vmid` with vpn in [first, last].
  uint32_t invalidate_range(uint8_t vmid, uint64_t first, uint64_t last);
  uint32_t valid_entries() const;

 private:
  TlbEntry* set_begin(uint64_t vpn) { return &entries_[(vpn % sets_) * ways_]; }

  uint32_t sets_;
  uint32_t ways_;
  uint64_t clock_ = 0;
  std::vector<TlbEntry> entries_;
};

}  // namespace fl::mmu
