// The CPU side of a process's memory (mm_struct): VMAs, a functional CPU page table with
// copy-on-write sharing between processes, and the MMU-notifier subscriptions that hear of
// every change to it (mm/mmap.c, mm/memory.c, mm/mprotect.c, kernel/fork.c,
// mm/mmu_notifier.c).
//
// Models: VMAs with VM_READ / VM_WRITE / VM_DONTCOPY / VM_IO; anonymous memory resident in
// host DRAM from the start (a VMA's pages sit at sys_base + offset until something moves
// them); per-page exceptions to that: a page copied by a COW break (its own frame), a page
// write-protected for COW after fork, a page migrated to VRAM (a device-private entry: no
// CPU mapping, a CPU access faults and migrates it back). Frames shared by fork are
// reference counted in one FrameTable per simulated machine, so a COW break copies only
// while the frame is still shared and reuses it otherwise (do_wp_page). Each change that
// takes away a mapping or a permission notifies the subscribers with the range and the
// event (mmu_notifier_event) before the page table changes and again after it
// (mmu_notifier_invalidate_range_start / _end).
// This class is functional and untimed; the timed operations (their core time, locks and
// the notifier's blocking) are the driver's (driver-model/svm.h).
// Abstracts away: file-backed memory, swap, THP, KSM, NUMA; frames freed by munmap are
// not returned to the allocator (the simulated machines have memory to spare).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "driver-model/memory_managers.h"

namespace fl::driver {
class DriverThread;
}

namespace fl::driver {

// VMA flags (include/linux/mm.h).
struct VmaFlags {
  bool read = true;
  bool write = true;
  bool dontcopy = false;  // VM_DONTCOPY (madvise MADV_DONTFORK): not inherited by fork
  bool io = false;        // VM_IO: device memory; hmm_range_fault refuses it (-EFAULT)
};

struct Vma {
  uint64_t start = 0;
  uint64_t end = 0;
  VmaFlags flags;
  uint64_t sys_base = 0;  // frame of `start` until a page is moved (host physical address)
};

// mmu_notifier_event (include/linux/mmu_notifier.h), the ones the model raises.
enum class NotifyEvent {
  kUnmap,            // MMU_NOTIFY_UNMAP: munmap
  kClear,            // MMU_NOTIFY_CLEAR: a PTE replaced (COW break)
  kProtectionVma,    // MMU_NOTIFY_PROTECTION_VMA: mprotect
  kProtectionPage,   // MMU_NOTIFY_PROTECTION_PAGE: write-protect for COW at fork
  kMigrate,          // MMU_NOTIFY_MIGRATE: migrate_vma_setup
};
const char* notify_event_name(NotifyEvent e);

struct NotifyRange {
  uint64_t start = 0;
  uint64_t end = 0;
  NotifyEvent event = NotifyEvent::kClear;
  // false: invalidate_range_start (before the page table changes); true:
  // invalidate_range_end (after it changed).
  bool end_phase = false;
};

// Host frames shared between address spaces after fork.
class FrameTable {
 public:
  explicit FrameTable(PhysAllocator& alloc) : alloc_(alloc) {}
  // A fresh frame (COW copy); throws InputError when host memory is full.
  uint64_t alloc_frame();
  void ref(uint64_t frame) { ++refs_[frame]; }
  // Drops one reference of a frame that had been shared; true when it was the last.
  bool unref(uint64_t frame);
  // References beyond the first (0: the frame is not shared).
  uint32_t extra_refs(uint64_t frame) const {
    const auto it = refs_.find(frame);
    return it == refs_.end() ? 0 : it->second;
  }

 private:
  PhysAllocator& alloc_;
  std::unordered_map<uint64_t, uint32_t> refs_;  // frame -> extra references
};

class AddressSpace {
 public:
  // What a CPU page-table entry says about a page.
  struct Pte {
    bool mapped = false;          // inside a VMA
    bool device_private = false;  // migrated to VRAM: a CPU access faults
    bool cow = false;             // write-protected, shared with another process
    bool writable = false;        // a write needs no fault
    uint64_t frame = 0;           // host physical address (when not device-private)
  };
  // Called with the thread doing the change (it blocks in the callback as long as the
  // subscriber takes), or null for untimed set-up changes.
  using Subscriber = std::function<void(const NotifyRange&, DriverThread*)>;

  AddressSpace(std::string name, FrameTable& frames) : name_(std::move(name)), frames_(frames) {}

  const std::string& name() const { return name_; }
  // Adds a VMA backed by `sys_base`; the caller checked the range is free.
  void add_vma(uint64_t start, uint64_t end, VmaFlags flags, uint64_t sys_base);
  const Vma* find_vma(uint64_t va) const;
  const std::map<uint64_t, Vma>& vmas() const { return vmas_; }
  // True when [start, end) is covered by VMAs without a hole.
  bool covered(uint64_t start, uint64_t end) const;

  Pte pte(uint64_t va) const;

  // mmu_notifier_register: `fn` hears of every invalidation (the KFD process registers
  // one per SVM range in the kernel; the driver keeps those intervals itself).
  void subscribe(Subscriber fn) { subscribers_.push_back(std::move(fn)); }

  // munmap: notifies kUnmap, then drops the VMAs' parts and the pages' exceptions.
  void munmap(DriverThread* t, uint64_t start, uint64_t end);
  // mprotect: notifies kProtectionVma when a permission is taken away, then changes the
  // VMAs' parts (splitting them).
  void mprotect(DriverThread* t, uint64_t start, uint64_t end, bool read, bool write);
  // fork: a child inheriting every VMA without VM_DONTCOPY; writable private pages become
  // COW in both (the parent is notified kProtectionPage first). Device-private pages are
  // shared read-only too (copy_nonpresent_pte).
  std::unique_ptr<AddressSpace> fork(DriverThread* t, const std::string& child_name);
  // A CPU write to a COW page (do_wp_page): notifies kClear, then copies the frame into a
  // new one (returns {old, new}) or, if no other process shares it, reuses it (returns
  // {old, old}).
  std::pair<uint64_t, uint64_t> break_cow(DriverThread* t, uint64_t va);
  // Migration to VRAM (kMigrate notified by the caller): the CPU PTE becomes
  // device-private. Back to RAM: mapped again at `frame`.
  void set_device_private(uint64_t va);
  void set_resident(uint64_t va, uint64_t frame);
  // Notifies the subscribers (for invalidations the caller drives, e.g. migration): `r`
  // as given; callers send the start, change the pages, then send the end.
  void notify(DriverThread* t, const NotifyRange& r) const;
  void notify_end(DriverThread* t, NotifyRange r) const {
    r.end_phase = true;
    notify(t, r);
  }

 private:
  struct PageState {
    bool device_private = false;
    bool cow = false;
    std::optional<uint64_t> frame;  // unset: the VMA's default frame
  };

 public:
  // Host memory one page that differs from its VMA's default (migrated to VRAM, COW after
  // fork) costs in pages_: a libstdc++ hash node (next pointer and the key/value pair),
  // rounded up to malloc's 16-byte chunks plus its 8-byte header, and one bucket pointer
  // (load factor 1). Used to refuse runs the host cannot hold (sim/platform/host_memory.h).
  static constexpr uint64_t kHostBytesPerExceptionPage =
      (sizeof(void*) + sizeof(std::pair<const uint64_t, PageState>) + 8 + 15) / 16 * 16 + sizeof(void*);

 private:
  uint64_t default_frame(const Vma& v, uint64_t va) const { return v.sys_base + (va - v.start); }
  uint64_t frame_of(const Vma& v, uint64_t va) const;
  // Splits the VMA containing `at` so a VMA starts there.
  void split_at(uint64_t at);

  std::string name_;
  FrameTable& frames_;
  std::map<uint64_t, Vma> vmas_;                       // by start
  std::unordered_map<uint64_t, PageState> pages_;      // by page address: exceptions only
  std::vector<Subscriber> subscribers_;
};

}  // namespace fl::driver
