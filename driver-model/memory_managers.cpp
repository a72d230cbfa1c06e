#include "driver-model/memory_managers.h"

#include <algorithm>
#include <stdexcept>

namespace fl::driver {

PhysAllocator::PhysAllocator(std::string what, uint64_t base, uint64_t bytes)
    : what_(std::move(what)), capacity_(bytes) {
  if (bytes > 0) free_[base] = bytes;
}

std::optional<uint64_t> PhysAllocator::alloc(uint64_t bytes, uint64_t align) {
  if (bytes == 0) bytes = 1;
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    const uint64_t start = it->first;
    const uint64_t size = it->second;
    const uint64_t aligned = (start + align - 1) / align * align;
    if (aligned < start || aligned - start > size || size - (aligned - start) < bytes) continue;
    free_.erase(it);
    if (aligned > start) free_[start] = aligned - start;
    const uint64_t tail = size - (aligned - start) - bytes;
    if (tail > 0) free_[aligned + bytes] = tail;
    used_ += bytes;
    return aligned;
  }
  return std::nullopt;
}

void PhysAllocator::reserve(uint64_t addr, uint64_t bytes) {
  if (used_ != 0) throw std::logic_error(what_ + ": reserve() after an allocation");
  const uint64_t end = addr + bytes;
  uint64_t removed = 0;
  for (auto it = free_.begin(); it != free_.end();) {
    const uint64_t s = it->first;
    const uint64_t e = s + it->second;
    if (e <= addr || s >= end) {
      ++it;
      continue;
    }
    it = free_.erase(it);
    if (s < addr) free_[s] = addr - s;
    if (e > end) free_[end] = e - end;
    removed += std::min(e, end) - std::max(s, addr);
  }
  capacity_ -= removed;
}

void PhysAllocator::free(uint64_t addr, uint64_t bytes) {
  used_ -= bytes;
  auto it = free_.emplace(addr, bytes).first;
  auto next = std::next(it);
  if (next != free_.end() && it->first + it->second == next->first) {
    it->second += next->second;
    free_.erase(next);
  }
  if (it != free_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      free_.erase(it);
    }
  }
}

}  // namespace fl::driver
