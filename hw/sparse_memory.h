// Functional byte storage for a large physical address space: 4 KiB pages allocated on
// first write; reads of untouched bytes return zero. Holds page tables, IH rings, fences
// and migrated data without reserving the modelled capacity.
//
// Every timed page-table read of a walk looks a page up here, at random over megabytes of
// tables, so the page index is a flat open-addressing table (one probe into a dense array
// instead of a bucket and a node, each a likely cache miss) with a one-entry cache of the
// last page found in front of it for sequential use (rings, copies). Pages are never freed.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace fl::hw {

class SparseMemory {
 public:
  static constexpr uint64_t kPageBytes = 4096;

  explicit SparseMemory(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  uint64_t capacity() const { return capacity_; }
  bool contains(uint64_t addr, uint64_t len) const {
    return addr <= capacity_ && len <= capacity_ - addr;
  }

  void read(uint64_t addr, void* dst, uint64_t len) const;
  void write(uint64_t addr, const void* src, uint64_t len);
  void fill(uint64_t addr, uint8_t value, uint64_t len);

  uint32_t read32(uint64_t addr) const;
  uint64_t read64(uint64_t addr) const;
  void write32(uint64_t addr, uint32_t v);
  void write64(uint64_t addr, uint64_t v);

  // Copies `len` bytes from `src` to `dst` (different or same memory), page by page,
  // touching only pages that hold data.
  static void copy(const SparseMemory& src, uint64_t src_addr, SparseMemory& dst,
                   uint64_t dst_addr, uint64_t len);

  size_t pages_allocated() const { return pages_.size(); }

 private:
  using Page = std::array<uint8_t, kPageBytes>;
  struct Slot {
    uint64_t page = kNoPage;
    Page* data = nullptr;
  };
  // No page number reaches this (addresses are below 2^64, pages below 2^52).
  static constexpr uint64_t kNoPage = ~uint64_t{0};

  const Page* find(uint64_t page) const;
  Page& touch(uint64_t page);
  size_t home(uint64_t page) const {
    // Fibonacci hashing: the top bits of a multiplication spread consecutive pages.
    return static_cast<size_t>((page * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  void rehash(size_t slots);

  uint64_t capacity_;
  std::vector<std::unique_ptr<Page>> pages_;  // owns every page
  std::vector<Slot> slots_;                   // linear probing; a power of two, at most half full
  unsigned shift_ = 64;
  mutable Slot last_;                         // the page found last (reads are const)
};

}  // namespace fl::hw
