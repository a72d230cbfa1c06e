#include "sim/platform/translation_checker.h"

#include "sim/core/format.h"
#include "sim/core/time.h"

namespace fl::platform {

void TranslationChecker::check(uint16_t pasid, uint64_t va, uint64_t pa, bool system) {
  if (pasid != svm_.pasid()) return;
  const auto where = svm_.placement(va);
  if (!where) return;  // not process memory (a device-memory BO)
  ++checked_;
  constexpr uint64_t kPageMask = ~uint64_t{4095};
  if ((pa & kPageMask) == (where->pa & kPageMask) && system == !where->vram) return;
  ++stale_;
  if (first_.empty()) {
    first_ = "at " + format_duration_ns(to_ns(sc_core::sc_time_stamp())) + " the GPU translated " + hex(va) + " to " +
             (system ? "host " : "VRAM ") + hex(pa) + " but the driver has the page in " +
             (where->vram ? "VRAM " : "host frame ") + hex(where->pa);
  }
}

}  // namespace fl::platform
