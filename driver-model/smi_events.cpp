#include "driver-model/smi_events.h"

#include <cstdarg>
#include <cstdio>

namespace fl::driver {

namespace {
constexpr uint64_t kPageShift = 12;
// KFD_SMI_EVENT_MSG_SIZE: the kernel formats into a 96-byte buffer.
constexpr size_t kMsgSize = 96;
}  // namespace

const char* trigger_name(MigrateTrigger t) {
  switch (t) {
    case MigrateTrigger::kPrefetch: return "prefetch";
    case MigrateTrigger::kPagefaultGpu: return "pagefault_gpu";
    case MigrateTrigger::kPagefaultCpu: return "pagefault_cpu";
    case MigrateTrigger::kTtmEviction: return "ttm_eviction";
  }
  return "?";
}

void SmiEvents::add(SmiEvent e, const char* fmt, ...) {
  char buf[kMsgSize];
  int n = std::snprintf(buf, sizeof buf, "%x ", static_cast<unsigned>(e));
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf + n, sizeof buf - static_cast<size_t>(n), fmt, ap);
  va_end(ap);
  lines_.emplace_back(buf);
  ++counts_[static_cast<size_t>(e)];
}

void SmiEvents::vm_fault() { add(SmiEvent::kVmFault, "%x:%s\n", pid_, "faultline"); }

void SmiEvents::page_fault_start(uint64_t ns, uint64_t va, bool write) {
  add(SmiEvent::kPageFaultStart, "%lld -%d @%lx(%x) %c\n", static_cast<long long>(ns),
      static_cast<int>(pid_), va >> kPageShift, gpu_id_, write ? 'W' : 'R');
}

void SmiEvents::page_fault_end(uint64_t ns, uint64_t va, bool migrated) {
  add(SmiEvent::kPageFaultEnd, "%lld -%d @%lx(%x) %c\n", static_cast<long long>(ns),
      static_cast<int>(pid_), va >> kPageShift, gpu_id_, migrated ? 'M' : 'U');
}

void SmiEvents::migrate_start(uint64_t ns, uint64_t va, uint64_t bytes, uint32_t from, uint32_t to,
                              uint32_t prefetch_loc, uint32_t preferred_loc, MigrateTrigger t) {
  add(SmiEvent::kMigrateStart, "%lld -%d @%lx(%lx) %x->%x %x:%x %d\n", static_cast<long long>(ns),
      static_cast<int>(pid_), va >> kPageShift,
      bytes >> kPageShift, from, to, prefetch_loc, preferred_loc,
      static_cast<int>(t));
}

void SmiEvents::migrate_end(uint64_t ns, uint64_t va, uint64_t bytes, uint32_t from, uint32_t to,
                            MigrateTrigger t) {
  add(SmiEvent::kMigrateEnd, "%lld -%d @%lx(%lx) %x->%x %d\n", static_cast<long long>(ns),
      static_cast<int>(pid_), va >> kPageShift,
      bytes >> kPageShift, from, to, static_cast<int>(t));
}

void SmiEvents::queue_eviction(uint64_t ns, EvictTrigger t) {
  add(SmiEvent::kQueueEviction, "%lld -%d %x %d\n", static_cast<long long>(ns), static_cast<int>(pid_),
      gpu_id_, static_cast<int>(t));
}

void SmiEvents::queue_restore(uint64_t ns, bool rescheduled) {
  if (rescheduled) {
    add(SmiEvent::kQueueRestore, "%lld -%d %x %c\n", static_cast<long long>(ns), static_cast<int>(pid_),
        gpu_id_, 'R');
  } else {
    add(SmiEvent::kQueueRestore, "%lld -%d %x\n", static_cast<long long>(ns), static_cast<int>(pid_), gpu_id_);
  }
}

void SmiEvents::unmap_from_gpu(uint64_t ns, uint64_t va, uint64_t bytes, UnmapTrigger t) {
  add(SmiEvent::kUnmapFromGpu, "%lld -%d @%lx(%lx) %x %d\n", static_cast<long long>(ns),
      static_cast<int>(pid_), va >> kPageShift,
      bytes >> kPageShift, gpu_id_, static_cast<int>(t));
}

std::string SmiEvents::text() const {
  std::string s;
  for (const auto& l : lines_) s += l;
  return s;
}

}  // namespace fl::driver
