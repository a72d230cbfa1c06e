// The process address space (driver-model/address_space.h): VMAs, fork inheritance by
// flag, copy-on-write sharing and breaking, and which MMU-notifier events each change
// raises (include/linux/mmu_notifier.h, mm/memory.c, kernel/fork.c).
#include <vector>

#include <gtest/gtest.h>

#include "driver-model/address_space.h"

namespace fl::driver {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kBase = 0x7f0000000000ULL;

struct Rig {
  PhysAllocator alloc{"host", 1ULL << 20, 1ULL << 30};
  FrameTable frames{alloc};
  AddressSpace mm{"parent", frames};
  std::vector<NotifyRange> events;  // invalidate_range_start calls
  std::vector<NotifyRange> ends;    // invalidate_range_end calls
  Rig() {
    mm.subscribe([this](const NotifyRange& r, DriverThread*) { (r.end_phase ? ends : events).push_back(r); });
  }
  // Every start had its end, for the same range and event, in order.
  void expect_paired() const {
    ASSERT_EQ(ends.size(), events.size());
    for (size_t i = 0; i < ends.size(); ++i) {
      EXPECT_EQ(ends[i].start, events[i].start);
      EXPECT_EQ(ends[i].end, events[i].end);
      EXPECT_EQ(ends[i].event, events[i].event);
    }
  }
  uint64_t map(uint64_t va, uint64_t pages, VmaFlags f = {}) {
    const uint64_t sys = *alloc.alloc(pages * kPage, kPage);
    mm.add_vma(va, va + pages * kPage, f, sys);
    return sys;
  }
};

TEST(AddressSpace, ForkInheritsEveryVmaButDontcopy) {
  Rig r;
  r.map(kBase, 4);
  VmaFlags dontcopy;
  dontcopy.dontcopy = true;
  r.map(kBase + 16 * kPage, 4, dontcopy);
  VmaFlags ro;
  ro.write = false;
  r.map(kBase + 32 * kPage, 4, ro);
  VmaFlags io;
  io.io = true;
  r.map(kBase + 48 * kPage, 4, io);
  const auto child = r.mm.fork(nullptr, "child");
  EXPECT_TRUE(child->pte(kBase).mapped);
  EXPECT_FALSE(child->pte(kBase + 16 * kPage).mapped) << "VM_DONTCOPY is not inherited";
  EXPECT_TRUE(child->pte(kBase + 32 * kPage).mapped);
  EXPECT_FALSE(child->find_vma(kBase + 32 * kPage)->flags.write);
  EXPECT_TRUE(child->find_vma(kBase + 48 * kPage)->flags.io);
  // Both share the frames; writable private pages are COW in both, read-only ones are not.
  EXPECT_EQ(child->pte(kBase).frame, r.mm.pte(kBase).frame);
  EXPECT_TRUE(child->pte(kBase).cow);
  EXPECT_TRUE(r.mm.pte(kBase).cow);
  EXPECT_FALSE(r.mm.pte(kBase).writable);
  EXPECT_FALSE(r.mm.pte(kBase + 32 * kPage).cow);
  EXPECT_FALSE(r.mm.pte(kBase + 16 * kPage).cow) << "a dontcopy VMA stays private and writable";
  EXPECT_TRUE(r.mm.pte(kBase + 16 * kPage).writable);
  // The parent heard MMU_NOTIFY_PROTECTION_PAGE for its writable inherited VMAs only.
  ASSERT_EQ(r.events.size(), 2u);
  for (const NotifyRange& e : r.events) EXPECT_EQ(e.event, NotifyEvent::kProtectionPage);
  EXPECT_EQ(r.events[0].start, kBase);
  EXPECT_EQ(r.events[1].start, kBase + 48 * kPage);
  r.expect_paired();
}

TEST(AddressSpace, CowBreakCopiesWhileSharedAndReusesOtherwise) {
  Rig r;
  r.map(kBase, 2);
  const uint64_t f0 = r.mm.pte(kBase).frame;
  const auto child = r.mm.fork(nullptr, "child");
  r.events.clear();
  r.ends.clear();
  // The parent writes page 0: MMU_NOTIFY_CLEAR, then a fresh frame; the child keeps the old.
  const auto [old0, new0] = r.mm.break_cow(nullptr, kBase);
  EXPECT_EQ(old0, f0);
  EXPECT_NE(new0, f0);
  EXPECT_EQ(r.mm.pte(kBase).frame, new0);
  EXPECT_TRUE(r.mm.pte(kBase).writable);
  EXPECT_EQ(child->pte(kBase).frame, f0);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].event, NotifyEvent::kClear);
  EXPECT_EQ(r.events[0].start, kBase);
  EXPECT_EQ(r.events[0].end, kBase + kPage);
  r.expect_paired();
  // The child's write now finds the frame unshared: it reuses it (do_wp_page reuse).
  const auto [oldc, newc] = child->break_cow(nullptr, kBase);
  EXPECT_EQ(oldc, newc);
  EXPECT_EQ(child->pte(kBase).frame, f0);
  EXPECT_TRUE(child->pte(kBase).writable);
  // A page that is not COW needs no break and raises nothing.
  r.events.clear();
  const auto [a, b] = r.mm.break_cow(nullptr, kBase);
  EXPECT_EQ(a, b);
  EXPECT_TRUE(r.events.empty());
}

TEST(AddressSpace, MunmapAndMprotectSplitVmasAndNotify) {
  Rig r;
  r.map(kBase, 8);
  r.mm.mprotect(nullptr, kBase + 2 * kPage, kBase + 4 * kPage, true, false);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].event, NotifyEvent::kProtectionVma);
  EXPECT_EQ(r.mm.vmas().size(), 3u);
  EXPECT_FALSE(r.mm.pte(kBase + 2 * kPage).writable);
  EXPECT_TRUE(r.mm.pte(kBase + 4 * kPage).writable);
  // Granting a permission takes nothing away: no notifier.
  r.mm.mprotect(nullptr, kBase + 2 * kPage, kBase + 4 * kPage, true, true);
  EXPECT_EQ(r.events.size(), 1u);
  const uint64_t f5 = r.mm.pte(kBase + 5 * kPage).frame;
  r.mm.munmap(nullptr, kBase + kPage, kBase + 3 * kPage);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[1].event, NotifyEvent::kUnmap);
  EXPECT_FALSE(r.mm.pte(kBase + kPage).mapped);
  EXPECT_TRUE(r.mm.pte(kBase).mapped);
  EXPECT_EQ(r.mm.pte(kBase + 5 * kPage).frame, f5) << "frames of the remaining parts stay where they were";
  EXPECT_FALSE(r.mm.covered(kBase, kBase + 4 * kPage));
  EXPECT_TRUE(r.mm.covered(kBase + 3 * kPage, kBase + 8 * kPage));
  r.expect_paired();
}

TEST(AddressSpace, DevicePrivatePagesAreNotCpuWritable) {
  Rig r;
  r.map(kBase, 2);
  const uint64_t f = r.mm.pte(kBase).frame;
  r.mm.set_device_private(kBase);
  EXPECT_TRUE(r.mm.pte(kBase).device_private);
  EXPECT_FALSE(r.mm.pte(kBase).writable);
  r.mm.set_resident(kBase, f);
  EXPECT_FALSE(r.mm.pte(kBase).device_private);
  EXPECT_TRUE(r.mm.pte(kBase).writable);
}

}  // namespace
}  // namespace fl::driver
