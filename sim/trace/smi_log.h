// Parser of KFD SMI event logs: the text lines a process reads from the SMI event fd
// (amdkfd/kfd_smi_events.c; the KFD_EVENT_FMT_* formats and the event and trigger enums
// of include/uapi/linux/kfd_ioctl.h; driver-facts.md section 8), as captured from real
// systems and as faultline writes them (run --smi-events, driver-model/smi_events.h).
//
// A line is the event number in hex, a space, and the event's payload. The parser reads
// every event type the uapi header defines (1-13) in the forms kernels have printed:
// - MIGRATE_END with or without the trailing error code kernels from 6.12 add;
// - QUEUE_RESTORE as "ns -pid node", or with the rescheduled field that some versions
//   always print: " R" when rescheduled, else a NUL character (printed by "%c" of 0), so
//   the line ends in a space and a NUL before its newline;
// - GPU_PRE_RESET / GPU_POST_RESET with or without the reset reason;
// - event number 14, which is DROPPED_EVENT in some kernels and QUEUE_RESTORE_RESCHEDULED
//   (a QUEUE_RESTORE payload) in others: the caller says which (SmiOptions::event14); a log
//   that holds it without that choice is an error naming the line, never a guess.
// Other event numbers are skipped and counted per number (unknown()). NULs and carriage
// returns at the end of a line are ignored; blank lines and lines starting with '#' are
// skipped. Anything else that does not match its event's format is an fl::InputError
// naming the file, the line and what was expected.
//
// Units are the log's: times in ns (boot time on a real system, simulated time in
// faultline's), addresses and sizes in 4 KiB pages, nodes as GPU ids (0: system memory).
// The parser streams: memory holds one line (at most kMaxLineBytes) at a time.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <string>

namespace fl::trace {

// include/uapi/linux/kfd_ioctl.h enum kfd_smi_event, plus the two readings of number 14.
enum class SmiKind : uint32_t {
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
  kProcessStart = 12,
  kProcessEnd = 13,
  kDroppedEvent = 14,
};
constexpr uint32_t kSmiKinds = 15;  // SmiKind values are below this
const char* smi_kind_name(SmiKind k);

// What event number 14 means in the kernel that wrote the log.
enum class SmiEvent14 { kUnset, kDroppedEvent, kQueueRestoreRescheduled };

struct SmiOptions {
  SmiEvent14 event14 = SmiEvent14::kUnset;
};

// One event. Fields its kind does not carry are 0 / false / empty.
struct SmiRecord {
  uint64_t line = 0;        // 1-based line of the log
  uint32_t id = 0;          // event number as written
  SmiKind kind = SmiKind::kVmFault;
  bool timed = false;       // the payload starts with a timestamp and a pid (kinds 5-11, 14 as a restore)
  uint64_t ns = 0;
  uint32_t pid = 0;         // decimal "-%d" of timed events; hex "%x" of VMFAULT / PROCESS_*
  uint64_t addr_pages = 0;  // MIGRATE_*, PAGE_FAULT_*, UNMAP_FROM_GPU
  uint64_t size_pages = 0;  // MIGRATE_*, UNMAP_FROM_GPU (PAGE_FAULT_*: 1)
  uint32_t node = 0;        // PAGE_FAULT_*, QUEUE_*, UNMAP_FROM_GPU
  uint32_t from = 0, to = 0;                    // MIGRATE_*
  uint32_t prefetch_loc = 0, preferred_loc = 0;  // MIGRATE_START
  int32_t trigger = 0;      // MIGRATE_*, QUEUE_EVICTION, UNMAP_FROM_GPU
  bool write = false;       // PAGE_FAULT_START: W
  bool migrated = false;    // PAGE_FAULT_END: M (else U, updated in place)
  bool has_error = false;   // MIGRATE_END with the trailing error code
  int32_t error = 0;
  bool rescheduled = false;  // QUEUE_RESTORE with R, or 14 read as QUEUE_RESTORE_RESCHEDULED
  uint64_t a = 0, b = 0;    // THERMAL_THROTTLE bitmask and counter; GPU_*_RESET sequence (a)
  std::string text;         // VMFAULT / PROCESS_* task name, GPU reset reason, DROPPED_EVENT payload
};

class SmiLogReader {
 public:
  static constexpr size_t kMaxLineBytes = 4096;  // the kernel's message buffer is 96 bytes

  // `name` names the input in messages.
  SmiLogReader(std::istream& in, std::string name, SmiOptions opts) : in_(in), name_(std::move(name)), opts_(opts) {}

  // The next event; false at the end of the input. Throws fl::InputError naming the line.
  bool next(SmiRecord* r);

  uint64_t lines() const { return line_; }
  uint64_t events() const { return events_; }
  // Events of numbers the parser does not know, skipped: number -> count.
  const std::map<uint32_t, uint64_t>& unknown() const { return unknown_; }
  const std::string& name() const { return name_; }

 private:
  bool read_line(std::string* s);

  std::istream& in_;
  std::string name_;
  SmiOptions opts_;
  uint64_t line_ = 0;
  uint64_t events_ = 0;
  std::map<uint32_t, uint64_t> unknown_;
  std::string buf_;
};

// Parses one line (without its newline) as line `line` of `name`: false for a blank or
// comment line or an unknown event number (counted in `unknown` if given).
bool parse_smi_line(const std::string& text, const std::string& name, uint64_t line, const SmiOptions& opts,
                    SmiRecord* r, std::map<uint32_t, uint64_t>* unknown);

}  // namespace fl::trace
