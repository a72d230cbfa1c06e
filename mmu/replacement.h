// Replacement policies of set-associative translation structures (UTCL1, UTCL2,
// page-walk caches): an interface plus one class per policy, chosen by name in the config
// (TlbReplacement in config.proto).
//
// Models: which valid way of a full set a fill replaces. LRU (exact recency), TREE_PLRU
// (the binary-tree pseudo-LRU of most hardware caches; ways must be a power of two), FIFO
// (fill order; hits do not refresh) and RANDOM (deterministic: drawn from the run's seed).
// Invalid ways are always used before any victim is chosen; that is the array's job.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/rng.h"

namespace fl::mmu {

enum class Replacement : uint32_t { kLru = 0, kTreePlru = 1, kFifo = 2, kRandom = 3 };

class ReplacementPolicy {
 public:
  virtual ~ReplacementPolicy() = default;
  // `way` of `set` was used by a lookup hit.
  virtual void touch(uint32_t set, uint32_t way) = 0;
  // `way` of `set` was (re)filled.
  virtual void filled(uint32_t set, uint32_t way) = 0;
  // The way of a full `set` to replace.
  virtual uint32_t victim(uint32_t set) = 0;
  virtual const char* name() const = 0;

  // Why `kind` cannot manage `ways` ways, or empty.
  static std::string check(Replacement kind, uint32_t ways);
  static std::unique_ptr<ReplacementPolicy> make(Replacement kind, uint32_t sets, uint32_t ways,
                                                 uint64_t seed);
};

// Exact LRU as a recency list per set (O(1) touch and victim, which matters for the
// fully associative UTCL1 and page-walk caches).
class LruPolicy : public ReplacementPolicy {
 public:
  LruPolicy(uint32_t sets, uint32_t ways);
  void touch(uint32_t set, uint32_t way) override;
  void filled(uint32_t set, uint32_t way) override { touch(set, way); }
  uint32_t victim(uint32_t set) override { return lru_[set]; }
  const char* name() const override { return "LRU"; }

 private:
  uint32_t ways_;
  std::vector<uint32_t> prev_;  // towards the most recently used, per (set, way)
  std::vector<uint32_t> next_;  // towards the least recently used
  std::vector<uint32_t> mru_;   // per set
  std::vector<uint32_t> lru_;   // per set
};

class FifoPolicy : public ReplacementPolicy {
 public:
  FifoPolicy(uint32_t sets, uint32_t ways) : ways_(ways), stamp_(size_t{sets} * ways, 0) {}
  void touch(uint32_t, uint32_t) override {}
  void filled(uint32_t set, uint32_t way) override { stamp_[size_t{set} * ways_ + way] = ++clock_; }
  uint32_t victim(uint32_t set) override;
  const char* name() const override { return "FIFO"; }

 private:
  uint32_t ways_;
  uint64_t clock_ = 0;
  std::vector<uint64_t> stamp_;
};

// Binary tree of ways-1 bits per set; each bit points towards the less recently used half.
class TreePlruPolicy : public ReplacementPolicy {
 public:
  TreePlruPolicy(uint32_t sets, uint32_t ways) : ways_(ways), bits_(size_t{sets} * ways, 0) {}
  void touch(uint32_t set, uint32_t way) override;
  void filled(uint32_t set, uint32_t way) override { touch(set, way); }
  uint32_t victim(uint32_t set) override;
  const char* name() const override { return "TREE_PLRU"; }

 private:
  uint32_t ways_;
  std::vector<uint8_t> bits_;  // node n of set s at [s * ways + n], n in [1, ways)
};

class RandomPolicy : public ReplacementPolicy {
 public:
  RandomPolicy(uint32_t ways, uint64_t seed) : ways_(ways), rng_(seed, 0x7e91ace) {}
  void touch(uint32_t, uint32_t) override {}
  void filled(uint32_t, uint32_t) override {}
  uint32_t victim(uint32_t) override { return static_cast<uint32_t>(rng_.below(ways_)); }
  const char* name() const override { return "RANDOM"; }

 private:
  uint32_t ways_;
  Rng rng_;
};

}  // namespace fl::mmu
