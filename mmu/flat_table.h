// Small hash tables of the translation path: the miss-status registers of UTCL1 and
// UTCL2 (outstanding misses by key, each with the requests merged into it in arrival
// order) and the tag index of the fully associative TLB arrays (block -> way).
//
// Each is looked up, inserted into or erased from once or more per translation that
// misses, so FlatTable is a flat open-addressing table (linear probing, at most half full,
// backward-shift erase) rather than a std::map: no allocation per entry and one probe into
// a dense array. Most misses have a single waiter, so MshrWaiters holds the first inline.
// Iteration order is unspecified; callers only find, insert, erase and count (and build
// sets). Key needs operator== and a member hash() -> uint64_t.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "sim/core/tlm_ports.h"

namespace fl::mmu {

// The requests waiting for one miss, in arrival order.
class MshrWaiters {
 public:
  void push_back(Payload* p) {
    if (first_ == nullptr) {
      first_ = p;
    } else {
      more_.push_back(p);
    }
  }
  template <class F>
  void for_each(F&& f) const {
    if (first_ == nullptr) return;
    f(first_);
    for (Payload* p : more_) f(p);
  }
  size_t size() const { return first_ == nullptr ? 0 : 1 + more_.size(); }

 private:
  Payload* first_ = nullptr;
  std::vector<Payload*> more_;
};

template <class Key, class Value>
class FlatTable {
 public:
  FlatTable() : slots_(8) {}

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The entry of `key`, or nullptr. Valid until the next insert or erase.
  Value* find(const Key& key) { return const_cast<Value*>(std::as_const(*this).find(key)); }
  const Value* find(const Key& key) const {
    for (size_t i = home(key);; i = next(i)) {
      const Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.key == key) return &s.value;
    }
  }

  // A new, default-constructed entry for `key`, which must not be present. Valid until
  // the next insert or erase.
  Value& insert(const Key& key) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    size_t i = home(key);
    while (slots_[i].used) i = next(i);
    Slot& s = slots_[i];
    s.used = true;
    s.key = key;
    s.value = Value{};
    ++size_;
    return s.value;
  }

  // Removes the entry of `key` (which must be present) and returns its value.
  Value take(const Key& key) {
    size_t hole = home(key);
    while (slots_[hole].used && !(slots_[hole].key == key)) hole = next(hole);
    if (!slots_[hole].used) throw std::logic_error("FlatTable::take: no entry for the key");
    Value out = std::move(slots_[hole].value);
    // Backward shift: move later entries of the probe run into the hole when the hole lies
    // between their home and their slot, so every entry stays reachable without tombstones.
    for (size_t j = next(hole);; j = next(j)) {
      Slot& s = slots_[j];
      if (!s.used) break;
      const size_t h = home(s.key);
      const bool movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
      if (movable) {
        slots_[hole].key = s.key;
        slots_[hole].value = std::move(s.value);
        hole = j;
      }
    }
    slots_[hole].used = false;
    slots_[hole].value = Value{};
    --size_;
    return out;
  }

  template <class F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.used) f(s.key, s.value);
    }
  }

 private:
  struct Slot {
    bool used = false;
    Key key{};
    Value value{};
  };
  size_t home(const Key& key) const {
    return static_cast<size_t>((key.hash() * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  size_t next(size_t i) const { return (i + 1) & (slots_.size() - 1); }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_ = std::vector<Slot>(old.size() * 2);
    --shift_;
    for (Slot& o : old) {
      if (!o.used) continue;
      size_t i = home(o.key);
      while (slots_[i].used) i = next(i);
      slots_[i].used = true;
      slots_[i].key = o.key;
      slots_[i].value = std::move(o.value);
    }
  }

  std::vector<Slot> slots_;  // a power of two
  unsigned shift_ = 64 - 3;  // log2(8) index bits
  size_t size_ = 0;
};

}  // namespace fl::mmu
