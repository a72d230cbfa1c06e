#include "mmu/tlb_array.h"

namespace fl::mmu {

TlbArray::TlbArray(uint32_t entries, uint32_t ways)
    : sets_(entries / ways), ways_(ways), entries_(static_cast<size_t>(entries / ways) * ways) {}

const TlbEntry* TlbArray::lookup(uint8_t vmid, uint64_t vpn) {
  TlbEntry* set = set_begin(vpn);
  for (uint32_t w = 0; w < ways_; ++w) {
    TlbEntry& e = set[w];
    if (e.valid && e.vmid == vmid && e.vpn == vpn) {
      e.last_use = ++clock_;
      return &e;
    }
  }
  return nullptr;
}

bool TlbArray::insert(uint8_t vmid, uint64_t vpn, uint64_t ppn, bool system, bool writeable,
                      TlbEntry* victim) {
  TlbEntry* set = set_begin(vpn);
  // The way already holding this page, else an invalid way, else the least recently used.
  TlbEntry* slot = &set[0];
  for (uint32_t w = 0; w < ways_; ++w) {
    TlbEntry& e = set[w];
    if (e.valid && e.vmid == vmid && e.vpn == vpn) {
      slot = &e;
      break;
    }
    if (slot->valid && (!e.valid || e.last_use < slot->last_use)) slot = &e;
  }
  const bool evicted = slot->valid && !(slot->vmid == vmid && slot->vpn == vpn);
  if (evicted && victim != nullptr) *victim = *slot;
  *slot = TlbEntry{true, vmid, vpn, ppn, system, writeable, ++clock_};
  return evicted;
}

uint32_t TlbArray::invalidate_vmid(uint8_t vmid) {
  uint32_t n = 0;
  for (TlbEntry& e : entries_) {
    if (e.valid && e.vmid == vmid) {
      e.valid = false;
      ++n;
    }
  }
  return n;
}

uint32_t TlbArray::invalidate_range(uint8_t vmid, uint64_t first, uint64_t last) {
  uint32_t n = 0;
  for (TlbEntry& e : entries_) {
    if (e.valid && e.vmid == vmid && e.vpn >= first && e.vpn <= last) {
      e.valid = false;
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
