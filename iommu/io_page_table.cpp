#include "iommu/io_page_table.h"

#include <stdexcept>

namespace fl::iommu {

int leaf_level(uint64_t page_bytes) {
  switch (page_bytes) {
    case k4K: return 1;
    case k2M: return 2;
    case k1G: return 3;
    default: return 0;
  }
}

uint64_t level_page_bytes(int level) { return 1ULL << level_shift(level); }

IoPageTable::IoPageTable(hw::SparseMemory& mem, TableAlloc alloc)
    : mem_(mem), alloc_(std::move(alloc)), root_(alloc_()) {}

int IoPageTable::map(uint64_t iova, uint64_t pa, uint64_t page_bytes, bool read, bool write) {
  const int leaf = leaf_level(page_bytes);
  if (leaf == 0) throw std::invalid_argument("IO page size must be 4 KiB, 2 MiB or 1 GiB");
  if (iova % page_bytes != 0 || pa % page_bytes != 0) {
    throw std::invalid_argument("IOVA and physical address must be aligned to the IO page size");
  }
  if (iova >> 48 != 0) throw std::invalid_argument("IOVA beyond 48 bits");
  int allocated = 0;
  uint64_t table = root_;
  for (int level = 4; level > leaf; --level) {
    const uint64_t entry = table + 8 * level_index(level, iova);
    IoPte e = IoPte::decode(mem_.read64(entry));
    if (!e.present) {
      e = IoPte{true, static_cast<uint32_t>(level - 1), alloc_(), true, true};
      mem_.write64(entry, e.encode());
      ++allocated;
      ++tables_;
    } else if (e.next_level == 0) {
      throw std::invalid_argument("a larger IO page already maps this IOVA");
    }
    table = e.addr;
  }
  const uint64_t entry = table + 8 * level_index(leaf, iova);
  const IoPte old = IoPte::decode(mem_.read64(entry));
  if (old.present && (old.next_level != 0 || old.addr != pa)) {
    throw std::invalid_argument("the IOVA is already mapped elsewhere");
  }
  mem_.write64(entry, IoPte{true, 0, pa, read, write}.encode());
  return allocated;
}

uint64_t IoPageTable::unmap(uint64_t iova) {
  uint64_t table = root_;
  for (int level = 4; level >= 1; --level) {
    const uint64_t entry = table + 8 * level_index(level, iova);
    const IoPte e = IoPte::decode(mem_.read64(entry));
    if (!e.present) return 0;
    if (e.next_level == 0) {
      mem_.write64(entry, 0);
      return level_page_bytes(level);
    }
    table = e.addr;
  }
  return 0;
}

WalkResult IoPageTable::walk_from(uint64_t iova, int level, uint64_t table) const {
  WalkResult r;
  for (; level >= 1; --level) {
    const uint64_t entry = table + 8 * level_index(level, iova);
    const uint64_t v = mem_.read64(entry);
    r.steps.push_back(WalkStep{level, entry, v});
    const IoPte e = IoPte::decode(v);
    if (!e.present) return r;
    if (e.next_level == 0) {
      r.present = true;
      r.page_bytes = level_page_bytes(level);
      r.pa = e.addr + (iova & (r.page_bytes - 1));
      r.read = e.read;
      r.write = e.write;
      return r;
    }
    table = e.addr;
  }
  return r;
}

}  // namespace fl::iommu
