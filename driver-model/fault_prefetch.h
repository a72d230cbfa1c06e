// Which pages a retry-fault service migrates and maps: the faulted pages' windows and what
// is prefetched around them (driver.svm.prefetch).
//
// GranularityWindow (KFD, kfd_svm.c svm_range_restore_pages): each faulted page brings the
// 2^granularity pages around it, aligned in the address space and clipped to its range.
// DensityPrefetch (NVIDIA UVM, uvm_perf_prefetch.c): the same windows, then, inside the
// fault's 2 MiB block clipped to the range, each window grows to the largest aligned
// power-of-two region (up to the block) in which more than threshold percent of the pages
// are already at the destination or inside a faulted window of the same service; the
// whole region is serviced.
// Abstracts away: UVM's per-processor residency trees (one destination per service) and
// its thrashing detection (no pinning or throttling of pages that bounce).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "sim/core/schema.h"

namespace fl::driver {

// Pages [first, first + n) of a range (indices from the range's first page).
struct PageSpan {
  uint64_t first = 0;
  uint64_t n = 0;
  bool operator==(const PageSpan& o) const { return first == o.first && n == o.n; }
};

// The pages of one range as a prefetch policy sees them.
struct PrefetchRange {
  uint64_t start_va = 0;     // the range's first byte (page aligned)
  uint64_t pages = 0;        // its length in 4 KiB pages
  uint32_t granularity = 9;  // log2 pages of the fault window
  // Page i is already where the service moves pages to.
  std::function<bool(uint64_t)> at_destination;
};

class FaultPrefetch {
 public:
  virtual ~FaultPrefetch() = default;
  // The disjoint spans, sorted, to service for faults on the page indices `faulted`
  // (sorted, unique, each < r.pages).
  virtual std::vector<PageSpan> spans(const PrefetchRange& r, const std::vector<uint64_t>& faulted) const = 0;
  static std::unique_ptr<FaultPrefetch> make(const config::Svm& cfg);
};

class GranularityWindow : public FaultPrefetch {
 public:
  std::vector<PageSpan> spans(const PrefetchRange& r, const std::vector<uint64_t>& faulted) const override;
};

class DensityPrefetch : public FaultPrefetch {
 public:
  explicit DensityPrefetch(uint32_t threshold_percent) : threshold_(threshold_percent) {}
  std::vector<PageSpan> spans(const PrefetchRange& r, const std::vector<uint64_t>& faulted) const override;

 private:
  uint32_t threshold_;
};

}  // namespace fl::driver
