// Functional byte storage for a large physical address space: 4 KiB pages allocated on
// first write; reads of untouched bytes return zero. Holds page tables, IH rings, fences
// and migrated data without reserving the modelled capacity.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>

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
  const Page* find(uint64_t page) const;
  Page& touch(uint64_t page);

  uint64_t capacity_;
  std::unordered_map<uint64_t, std::unique_ptr<Page>> pages_;
};

}  // namespace fl::hw
