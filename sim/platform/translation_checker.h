// The translation checker (sim.check_translations), stats under "sim.checker": compares
// every GPU translation of the process's memory with where the driver says the page is now
// (driver::Svm::placement: VRAM, or the page's current host frame after migrations and
// copy-on-write breaks). A mismatch is a stale translation: the GPU touched a page the
// driver had replaced, which no notifier strategy may allow. Device-memory BOs (no CPU
// mapping) are not checked.
// The check is at translation time; an access translated just before an invalidation and
// completing after it is not a mismatch (the driver's flush waits for it in hardware).
#pragma once

#include <cstdint>
#include <string>
#include <systemc>

#include "driver-model/svm.h"
#include "sim/core/stats.h"

namespace fl::platform {

class TranslationChecker {
 public:
  explicit TranslationChecker(const driver::Svm& svm) : svm_(svm) {}

  void check(uint16_t pasid, uint64_t va, uint64_t pa, bool system);
  uint64_t stale() const { return stale_.value(); }
  // The first mismatch, for the error report ("" if none).
  const std::string& first() const { return first_; }

 private:
  const driver::Svm& svm_;
  std::string first_;
  stats::Group stats_{"sim.checker"};
  stats::Counter checked_{stats_, "checked", "count", "GPU translations of process memory compared with the driver's placement"};
  stats::Counter stale_{stats_, "stale_translations", "count", "Translations to a page the driver no longer has there (must be 0)"};
};

}  // namespace fl::platform
