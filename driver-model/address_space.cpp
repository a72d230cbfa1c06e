#include "driver-model/address_space.h"

#include <algorithm>

#include "sim/core/errors.h"
#include "sim/core/format.h"

namespace fl::driver {

namespace {
constexpr uint64_t kPage = 4096;
}

const char* notify_event_name(NotifyEvent e) {
  switch (e) {
    case NotifyEvent::kUnmap: return "MMU_NOTIFY_UNMAP";
    case NotifyEvent::kClear: return "MMU_NOTIFY_CLEAR";
    case NotifyEvent::kProtectionVma: return "MMU_NOTIFY_PROTECTION_VMA";
    case NotifyEvent::kProtectionPage: return "MMU_NOTIFY_PROTECTION_PAGE";
    case NotifyEvent::kMigrate: return "MMU_NOTIFY_MIGRATE";
  }
  return "?";
}

uint64_t FrameTable::alloc_frame() {
  const auto f = alloc_.alloc(kPage, kPage);
  if (!f) {
    throw InputError("a copy-on-write page copy needs a free host page and host memory is full "
                     "(soc.host.dram.capacity_bytes)");
  }
  return *f;
}

bool FrameTable::unref(uint64_t frame) {
  auto it = refs_.find(frame);
  if (it == refs_.end()) return true;
  if (--it->second == 0) refs_.erase(it);
  return false;
}

void AddressSpace::add_vma(uint64_t start, uint64_t end, VmaFlags flags, uint64_t sys_base) {
  vmas_[start] = Vma{start, end, flags, sys_base};
}

const Vma* AddressSpace::find_vma(uint64_t va) const {
  auto it = vmas_.upper_bound(va);
  if (it == vmas_.begin()) return nullptr;
  --it;
  return va < it->second.end ? &it->second : nullptr;
}

bool AddressSpace::covered(uint64_t start, uint64_t end) const {
  uint64_t at = start;
  while (at < end) {
    const Vma* v = find_vma(at);
    if (v == nullptr) return false;
    at = v->end;
  }
  return true;
}

uint64_t AddressSpace::frame_of(const Vma& v, uint64_t va) const {
  const auto it = pages_.find(va & ~(kPage - 1));
  if (it != pages_.end() && it->second.frame) return *it->second.frame;
  return default_frame(v, va & ~(kPage - 1));
}

AddressSpace::Pte AddressSpace::pte(uint64_t va) const {
  Pte p;
  const Vma* v = find_vma(va);
  if (v == nullptr) return p;
  p.mapped = true;
  p.frame = frame_of(*v, va);
  const auto it = pages_.find(va & ~(kPage - 1));
  if (it != pages_.end()) {
    p.device_private = it->second.device_private;
    p.cow = it->second.cow;
  }
  p.writable = v->flags.write && !p.cow && !p.device_private;
  return p;
}

void AddressSpace::notify(DriverThread* t, const NotifyRange& r) const {
  for (const auto& s : subscribers_) s(r, t);
}

void AddressSpace::split_at(uint64_t at) {
  const Vma* v = find_vma(at);
  if (v == nullptr || v->start == at) return;
  Vma hi = *v;
  hi.start = at;
  hi.sys_base = v->sys_base + (at - v->start);
  vmas_[v->start].end = at;
  vmas_[at] = hi;
}

void AddressSpace::munmap(DriverThread* t, uint64_t start, uint64_t end) {
  const NotifyRange nr{start, end, NotifyEvent::kUnmap};
  notify(t, nr);
  split_at(start);
  split_at(end);
  for (auto it = vmas_.lower_bound(start); it != vmas_.end() && it->first < end;) {
    for (uint64_t va = it->second.start; va < it->second.end; va += kPage) {
      const auto p = pages_.find(va);
      if (p == pages_.end()) continue;
      if (p->second.cow) frames_.unref(frame_of(it->second, va));
      pages_.erase(p);
    }
    it = vmas_.erase(it);
  }
  notify_end(t, nr);
}

void AddressSpace::mprotect(DriverThread* t, uint64_t start, uint64_t end, bool read, bool write) {
  bool takes_away = false;
  for (auto it = vmas_.begin(); it != vmas_.end(); ++it) {
    const Vma& v = it->second;
    if (v.end <= start || v.start >= end) continue;
    if ((v.flags.read && !read) || (v.flags.write && !write)) takes_away = true;
  }
  const NotifyRange nr{start, end, NotifyEvent::kProtectionVma};
  if (takes_away) notify(t, nr);
  split_at(start);
  split_at(end);
  for (auto it = vmas_.lower_bound(start); it != vmas_.end() && it->first < end; ++it) {
    it->second.flags.read = read;
    it->second.flags.write = write;
  }
  if (takes_away) notify_end(t, nr);
}

std::unique_ptr<AddressSpace> AddressSpace::fork(DriverThread* t, const std::string& child_name) {
  auto child = std::make_unique<AddressSpace>(child_name, frames_);
  // The parent's writable private pages become read-only first (copy_page_range under
  // mmu_notifier_invalidate_range_start with MMU_NOTIFY_PROTECTION_PAGE).
  std::vector<NotifyRange> protected_ranges;
  for (const auto& [s, v] : vmas_) {
    if (v.flags.dontcopy || !v.flags.write) continue;
    protected_ranges.push_back({v.start, v.end, NotifyEvent::kProtectionPage});
    notify(t, protected_ranges.back());
  }
  for (const auto& [s, v] : vmas_) {
    if (v.flags.dontcopy) continue;
    child->vmas_[s] = v;
    for (uint64_t va = v.start; va < v.end; va += kPage) {
      const bool had_state = pages_.count(va) != 0;
      const uint64_t frame = frame_of(v, va);
      frames_.ref(frame);
      PageState shared;
      shared.frame = frame;
      shared.cow = v.flags.write;
      // A page migrated to VRAM is inherited as the host frame it had before migration
      // (the model keeps that frame); the child's copy is not device-private.
      child->pages_[va] = shared;
      if (v.flags.write) {
        PageState& mine = pages_[va];
        mine.cow = true;
        if (!had_state) mine.frame = frame;
      }
    }
  }
  for (const NotifyRange& nr : protected_ranges) notify_end(t, nr);
  return child;
}

std::pair<uint64_t, uint64_t> AddressSpace::break_cow(DriverThread* t, uint64_t va) {
  va &= ~(kPage - 1);
  const Vma* v = find_vma(va);
  if (v == nullptr) throw SimError("COW break at " + hex(va) + " outside every VMA");
  PageState& p = pages_[va];
  const uint64_t old = p.frame.value_or(default_frame(*v, va));
  if (!p.cow) return {old, old};
  const NotifyRange nr{va, va + kPage, NotifyEvent::kClear};
  notify(t, nr);
  PageState& q = pages_[va];  // the notifier may have slept: look the page up again
  q.cow = false;
  uint64_t fresh = old;
  if (!frames_.unref(old)) {  // still shared: copy; otherwise reuse
    fresh = frames_.alloc_frame();
    q.frame = fresh;
  }
  notify_end(t, nr);
  return {old, fresh};
}

void AddressSpace::set_device_private(uint64_t va) {
  PageState& p = pages_[va & ~(kPage - 1)];
  p.device_private = true;
}

void AddressSpace::set_resident(uint64_t va, uint64_t frame) {
  PageState& p = pages_[va & ~(kPage - 1)];
  p.device_private = false;
  p.frame = frame;
}

}  // namespace fl::driver
