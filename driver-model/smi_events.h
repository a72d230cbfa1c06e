// The KFD SMI event stream (amdkfd/kfd_smi_events.c; formats KFD_EVENT_FMT_* and trigger
// enums in include/uapi/linux/kfd_ioctl.h; driver-facts.md section 8).
//
// Each event is one text line: the event id in hex and a space (kfd_smi_event_add's "%x "),
// then the payload in the kernel's printf format. Times are simulated ns (the kernel uses
// boot-time ns); addresses and sizes are in 4 KiB pages; a node is the GPU id, 0 for
// system memory; locations print UNDEFINED as ffffffff. QUEUE_RESTORE uses the form
// without the trailing rescheduled field unless the restore was rescheduled (" R"), as
// kernels before the KFD_EVENT_FMT_* macros did.
// The recorder keeps every line (no 1024-byte client FIFO: nothing is dropped) and, when a
// file was named (faultline run --smi-events FILE), writes them at the end of the run.
// Abstracts away: the per-client enable mask (every event is recorded), VMFAULT's task name
// is "faultline".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fl::driver {

// include/uapi/linux/kfd_ioctl.h enum kfd_smi_event.
enum class SmiEvent : uint32_t {
  kVmFault = 1,
  kThermalThrottle = 2,
  kGpuPreReset = 3,
  kGpuPostReset = 4,
  kMigrateStart = 5,
  kMigrateEnd = 6,
  kPageFaultStart = 7,
  kPageFaultEnd = 8,
  kQueueEviction = 9,
  kQueueRestore = 10,
  kUnmapFromGpu = 11,
};
// enum KFD_MIGRATE_TRIGGERS
enum class MigrateTrigger : int { kPrefetch = 0, kPagefaultGpu = 1, kPagefaultCpu = 2, kTtmEviction = 3 };
// enum KFD_QUEUE_EVICTION_TRIGGERS
enum class EvictTrigger : int { kSvm = 0, kUserptr = 1, kTtm = 2, kSuspend = 3, kCriuCheckpoint = 4, kCriuRestore = 5 };
// enum KFD_SVM_UNMAP_TRIGGERS
enum class UnmapTrigger : int { kMmuNotify = 0, kMmuNotifyMigrate = 1, kUnmapFromCpu = 2 };

const char* trigger_name(MigrateTrigger t);

// KFD_IOCTL_SVM_LOCATION_*: 0 system memory, 0xffffffff undefined, else a GPU id.
constexpr uint32_t kSmiSysmem = 0;
constexpr uint32_t kSmiUndefined = 0xffffffffu;

class SmiEvents {
 public:
  SmiEvents(uint32_t pid, uint32_t gpu_id) : pid_(pid), gpu_id_(gpu_id) {}

  uint32_t gpu_id() const { return gpu_id_; }
  uint32_t pid() const { return pid_; }

  // `va` and `bytes` in bytes; printed in pages.
  void vm_fault();
  void page_fault_start(uint64_t ns, uint64_t va, bool write);
  void page_fault_end(uint64_t ns, uint64_t va, bool migrated);
  void migrate_start(uint64_t ns, uint64_t va, uint64_t bytes, uint32_t from, uint32_t to,
                     uint32_t prefetch_loc, uint32_t preferred_loc, MigrateTrigger t);
  void migrate_end(uint64_t ns, uint64_t va, uint64_t bytes, uint32_t from, uint32_t to,
                   MigrateTrigger t);
  void queue_eviction(uint64_t ns, EvictTrigger t);
  void queue_restore(uint64_t ns, bool rescheduled);
  void unmap_from_gpu(uint64_t ns, uint64_t va, uint64_t bytes, UnmapTrigger t);

  const std::vector<std::string>& lines() const { return lines_; }
  size_t count(SmiEvent e) const { return counts_[static_cast<size_t>(e)]; }
  // All lines, each ending in a newline.
  std::string text() const;

 private:
  void add(SmiEvent e, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

  uint32_t pid_;
  uint32_t gpu_id_;
  std::vector<std::string> lines_;
  size_t counts_[12] = {};
};

}  // namespace fl::driver
