#include "mmu/replacement.h"

namespace fl::mmu {

std::string ReplacementPolicy::check(Replacement kind, uint32_t ways) {
  if (kind == Replacement::kTreePlru && (ways & (ways - 1)) != 0) {
    return "TREE_PLRU needs a power-of-two number of ways, not " + std::to_string(ways);
  }
  return "";
}

std::unique_ptr<ReplacementPolicy> ReplacementPolicy::make(Replacement kind, uint32_t sets,
                                                           uint32_t ways, uint64_t seed) {
  switch (kind) {
    case Replacement::kTreePlru: return std::make_unique<TreePlruPolicy>(sets, ways);
    case Replacement::kFifo: return std::make_unique<FifoPolicy>(sets, ways);
    case Replacement::kRandom: return std::make_unique<RandomPolicy>(ways, seed);
    case Replacement::kLru:
    default: return std::make_unique<LruPolicy>(sets, ways);
  }
}

namespace {
uint32_t oldest(const uint64_t* stamps, uint32_t ways) {
  uint32_t v = 0;
  for (uint32_t w = 1; w < ways; ++w) {
    if (stamps[w] < stamps[v]) v = w;
  }
  return v;
}
}  // namespace

LruPolicy::LruPolicy(uint32_t sets, uint32_t ways)
    : ways_(ways), prev_(size_t{sets} * ways), next_(size_t{sets} * ways), mru_(sets), lru_(sets) {
  // Initially way ways-1 is most and way 0 least recently used.
  for (uint32_t s = 0; s < sets; ++s) {
    for (uint32_t w = 0; w < ways; ++w) {
      prev_[size_t{s} * ways + w] = w + 1 < ways ? w + 1 : w;
      next_[size_t{s} * ways + w] = w > 0 ? w - 1 : w;
    }
    mru_[s] = ways - 1;
    lru_[s] = 0;
  }
}

void LruPolicy::touch(uint32_t set, uint32_t way) {
  if (mru_[set] == way) return;
  uint32_t* prev = &prev_[size_t{set} * ways_];
  uint32_t* next = &next_[size_t{set} * ways_];
  // Unlink (way is not the MRU, so it has a predecessor).
  const uint32_t p = prev[way];
  if (lru_[set] == way) {
    lru_[set] = p;
  } else {
    const uint32_t n = next[way];
    prev[n] = p;
    next[p] = n;
  }
  if (lru_[set] == p) next[p] = p;
  // Push in front.
  next[way] = mru_[set];
  prev[mru_[set]] = way;
  prev[way] = way;
  mru_[set] = way;
}
uint32_t FifoPolicy::victim(uint32_t set) { return oldest(&stamp_[size_t{set} * ways_], ways_); }

void TreePlruPolicy::touch(uint32_t set, uint32_t way) {
  if (ways_ < 2) return;
  uint8_t* b = &bits_[size_t{set} * ways_];
  // Walk from the leaf up; at each node point away from the half holding `way`.
  uint32_t node = ways_ + way;
  while (node > 1) {
    const uint32_t parent = node / 2;
    b[parent] = (node & 1) ? 0 : 1;  // came from the right child -> point left (0)
    node = parent;
  }
}

uint32_t TreePlruPolicy::victim(uint32_t set) {
  if (ways_ < 2) return 0;
  const uint8_t* b = &bits_[size_t{set} * ways_];
  uint32_t node = 1;
  while (node < ways_) node = 2 * node + b[node];
  return node - ways_;
}

}  // namespace fl::mmu
