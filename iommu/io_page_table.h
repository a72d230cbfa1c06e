// A domain's IO page table in host memory (AMD IOMMU host page table, 4 levels, 48-bit
// IOVA): the functional side, as the Linux driver edits it (drivers/iommu/amd/io_pgtable.c:
// iommu_v1_map_pages / unmap_pages / iova_to_phys) and as the IOMMU's walker reads it.
//
// Models: map() installs a leaf of 4 KiB, 2 MiB or 1 GiB (the page size must be aligned in
// both IOVA and physical address), allocating missing tables from the caller's allocator;
// unmap() clears leaves (freeing no tables, as Linux keeps them); walk() follows the table
// from the root and reports each entry read, so the timed walker and tests agree on what
// a walk touches.
// Abstracts away: page modes other than 4-level, the "next level 7" large-page encoding
// (Linux uses plain leaves for 2 MiB and 1 GiB), dirty bits.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "hw/sparse_memory.h"
#include "iommu/amd_iommu_types.h"

namespace fl::iommu {

constexpr uint64_t k4K = 4096;
constexpr uint64_t k2M = 2ULL << 20;
constexpr uint64_t k1G = 1ULL << 30;

// The table level whose leaves map `page_bytes` (1 for 4 KiB, 2 for 2 MiB, 3 for 1 GiB).
int leaf_level(uint64_t page_bytes);
uint64_t level_page_bytes(int level);

struct WalkStep {
  int level;          // table level read (4 = root)
  uint64_t entry_pa;  // address of the 8-byte entry
  uint64_t value;
};

struct WalkResult {
  bool present = false;
  uint64_t pa = 0;          // translated address of the IOVA (with its page offset)
  uint64_t page_bytes = 0;  // size of the leaf
  bool read = false;
  bool write = false;
  std::vector<WalkStep> steps;
};

class IoPageTable {
 public:
  // Allocates one zeroed, 4 KiB-aligned table page in host memory; returns its address.
  using TableAlloc = std::function<uint64_t()>;

  IoPageTable(hw::SparseMemory& mem, TableAlloc alloc);

  uint64_t root() const { return root_; }

  // Maps [iova, iova + page_bytes) to pa. Returns the number of tables allocated.
  // Throws std::invalid_argument on a misaligned or unsupported page size, or if a
  // different mapping is present there.
  int map(uint64_t iova, uint64_t pa, uint64_t page_bytes, bool read, bool write);
  // Clears the leaf mapping `iova`, if any; returns its page size (0 if none was mapped).
  uint64_t unmap(uint64_t iova);

  // The functional walk; `from_level` / `from_table` start below a cached PDE.
  WalkResult walk(uint64_t iova) const { return walk_from(iova, 4, root_); }
  WalkResult walk_from(uint64_t iova, int level, uint64_t table) const;

  uint64_t tables() const { return tables_; }

 private:
  hw::SparseMemory& mem_;
  TableAlloc alloc_;
  uint64_t root_;
  uint64_t tables_ = 1;
};

}  // namespace fl::iommu
