#include "mmu/tlb_array.h"

#include <algorithm>

#include "sim/core/errors.h"

namespace fl::mmu {

void validate_geometry(uint32_t entries, uint32_t ways, Replacement replacement, const std::string& key) {
  if (ways == 0 || entries % ways != 0) {
    throw InputError(key + ".entries = " + std::to_string(entries) + " is not a multiple of " + key +
                     ".ways = " + std::to_string(ways));
  }
  const std::string why = ReplacementPolicy::check(replacement, ways);
  if (!why.empty()) throw InputError(key + ".replacement: " + why + " (" + key + ".ways)");
}

TlbArray::TlbArray(uint32_t entries, uint32_t ways, Replacement policy, uint64_t seed)
    : sets_(std::max(1u, entries / std::max(1u, ways))),
      ways_(std::max(1u, ways)),
      entries_(static_cast<size_t>(sets_) * ways_),
      base_(entries_.size(), kNoBase),
      valid_in_set_(sets_, 0),
      index_(sets_ == 1 && ways_ >= 16 ? std::make_unique<FlatTable<BlockKey, uint32_t>>() : nullptr),
      policy_(ReplacementPolicy::make(policy, sets_, ways_, seed)) {}

namespace {
// The first way in [from, ways) whose base is `base`, else `ways`. One 8-byte load and
// compare a way: a miss scans every way, and most ways never match.
[[gnu::always_inline]] inline uint32_t find_base(const uint64_t* b, uint32_t from, uint32_t ways,
                                                 uint64_t base) {
  for (uint32_t w = from; w < ways; ++w) {
    if (b[w] == base) return w;
  }
  return ways;
}
}  // namespace

// Inlined into lookup and insert_block: a hit in a set-associative array is a few dozen
// instructions, and two calls showed in the lookup microbenchmark.
[[gnu::always_inline]] inline uint32_t TlbArray::find_way(size_t first, const BlockKey& key) const {
  if (index_) {
    const uint32_t* w = index_->find(key);
    return w != nullptr ? *w : ways_;
  }
  const uint64_t* b = &base_[first];
  const TlbEntry* s = &entries_[first];
  uint32_t w = find_base(b, 0, ways_, key.base);
  while (w < ways_ && !(s[w].log2_pages == key.size && s[w].vmid == key.vmid)) {
    w = find_base(b, w + 1, ways_, key.base);
  }
  return w;
}

const TlbEntry* TlbArray::lookup(uint8_t vmid, uint64_t vpn) {
  for (uint32_t mask = size_mask_; mask != 0; mask &= mask - 1) {
    const uint32_t size = static_cast<uint32_t>(__builtin_ctz(mask));
    const uint64_t base = (vpn >> size) << size;
    const uint32_t set = set_of(vpn >> size);
    const size_t first = size_t{set} * ways_;
    const uint32_t w = find_way(first, BlockKey{base, vmid, static_cast<uint8_t>(size)});
    if (w < ways_) {
      policy_->touch(set, w);
      return &entries_[first + w];
    }
  }
  return nullptr;
}

bool TlbArray::insert(uint8_t vmid, uint64_t vpn, uint64_t ppn, bool system, bool writeable,
                      TlbEntry* victim) {
  return insert_block(vmid, vpn, ppn, 0, system, writeable, victim);
}

bool TlbArray::insert_block(uint8_t vmid, uint64_t vpn, uint64_t ppn, uint32_t log2_pages,
                            bool system, bool writeable, TlbEntry* victim) {
  const uint32_t size = std::min<uint32_t>(log2_pages, kMaxLog2Pages);
  const uint64_t base = (vpn >> size) << size;
  const uint64_t base_ppn = ppn - (vpn - base);
  const uint32_t set = set_of(vpn >> size);
  const size_t first = size_t{set} * ways_;
  TlbEntry* s = &entries_[first];
  const uint64_t* b = &base_[first];
  // The way already holding this block, else an invalid way, else the policy's victim.
  const BlockKey key{base, vmid, static_cast<uint8_t>(size)};
  uint32_t slot = find_way(first, key);
  bool evicted = false;
  if (slot == ways_) {
    // The first invalid way, if the set has one.
    const uint32_t free = valid_in_set_[set] < ways_ ? find_base(b, 0, ways_, kNoBase) : ways_;
    slot = free != ways_ ? free : policy_->victim(set);
    TlbEntry& old = s[slot];
    if (old.valid) {
      evicted = true;
      if (victim != nullptr) *victim = old;
      drop(first + slot, set);
    }
  } else {
    drop(first + slot, set);
  }
  s[slot] = TlbEntry{true, vmid, static_cast<uint8_t>(size), base, base_ppn, system, writeable};
  base_[first + slot] = base;
  ++valid_in_set_[set];
  if (index_) index_->insert(key) = slot;
  if (size_count_[size]++ == 0) size_mask_ |= 1u << size;
  ++vmid_count_[vmid];
  policy_->filled(set, slot);
  return evicted;
}

void TlbArray::drop(size_t index, uint32_t set) {
  TlbEntry& e = entries_[index];
  if (!e.valid) return;
  e.valid = false;
  base_[index] = kNoBase;
  if (index_) index_->take(BlockKey{e.vpn, e.vmid, e.log2_pages});
  --valid_in_set_[set];
  if (--size_count_[e.log2_pages] == 0) size_mask_ &= ~(1u << e.log2_pages);
  --vmid_count_[e.vmid];
}

uint32_t TlbArray::invalidate_vmid(uint8_t vmid) {
  uint32_t n = 0;
  for (size_t i = 0; i < entries_.size() && vmid_count_[vmid] > 0; ++i) {
    const TlbEntry& e = entries_[i];
    if (e.valid && e.vmid == vmid) {
      drop(i, static_cast<uint32_t>(i / ways_));
      ++n;
    }
  }
  return n;
}

uint32_t TlbArray::invalidate_range(uint8_t vmid, uint64_t first, uint64_t last) {
  uint32_t n = 0;
  uint32_t left = vmid_count_[vmid];  // entries of `vmid` not yet looked at
  for (size_t i = 0; i < entries_.size() && left > 0; ++i) {
    const TlbEntry& e = entries_[i];
    if (!e.valid || e.vmid != vmid) continue;
    --left;
    if (e.vpn <= last && e.vpn + e.pages() - 1 >= first) {
      drop(i, static_cast<uint32_t>(i / ways_));
      ++n;
    }
  }
  return n;
}

uint32_t TlbArray::invalidate_all() {
  uint32_t n = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].valid) {
      drop(i, static_cast<uint32_t>(i / ways_));
      ++n;
    }
  }
  return n;
}

uint32_t TlbArray::valid_entries() const {
  uint32_t n = 0;
  for (const TlbEntry& e : entries_) n += e.valid ? 1 : 0;
  return n;
}

}  // namespace fl::mmu
