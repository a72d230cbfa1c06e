#include "hw/sparse_memory.h"

#include <algorithm>
#include <cstring>

namespace fl::hw {

const SparseMemory::Page* SparseMemory::find(uint64_t page) const {
  if (last_.page == page) return last_.data;
  if (slots_.empty()) return nullptr;
  const size_t mask = slots_.size() - 1;
  for (size_t i = home(page);; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.page == page) {
      last_ = s;
      return s.data;
    }
    if (s.page == kNoPage) return nullptr;
  }
}

SparseMemory::Page& SparseMemory::touch(uint64_t page) {
  if (Page* p = const_cast<Page*>(find(page))) return *p;
  // Keep the table at most half full, so probe sequences stay short.
  if (2 * (pages_.size() + 1) > slots_.size()) rehash(slots_.empty() ? 64 : 2 * slots_.size());
  pages_.push_back(std::make_unique<Page>());
  Page* p = pages_.back().get();
  p->fill(0);
  const size_t mask = slots_.size() - 1;
  size_t i = home(page);
  while (slots_[i].page != kNoPage) i = (i + 1) & mask;
  slots_[i] = Slot{page, p};
  last_ = slots_[i];
  return *p;
}

void SparseMemory::rehash(size_t slots) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(slots, Slot{});
  shift_ = 64;
  for (size_t n = slots; n > 1; n >>= 1) --shift_;
  const size_t mask = slots - 1;
  for (const Slot& s : old) {
    if (s.page == kNoPage) continue;
    size_t i = home(s.page);
    while (slots_[i].page != kNoPage) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void SparseMemory::read(uint64_t addr, void* dst, uint64_t len) const {
  auto* out = static_cast<uint8_t*>(dst);
  while (len > 0) {
    const uint64_t off = addr % kPageBytes;
    const uint64_t n = std::min(len, kPageBytes - off);
    if (const Page* p = find(addr / kPageBytes)) {
      std::memcpy(out, p->data() + off, n);
    } else {
      std::memset(out, 0, n);
    }
    addr += n;
    out += n;
    len -= n;
  }
}

namespace {
// Whether `n` bytes are all zero: eight words at a time (a loop the compiler vectorises),
// stopping at the first 64-byte block that is not; migrated and copied data is mostly
// zeros, so this runs over every byte the copy engine moves.
bool all_zero(const uint8_t* p, uint64_t n) {
  constexpr uint64_t kBlock = 64;
  for (; n >= kBlock; p += kBlock, n -= kBlock) {
    uint64_t w[kBlock / 8];
    std::memcpy(w, p, kBlock);
    uint64_t acc = 0;
    for (uint64_t x : w) acc |= x;
    if (acc != 0) return false;
  }
  for (; n > 0; ++p, --n) {
    if (*p != 0) return false;
  }
  return true;
}
}  // namespace

void SparseMemory::write(uint64_t addr, const void* src, uint64_t len) {
  const auto* in = static_cast<const uint8_t*>(src);
  while (len > 0) {
    const uint64_t off = addr % kPageBytes;
    const uint64_t n = std::min(len, kPageBytes - off);
    // Zeros written to an untouched page change nothing a read can see, so the page stays
    // unallocated (a copy of never-written memory costs no storage), as fill() does.
    if (find(addr / kPageBytes) != nullptr || !all_zero(in, n)) {
      std::memcpy(touch(addr / kPageBytes).data() + off, in, n);
    }
    addr += n;
    in += n;
    len -= n;
  }
}

void SparseMemory::fill(uint64_t addr, uint8_t value, uint64_t len) {
  while (len > 0) {
    const uint64_t off = addr % kPageBytes;
    const uint64_t n = std::min(len, kPageBytes - off);
    if (value != 0 || find(addr / kPageBytes) != nullptr) {
      std::memset(touch(addr / kPageBytes).data() + off, value, n);
    }
    addr += n;
    len -= n;
  }
}

uint32_t SparseMemory::read32(uint64_t addr) const {
  uint32_t v;
  read(addr, &v, sizeof v);
  return v;
}

uint64_t SparseMemory::read64(uint64_t addr) const {
  uint64_t v;
  read(addr, &v, sizeof v);
  return v;
}

void SparseMemory::write32(uint64_t addr, uint32_t v) { write(addr, &v, sizeof v); }
void SparseMemory::write64(uint64_t addr, uint64_t v) { write(addr, &v, sizeof v); }

void SparseMemory::copy(const SparseMemory& src, uint64_t src_addr, SparseMemory& dst,
                        uint64_t dst_addr, uint64_t len) {
  std::array<uint8_t, kPageBytes> buf;
  while (len > 0) {
    const uint64_t n = std::min({len, kPageBytes - src_addr % kPageBytes,
                                 kPageBytes - dst_addr % kPageBytes});
    const Page* p = src.find(src_addr / kPageBytes);
    if (p != nullptr) {
      std::memcpy(buf.data(), p->data() + src_addr % kPageBytes, n);
      dst.write(dst_addr, buf.data(), n);
    } else {
      dst.fill(dst_addr, 0, n);
    }
    src_addr += n;
    dst_addr += n;
    len -= n;
  }
}

}  // namespace fl::hw
