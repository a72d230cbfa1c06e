#include "driver-model/fault_prefetch.h"

#include <algorithm>

namespace fl::driver {

namespace {
constexpr uint64_t kPageBytes = 4096;
constexpr uint64_t kBlockPages = 512;  // a 2 MiB block

// The aligned region of 2^order pages (in the address space) holding page `i` of the
// range, clipped to [lo, hi).
PageSpan aligned(const PrefetchRange& r, uint64_t i, uint32_t order, uint64_t lo, uint64_t hi) {
  const uint64_t vpn = r.start_va / kPageBytes + i;
  const uint64_t size = uint64_t{1} << order;
  const uint64_t s = vpn / size * size;
  const uint64_t base = r.start_va / kPageBytes;
  const uint64_t first = std::max(s < base ? 0 : s - base, lo);
  const uint64_t end = std::min(s + size - base, hi);
  return PageSpan{first, end - first};
}

// Sorts and merges overlapping or touching spans.
std::vector<PageSpan> merged(std::vector<PageSpan> v) {
  std::sort(v.begin(), v.end(), [](const PageSpan& a, const PageSpan& b) { return a.first < b.first; });
  std::vector<PageSpan> out;
  for (const PageSpan& s : v) {
    if (s.n == 0) continue;
    if (!out.empty() && s.first <= out.back().first + out.back().n) {
      out.back().n = std::max(out.back().first + out.back().n, s.first + s.n) - out.back().first;
    } else {
      out.push_back(s);
    }
  }
  return out;
}

std::vector<PageSpan> windows(const PrefetchRange& r, const std::vector<uint64_t>& faulted) {
  std::vector<PageSpan> w;
  w.reserve(faulted.size());
  for (uint64_t p : faulted) w.push_back(aligned(r, p, r.granularity, 0, r.pages));
  return merged(std::move(w));
}

bool inside(const std::vector<PageSpan>& spans, uint64_t i) {
  auto it = std::upper_bound(spans.begin(), spans.end(), i, [](uint64_t v, const PageSpan& s) { return v < s.first; });
  if (it == spans.begin()) return false;
  --it;
  return i < it->first + it->n;
}
}  // namespace

std::unique_ptr<FaultPrefetch> FaultPrefetch::make(const config::Svm& cfg) {
  if (cfg.prefetch() == config::Svm::DENSITY) {
    return std::make_unique<DensityPrefetch>(cfg.prefetch_threshold_percent());
  }
  return std::make_unique<GranularityWindow>();
}

std::vector<PageSpan> GranularityWindow::spans(const PrefetchRange& r, const std::vector<uint64_t>& faulted) const {
  return windows(r, faulted);
}

std::vector<PageSpan> DensityPrefetch::spans(const PrefetchRange& r, const std::vector<uint64_t>& faulted) const {
  const std::vector<PageSpan> win = windows(r, faulted);
  std::vector<PageSpan> out = win;
  uint32_t block_order = 0;
  while ((uint64_t{1} << block_order) < kBlockPages) ++block_order;
  // Density is counted in the block of each faulted page: pages already at the
  // destination or inside a faulted window count.
  PageSpan block{0, 0};
  std::vector<uint8_t> dense;
  for (uint64_t p : faulted) {
    const PageSpan b = aligned(r, p, block_order, 0, r.pages);
    if (!(b == block)) {
      block = b;
      dense.assign(b.n, 0);
      for (uint64_t i = 0; i < b.n; ++i) dense[i] = (inside(win, b.first + i) || r.at_destination(b.first + i)) ? 1 : 0;
    }
    PageSpan best{0, 0};
    for (uint32_t order = r.granularity + 1; order <= block_order; ++order) {
      const PageSpan reg = aligned(r, p, order, block.first, block.first + block.n);
      uint64_t count = 0;
      for (uint64_t i = reg.first; i < reg.first + reg.n; ++i) count += dense[i - block.first];
      if (count * 100 > uint64_t{threshold_} * reg.n) best = reg;  // the largest region that qualifies
    }
    out.push_back(best);
  }
  return merged(std::move(out));
}

}  // namespace fl::driver
