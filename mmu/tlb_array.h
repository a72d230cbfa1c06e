// The tag and data array of a set-associative translation cache, without timing: the part
// of UTCL1, UTCL2 and the page-walk caches that decides hit, miss and victim.
//
// Models: fragment-aware entries. An entry maps a naturally aligned block of 2^log2_pages
// 4 KiB pages of one VMID (a single page, a PTE fragment such as 64 KiB, or a 2 MiB/1 GiB
// PDE-as-PTE page) to a physically contiguous block. The set of an entry is chosen by its
// block number (vpn >> log2_pages) modulo the set count, so one entry of any size occupies
// one way; a lookup probes, for each block size present in the array, the set that size
// would use (hardware probes the size classes in parallel, so the hit latency does not
// depend on how many are present). The victim of a full set is the replacement policy's
// choice (mmu/replacement.h); invalid ways are filled first.
// Abstracts away: parity, the physical tag/data RAM split, and per-size partitioning.
//
// Host layout: a miss scans every way of a set (all of a fully associative UTCL1 or
// page-walk cache), so each way's block base is also kept in a dense array of its own,
// ~0 for an invalid way (no valid base is ~0: pages are below 2^52). A scan reads 8 bytes
// a way and opens the full entry only when the base matches. A fully associative array of
// 16 ways or more (UTCL1, the page-walk caches) also keeps a hash index from block to way,
// so a lookup or fill probes one slot instead of scanning every way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mmu/flat_table.h"
#include "mmu/replacement.h"

namespace fl::mmu {

struct TlbEntry {
  bool valid = false;
  uint8_t vmid = 0;
  uint8_t log2_pages = 0;  // block size: 2^log2_pages 4 KiB pages
  uint64_t vpn = 0;        // first page of the block (aligned to the block size)
  uint64_t ppn = 0;        // physical page of `vpn` (page-walk caches: the cached entry value)
  bool system = false;
  bool writeable = false;

  // Physical page of `page`, a page inside this entry's block.
  uint64_t translate(uint64_t page) const { return ppn + (page - vpn); }
  uint64_t pages() const { return uint64_t{1} << log2_pages; }
};

// Throws InputError naming `key` (the config prefix, e.g. soc.gpu.utcl2) if `entries` is not
// a multiple of `ways` or `replacement` cannot manage `ways` ways.
void validate_geometry(uint32_t entries, uint32_t ways, Replacement replacement, const std::string& key);

class TlbArray {
 public:
  static constexpr int kMaxLog2Pages = 31;

  TlbArray(uint32_t entries, uint32_t ways, Replacement policy = Replacement::kLru,
           uint64_t seed = 0);

  uint32_t sets() const { return sets_; }
  uint32_t ways() const { return ways_; }
  uint32_t entries() const { return sets_ * ways_; }

  // The entry whose block holds page `vpn` of `vmid` (marked used); nullptr on a miss.
  const TlbEntry* lookup(uint8_t vmid, uint64_t vpn);
  // Installs a single-page translation (insert_block with log2_pages 0).
  bool insert(uint8_t vmid, uint64_t vpn, uint64_t ppn, bool system, bool writeable,
              TlbEntry* victim = nullptr);
  // Installs the block of 2^log2_pages pages holding `vpn`, whose page `vpn` is at `ppn`.
  // Replaces an entry for the same block in place; otherwise an invalid way, otherwise the
  // policy's victim. Returns true and fills `victim` if a valid entry of another block was
  // evicted.
  bool insert_block(uint8_t vmid, uint64_t vpn, uint64_t ppn, uint32_t log2_pages, bool system,
                    bool writeable, TlbEntry* victim = nullptr);
  // Drops every entry of `vmid`; returns how many were valid.
  uint32_t invalidate_vmid(uint8_t vmid);
  // Drops entries of `vmid` whose block overlaps pages [first, last].
  uint32_t invalidate_range(uint8_t vmid, uint64_t first, uint64_t last);
  uint32_t invalidate_all();
  uint32_t valid_entries() const;

 private:
  static constexpr uint64_t kNoBase = ~uint64_t{0};
  struct BlockKey {
    uint64_t base = 0;
    uint8_t vmid = 0;
    uint8_t size = 0;
    bool operator==(const BlockKey& o) const { return base == o.base && vmid == o.vmid && size == o.size; }
    uint64_t hash() const { return base ^ (uint64_t{vmid} << 56) ^ (uint64_t{size} << 50); }
  };
  // The way holding the block, else ways_.
  uint32_t find_way(size_t first, const BlockKey& key) const;
  uint32_t set_of(uint64_t block) const { return static_cast<uint32_t>(block % sets_); }
  void drop(size_t index, uint32_t set);  // `set` holds `index` (no division on the fill path)

  uint32_t sets_;
  uint32_t ways_;
  std::vector<TlbEntry> entries_;
  std::vector<uint64_t> base_;  // per way: entries_[i].vpn if valid, else kNoBase
  std::vector<uint32_t> valid_in_set_;  // a full set needs no search for an invalid way
  std::unique_ptr<FlatTable<BlockKey, uint32_t>> index_;  // fully associative only: block -> way
  std::unique_ptr<ReplacementPolicy> policy_;
  // Valid entries per block size; bit n of size_mask_ is set while size 2^n has any.
  uint32_t size_count_[kMaxLog2Pages + 1] = {};
  uint32_t size_mask_ = 0;
  // Valid entries per VMID: an invalidation of a VMID with none (most UTCL1s in a fault
  // storm) costs nothing, and a scan stops at the VMID's last entry.
  uint32_t vmid_count_[256] = {};
};

}  // namespace fl::mmu
