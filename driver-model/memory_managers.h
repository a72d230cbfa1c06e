// The driver's allocators of physical memory: host pages (the kernel's page allocator and
// dma_alloc_coherent, for rings, fences and process memory) and VRAM (amdgpu_vram_mgr, for
// page tables, the GART table and migrated ranges).
//
// Models: first-fit over a free list with alignment; freed blocks are reused.
// Abstracts away: fragmentation policy (buddy allocation), NUMA, TTM placement and eviction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace fl::driver {

class PhysAllocator {
 public:
  PhysAllocator(std::string what, uint64_t base, uint64_t bytes);

  // An aligned block of `bytes`, or nothing if no free block fits.
  std::optional<uint64_t> alloc(uint64_t bytes, uint64_t align);
  void free(uint64_t addr, uint64_t bytes);
  // Takes [addr, addr + bytes) out of the managed space for good (e.g. an MMIO hole); the
  // part outside the managed range is ignored. Must precede every alloc (throws
  // std::logic_error otherwise), so no block handed out can overlap the hole.
  void reserve(uint64_t addr, uint64_t bytes);

  uint64_t used_bytes() const { return used_; }
  uint64_t capacity() const { return capacity_; }
  const std::string& what() const { return what_; }

 private:
  std::string what_;
  uint64_t capacity_;
  uint64_t used_ = 0;
  std::map<uint64_t, uint64_t> free_;  // start -> size, coalesced
};

}  // namespace fl::driver
