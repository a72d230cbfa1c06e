#include "driver-model/svm.h"

#include <algorithm>

#include "mmu/gpuvm_pte.h"
#include "sim/core/errors.h"
#include "sim/core/format.h"
#include "sim/core/sim_status.h"
#include "sim/core/time.h"

namespace fl::driver {

using mmu::kPageBytes;

namespace {
constexpr uint64_t k2M = 2ULL << 20;
uint64_t align_down(uint64_t v, uint64_t a) { return v / a * a; }
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
uint64_t now_ns() { return static_cast<uint64_t>(to_ns(sc_core::sc_time_stamp())); }

// svm_range_set_max_pages: 1/32 of VRAM, rounded down to a power of two, clamped to
// 2^9..2^18 pages.
uint64_t max_pages(uint64_t vram_bytes) {
  uint64_t pages = (vram_bytes >> 12) / 32;
  uint64_t p = 1;
  while (p * 2 <= pages) p *= 2;
  return std::clamp<uint64_t>(p, 1ULL << 9, 1ULL << 18);
}
}  // namespace

bool SvmRange::any_vram() const {
  return std::any_of(in_vram.begin(), in_vram.end(), [](uint8_t v) { return v != 0; });
}
bool SvmRange::any_mapped() const {
  return std::any_of(gpu_mapped.begin(), gpu_mapped.end(), [](uint8_t v) { return v != 0; });
}

Svm::Svm(sc_core::sc_module_name name, const config::Driver& cfg, GpuVm& vm, Migration& migrate,
         PhysAllocator& host_alloc, PhysAllocator& vram_alloc, bool apu, uint16_t pasid, bool xnack,
         SmiEvents& smi, QueueEviction& queues, hw::HostCpu& cpu, FaultTrace* trace)
    : sc_module(name),
      cfg_(cfg.svm()),
      mm_cfg_(cfg.mm()),
      vm_(vm),
      migrate_(migrate),
      host_alloc_(host_alloc),
      vram_alloc_(vram_alloc),
      apu_(apu),
      pasid_(pasid),
      xnack_(xnack),
      smi_(smi),
      queues_(queues),
      cpu_(cpu),
      trace_(trace),
      max_range_pages_(max_pages(vram_alloc.capacity())),
      prefetch_(FaultPrefetch::make(cfg.svm())),
      frames_(host_alloc),
      mm_("process", frames_) {
  mm_.subscribe([this](const NotifyRange& nr, DriverThread* t) { invalidate(nr, t); });
}

// ------------------------------------------------------------------ ranges

void Svm::set_timeline(Timeline* t) {
  const std::string n = name();
  tl_pages_ = std::make_unique<TimelineLanes>(*t, n + ".restore_pages", timeline_sort::kSvmRestorePages);
  tl_notifier_ = std::make_unique<TimelineLanes>(*t, n + ".notifier", timeline_sort::kSvmNotifier);
  tl_restore_ = std::make_unique<TimelineLanes>(*t, n + ".restore_worker", timeline_sort::kSvmRestoreWorker);
}

void Svm::TlSteps::step(const char* name, std::string args) {
  const uint64_t now = now_ps();
  if (now > mark_ps) steps.push_back(Step{name, mark_ps, now, std::move(args)});
  mark_ps = now;
}

void Svm::TlSteps::draw(TimelineLanes& lanes, const char* name, uint64_t begin_ps, const std::string& args) const {
  const int track = lanes.draw(name, begin_ps, now_ps(), args);
  for (const Step& s : steps) lanes.timeline().slice(track, s.name, s.begin_ps, s.end_ps, s.args);
}

namespace {
const char* served_name(int s) {
  static const char* const kNames[] = {"migrated", "updated", "duplicate", "eagain", "failed", "drained", "ignored"};
  return s >= 0 && s < 7 ? kNames[s] : "?";
}
const char* event_name(NotifyEvent e) {
  switch (e) {
    case NotifyEvent::kUnmap: return "unmap";
    case NotifyEvent::kClear: return "clear";
    case NotifyEvent::kProtectionVma: return "protection_vma";
    case NotifyEvent::kProtectionPage: return "protection_page";
    case NotifyEvent::kMigrate: return "migrate";
  }
  return "?";
}
}  // namespace

SvmRange* Svm::find_range(uint64_t va) {
  auto it = ranges_.upper_bound(va);
  if (it == ranges_.begin()) return nullptr;
  --it;
  return va < it->second.end ? &it->second : nullptr;
}

const SvmRange* Svm::find_range(uint64_t va) const { return const_cast<Svm*>(this)->find_range(va); }

std::vector<SvmRange*> Svm::overlapping(uint64_t start, uint64_t end) {
  std::vector<SvmRange*> out;
  auto it = ranges_.upper_bound(start);
  if (it != ranges_.begin()) --it;
  for (; it != ranges_.end() && it->first < end; ++it) {
    if (it->second.end > start) out.push_back(&it->second);
  }
  return out;
}

const AddressSpace* Svm::child(const std::string& name) const {
  const auto it = children_.find(name);
  return it == children_.end() ? nullptr : it->second.get();
}

SvmRange Svm::new_range(uint64_t start, uint64_t end, bool registered) const {
  SvmRange r;
  r.start = start;
  r.end = end;
  r.registered = registered;
  r.granularity = cfg_.default_granularity();
  r.in_vram.assign(r.pages(), 0);
  r.gpu_mapped.assign(r.pages(), 0);
  return r;
}

void Svm::split_at(uint64_t at) {
  SvmRange* r = find_range(at);
  if (r == nullptr || r->start == at) return;
  ++splits_;
  const uint64_t k = (at - r->start) / kPageBytes;
  SvmRange hi = *r;
  hi.start = at;
  hi.bo_first = r->bo_first + k;
  hi.in_vram.assign(r->in_vram.begin() + static_cast<long>(k), r->in_vram.end());
  hi.gpu_mapped.assign(r->gpu_mapped.begin() + static_cast<long>(k), r->gpu_mapped.end());
  r->end = at;
  r->in_vram.resize(k);
  r->gpu_mapped.resize(k);
  ranges_[at] = std::move(hi);
}

void Svm::merge_around(uint64_t start, uint64_t end) {
  auto it = ranges_.upper_bound(start);
  if (it != ranges_.begin()) --it;
  while (it != ranges_.end() && it->first <= end) {
    auto next = std::next(it);
    if (next == ranges_.end()) break;
    SvmRange& a = it->second;
    const SvmRange& b = next->second;
    const bool same_bo = (!a.bo && !b.bo) || (a.bo && a.bo == b.bo && a.bo_first + a.pages() == b.bo_first);
    if (a.end == b.start && a.registered && b.registered && a.preferred == b.preferred &&
        a.prefetch == b.prefetch && a.access == b.access && a.flags == b.flags &&
        a.granularity == b.granularity && same_bo && a.invalid == b.invalid &&
        a.pages() + b.pages() <= max_range_pages_ &&
        align_down(a.start, max_range_pages_ * kPageBytes) == align_down(b.end - 1, max_range_pages_ * kPageBytes)) {
      ++merges_;
      a.end = b.end;
      a.in_vram.insert(a.in_vram.end(), b.in_vram.begin(), b.in_vram.end());
      a.gpu_mapped.insert(a.gpu_mapped.end(), b.gpu_mapped.begin(), b.gpu_mapped.end());
      a.seq = std::max(a.seq, b.seq) + 1;
      if (b.validated_at && (!a.validated_at || *b.validated_at > *a.validated_at)) a.validated_at = b.validated_at;
      a.last_use = std::max(a.last_use, b.last_use);
      ranges_.erase(next);
      continue;
    }
    ++it;
  }
}

SvmRange& Svm::create_unregistered(uint64_t va, const Vma& vma) {
  uint64_t start = std::max(vma.start, align_down(va, k2M));
  uint64_t end = std::min(vma.end, align_down(va, k2M) + k2M);
  auto next = ranges_.upper_bound(va);
  if (next != ranges_.end()) end = std::min(end, next->second.start);
  if (next != ranges_.begin()) start = std::max(start, std::prev(next)->second.end);
  ++ranges_created_;
  SvmRange r = new_range(start, end, false);
  // svm_range_create_unregistered_range: heap and stack prefer system memory; other
  // anonymous memory is left to the fault handler.
  return ranges_[start] = std::move(r);
}

// ------------------------------------------------------------------ address space

uint64_t Svm::reserve_va(uint64_t bytes, uint64_t align, std::optional<uint64_t> va) {
  bytes = align_up(bytes, kPageBytes);
  uint64_t start;
  const auto check_free = [&](uint64_t s0, uint64_t n) {
    const auto overlap = [&](uint64_t s, uint64_t e) {
      if (s0 < e && s < s0 + n) {
        throw InputError("[" + hex(s0) + ", " + hex(s0 + n) + ") overlaps an earlier mapping [" + hex(s) +
                         ", " + hex(e) + ")");
      }
    };
    for (const auto& [s, v] : mm_.vmas()) overlap(s, v.end);
    for (const auto& [s, e] : device_vas_) overlap(s, e);
  };
  if (va) {
    start = *va;
    if (start % align != 0) {
      throw InputError("address " + hex(start) + " is not aligned to " + std::to_string(align) + " bytes");
    }
    check_free(start, bytes);
  } else {
    start = align_up(next_va_, align);
  }
  next_va_ = std::max(next_va_, align_up(start + bytes, k2M) + k2M);
  device_vas_[start] = start + bytes;
  return start;
}

uint64_t Svm::mmap(uint64_t bytes, std::optional<uint64_t> va, VmaFlags flags) {
  bytes = align_up(bytes, kPageBytes);
  if (va && *va % kPageBytes != 0) throw InputError("mmap address " + hex(*va) + " is not page aligned");
  const uint64_t start = reserve_va(bytes, kPageBytes, va);
  device_vas_.erase(start);
  const auto sys = host_alloc_.alloc(bytes, kPageBytes);
  if (!sys) {
    throw InputError("mmap of " + std::to_string(bytes) + " bytes exceeds free host memory (" +
                     std::to_string(host_alloc_.capacity() - host_alloc_.used_bytes()) +
                     " bytes left of soc.host.dram.capacity_bytes)");
  }
  mm_.add_vma(start, start + bytes, flags, *sys);
  if (iommu_ != nullptr) iommu_->add_process_memory(*sys, bytes);
  return start;
}

std::optional<Svm::Placement> Svm::placement(uint64_t va) const {
  const SvmRange* r = find_range(va);
  if (r != nullptr) {
    const uint64_t i = (va - r->start) / kPageBytes;
    if (r->in_vram[i]) return Placement{true, page_pa(*r, i)};
  }
  const AddressSpace::Pte p = mm_.pte(va);
  if (!p.mapped) return std::nullopt;
  return Placement{false, p.frame};
}

uint32_t Svm::smi_loc(wl::Location l) const {
  switch (l) {
    case wl::SYSMEM: return kSmiSysmem;
    case wl::GPU: return smi_.gpu_id();
    default: return kSmiUndefined;
  }
}

config::Svm::NotifierStrategy Svm::strategy(const SvmRange* r) const {
  if (cfg_.notifier_strategy() != config::Svm::AUTO) return cfg_.notifier_strategy();
  const bool always_mapped = r != nullptr && (r->flags & svm_flag::kGpuAlwaysMapped) != 0;
  return (!xnack_ || always_mapped) ? config::Svm::EVICT_QUEUES : config::Svm::UNMAP_FROM_GPU;
}

// ------------------------------------------------------------------ SET_ATTR, prefetch

void Svm::set_attr(DriverThread& t, uint64_t va, uint64_t bytes, const AttrChange& c) {
  bytes = align_up(bytes, kPageBytes);
  const uint64_t end = va + bytes;
  if (!mm_.covered(va, end)) {
    throw InputError("SET_ATTR on [" + hex(va) + ", " + hex(end) + ") which is not inside mappings");
  }
  if (c.granularity && *c.granularity > 0x3f) throw InputError("granularity must be at most 63");
  // svm_range_set_attr: mmap_lock for writing while the range list changes, downgraded to
  // reading before migrating and mapping; svms->lock throughout.
  t.lock(mmap_lock_, /*shared=*/false);
  bool mm_shared = false;
  struct Unlock {
    hw::HostLock& l;
    const bool& shared;
    ~Unlock() { l.unlock(shared); }
  } unlock_mm{mmap_lock_, mm_shared};
  LockGuard svms(t, svms_lock_, /*shared=*/false);
  t.compute_ns(cfg_.restore_entry_ns());
  // svm_range_add: new registered ranges fill the gaps, cut at max_svm_range_pages.
  const uint64_t max_bytes = max_range_pages_ * kPageBytes;
  for (uint64_t at = va; at < end;) {
    SvmRange* r = find_range(at);
    if (r != nullptr) {
      at = r->end;
      continue;
    }
    auto next = ranges_.upper_bound(at);
    uint64_t stop = next == ranges_.end() ? end : std::min(end, next->second.start);
    stop = std::min(stop, align_down(at, max_bytes) + max_bytes);
    ranges_[at] = new_range(at, stop, true);
    at = stop;
  }
  split_at(va);
  split_at(end);
  for (SvmRange* r : overlapping(va, end)) {
    r->registered = true;
    if (c.preferred) r->preferred = *c.preferred;
    if (c.prefetch) r->prefetch = *c.prefetch;
    if (c.access) r->access = *c.access;
    r->flags = (r->flags | c.set_flags) & ~c.clr_flags;
    if (c.granularity) r->granularity = *c.granularity;
  }
  mmap_lock_.downgrade();  // mmap_write_downgrade
  mm_shared = true;
  // Taking access away unmaps the range from the GPU (svm_range_set_attr's unmap of GPUs
  // no longer in the access bitmaps).
  if (c.access && *c.access == wl::NO_ACCESS) unmap_from_gpu(t, va, end, UnmapTrigger::kMmuNotify);
  if (c.prefetch && *c.prefetch != wl::UNDEFINED) {
    for (SvmRange* r : overlapping(va, end)) {
      if (!migrate(t, *r, 0, r->pages(), *c.prefetch, MigrateTrigger::kPrefetch)) ++vram_fallbacks_;
    }
  }
  // svm_range_validate_and_map for ranges mapped eagerly: XNACK off, GPU_ALWAYS_MAPPED, or
  // a prefetch.
  for (SvmRange* r : overlapping(va, end)) {
    const bool eager = !xnack_ || (r->flags & svm_flag::kGpuAlwaysMapped) != 0 ||
                       (c.prefetch && *c.prefetch != wl::UNDEFINED);
    if (eager && gpu_access(*r)) validate_and_map(t, *r, {PageSpan{0, r->pages()}}, {});
  }
  merge_around(va, end);
}

void Svm::prefetch(DriverThread& t, uint64_t va, uint64_t bytes, wl::Location loc) {
  ++prefetches_;
  AttrChange c;
  c.prefetch = loc == wl::UNDEFINED ? wl::GPU : loc;
  if (apu_) c.prefetch = wl::SYSMEM;
  set_attr(t, va, bytes, c);
}

bool Svm::gpu_access(const SvmRange& r) const {
  switch (r.access) {
    case wl::ACCESS:
    case wl::ACCESS_IN_PLACE:
      return true;
    case wl::NO_ACCESS:
      return false;
    default:
      // svm_range_new: with XNACK on every GPU has access; with XNACK off none, and the
      // runtime sets ACCESS (modelled: a registered range is accessible).
      return xnack_ || r.registered;
  }
}

std::pair<uint64_t, uint64_t> Svm::window(const SvmRange& r, uint64_t va) {
  const uint64_t size = (1ULL << r.granularity) * kPageBytes;
  const uint64_t ws = std::max(align_down(va, size), r.start);
  const uint64_t we = std::min(align_down(va, size) + size, r.end);
  return {(ws - r.start) / kPageBytes, (we - ws) / kPageBytes};
}

std::optional<wl::Location> Svm::best_location(const SvmRange& r) const {
  if (apu_) return wl::SYSMEM;  // is_app_apu: restore in system memory
  if (r.preferred == wl::GPU || r.preferred == wl::SYSMEM) return r.preferred;
  if (r.access == wl::ACCESS || (r.access == wl::ACCESS_DEFAULT && xnack_)) return wl::GPU;
  if (r.access == wl::ACCESS_IN_PLACE) return r.any_vram() ? wl::GPU : wl::SYSMEM;
  return std::nullopt;  // -EACCES
}

// ------------------------------------------------------------------ migration

bool Svm::ensure_bo(DriverThread& t, SvmRange& r) {
  if (r.bo) return true;
  t.compute_ns(migrate_.cfg().vram_alloc_ns());
  const uint64_t bytes = align_up(r.end - r.start, k2M);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (const auto a = vram_alloc_.alloc(bytes, k2M)) {
      r.bo = std::make_shared<VramBo>(vram_alloc_, *a, bytes);
      r.bo_first = 0;
      return true;
    }
    if (attempt == 0) evict_vram(t, r);
  }
  return false;
}

void Svm::evict_vram(DriverThread& t, const SvmRange& keep) {
  // Least recently used ranges holding VRAM, other than the one being served, go back to
  // system memory until the request fits or nothing is left (TTM eviction of svm_bos).
  const uint64_t need = align_up(keep.end - keep.start, k2M);
  while (vram_alloc_.capacity() - vram_alloc_.used_bytes() < need) {
    SvmRange* victim = nullptr;
    for (auto& [s, r] : ranges_) {
      if (!r.bo || r.bo == keep.bo || &r == &keep) continue;
      if (victim == nullptr || r.last_use < victim->last_use) victim = &r;
    }
    if (victim == nullptr) return;
    ++vram_evictions_;
    const std::shared_ptr<VramBo> bo = victim->bo;
    // Every piece sharing the buffer leaves it.
    for (auto& [s, r] : ranges_) {
      if (r.bo != bo) continue;
      migrate(t, r, 0, r.pages(), wl::SYSMEM, MigrateTrigger::kTtmEviction);
      r.bo.reset();
    }
    // With queues that cannot fault (XNACK off) KFD evicts them and restores after
    // PROCESS_RESTORE_TIME_MS; the notifier of the migration above did that already.
  }
}

bool Svm::migrate(DriverThread& t, SvmRange& r, uint64_t first, uint64_t n, wl::Location loc,
                  MigrateTrigger why) {
  const bool to_vram = loc == wl::GPU;
  r.last_use = ++use_clock_;
  if (to_vram && !ensure_bo(t, r)) return false;
  // Contiguous stretches of pages that must move; frames may differ after COW breaks, so
  // a stretch also ends where the system frames stop being contiguous.
  for (uint64_t i = first; i < first + n;) {
    const uint64_t va_i = r.start + i * kPageBytes;
    if ((r.in_vram[i] != 0) == to_vram) {
      ++i;
      continue;
    }
    const uint64_t frame0 = mm_.pte(va_i).frame;
    uint64_t j = i + 1;
    while (j < first + n && (r.in_vram[j] != 0) != to_vram &&
           mm_.pte(r.start + j * kPageBytes).frame == frame0 + (j - i) * kPageBytes) {
      ++j;
    }
    const uint64_t bytes = (j - i) * kPageBytes;
    const uint32_t from = to_vram ? kSmiSysmem : smi_.gpu_id();
    const uint32_t to = to_vram ? smi_.gpu_id() : kSmiSysmem;
    smi_.migrate_start(now_ns(), va_i, bytes, from, to, smi_loc(r.prefetch), smi_loc(r.preferred), why);
    // migrate_vma_setup: the CPU mappings change, so the notifier runs (MMU_NOTIFY_MIGRATE).
    // The range's own sequence is bumped; GPU-mapped pages are unmapped or the queues
    // evicted, per the strategy.
    const NotifyRange nr{va_i, va_i + bytes, NotifyEvent::kMigrate};
    mm_.notify(&t, nr);
    const uint64_t dev = r.bo->addr + (r.bo_first + i) * kPageBytes;
    if (to_vram) {
      migrate_.to_vram(t, frame0, dev, j - i, why);
    } else {
      migrate_.to_ram(t, dev, frame0, j - i, why);
    }
    for (uint64_t k = i; k < j; ++k) {
      const uint64_t va_k = r.start + k * kPageBytes;
      r.in_vram[k] = to_vram ? 1 : 0;
      if (to_vram) {
        mm_.set_device_private(va_k);
      } else {
        mm_.set_resident(va_k, mm_.pte(va_k).frame);
      }
    }
    mm_.notify_end(&t, nr);
    smi_.migrate_end(now_ns(), va_i, bytes, from, to, why);
    i = j;
  }
  if (!to_vram && r.bo && !r.any_vram()) r.bo.reset();  // svm_range_vram_node_free
  return true;
}

// ------------------------------------------------------------------ mapping

uint64_t Svm::page_pa(const SvmRange& r, uint64_t i) const {
  if (r.in_vram[i]) return r.bo->addr + (r.bo_first + i) * kPageBytes;
  return mm_.pte(r.start + i * kPageBytes).frame;
}

std::vector<GpuVm::Run> Svm::runs(const SvmRange& r, uint64_t first, uint64_t n) const {
  std::vector<GpuVm::Run> out;
  for (uint64_t i = first; i < first + n; ++i) {
    const uint64_t va = r.start + i * kPageBytes;
    const bool system = r.in_vram[i] == 0;
    const uint64_t pa = page_pa(r, i);
    if (!out.empty() && out.back().system == system && out.back().pa + out.back().pages * kPageBytes == pa) {
      ++out.back().pages;
    } else {
      out.push_back(GpuVm::Run{va, 1, pa, system});
    }
  }
  return out;
}

bool Svm::validate_and_map(DriverThread& t, SvmRange& r, const std::vector<PageSpan>& spans,
                           const std::vector<uint64_t>& reports) {
  if (spans.empty()) return true;
  const uint64_t first_va = r.start + spans.front().first * kPageBytes;
  const Vma* vma = mm_.find_vma(first_va);
  if (vma == nullptr) return true;  // unmapped meanwhile: nothing to map
  const bool writable = vma->flags.write && (r.flags & svm_flag::kGpuRo) == 0;
  // hmm_range_fault with HMM_PFN_REQ_WRITE on a writable VMA breaks copy-on-write sharing
  // first (its own invalidations are retried inside amdgpu_hmm_range_get_pages).
  if (vma->flags.write) {
    for (const PageSpan& sp : spans) {
      for (uint64_t i = sp.first; i < sp.first + sp.n; ++i) {
        const uint64_t va = r.start + i * kPageBytes;
        if (r.in_vram[i] || !mm_.pte(va).cow) continue;
        ++cow_breaks_;
        t.compute_ns(mm_cfg_.cow_copy_ns());
        mm_.break_cow(&t, va);
      }
    }
  }
  // mmu_interval_read_begin: waits while an invalidation of the range is in progress (its
  // sequence is odd in the kernel), then reads the sequence; then the pages are collected
  // and DMA-mapped.
  const uint64_t lo = r.start;
  const uint64_t hi = r.end;
  t.sleep_until(
      invalidation_done_,
      [this, lo, hi] {
        for (const auto& [s, e] : active_) {
          if (s < hi && lo < e) return false;
        }
        return true;
      },
      0, "the end of an MMU-notifier invalidation in", name());
  if (find_range(lo) != &r) return false;
  const uint64_t seq = r.seq;
  uint64_t system_pages = 0;
  std::vector<GpuVm::Run> all;
  for (const PageSpan& sp : spans) {
    for (uint64_t i = sp.first; i < sp.first + sp.n; ++i) system_pages += r.in_vram[i] ? 0 : 1;
    const std::vector<GpuVm::Run> rs = runs(r, sp.first, sp.n);
    all.insert(all.end(), rs.begin(), rs.end());
  }
  t.compute_ns(cfg_.map_per_page_ns() * static_cast<double>(system_pages));
  if (iommu_ != nullptr && !iommu_->pri()) {
    for (const GpuVm::Run& run : all) {
      if (run.system) iommu_->map(&t, run.pa, run.pages * kPageBytes);
    }
  }
  // The range may have changed while this thread slept: amdgpu_hmm_range_get_pages_done.
  SvmRange* now = find_range(first_va);
  if (now != &r || r.seq != seq) return false;
  all.clear();
  for (const PageSpan& sp : spans) {
    const std::vector<GpuVm::Run> rs = runs(r, sp.first, sp.n);
    all.insert(all.end(), rs.begin(), rs.end());
  }
  const auto mark = [&](Milestone m) {
    if (trace_ == nullptr) return;
    for (uint64_t id : reports) {
      if (id != 0) trace_->milestone(id, m, sc_core::sc_time_stamp());
    }
  };
  // Migration done and system pages collected: the ledger's "migration" phase ends here.
  mark(Milestone::kMigrateDone);
  if (trace_ != nullptr) {
    const uint64_t owner = reports.empty() ? 0 : reports.front();
    for (const PageSpan& sp : spans) trace_->mapping_started(owner, pasid_, r.start + sp.first * kPageBytes, sp.n * kPageBytes);
  }
  vm_.map(t, all, writable);
  mark(Milestone::kPteDone);
  vm_.flush_tlb(t, TlbFlush::kLegacy);
  // The range may have been split or unmapped while the thread waited for the fence.
  if (find_range(first_va) == &r) {
    for (const PageSpan& sp : spans) {
      std::fill(r.gpu_mapped.begin() + static_cast<long>(sp.first), r.gpu_mapped.begin() + static_cast<long>(sp.first + sp.n), 1);
    }
  }
  r.invalid = false;
  r.validated_at = sc_core::sc_time_stamp();
  return true;
}

void Svm::unmap_from_gpu(DriverThread& t, uint64_t start, uint64_t end, UnmapTrigger why) {
  // svm_range_unmap_from_gpus: the mapped stretches' PTEs are cleared (one update each,
  // fence waited for), then one heavyweight flush.
  std::vector<std::pair<uint64_t, uint64_t>> spans;  // (va, pages)
  for (SvmRange* r : overlapping(start, end)) {
    const uint64_t lo = (std::max(start, r->start) - r->start) / kPageBytes;
    const uint64_t hi = (std::min(end, r->end) - r->start) / kPageBytes;
    for (uint64_t i = lo; i < hi;) {
      if (!r->gpu_mapped[i]) {
        ++i;
        continue;
      }
      uint64_t j = i;
      while (j < hi && r->gpu_mapped[j]) r->gpu_mapped[j++] = 0;
      spans.emplace_back(r->start + i * kPageBytes, j - i);
      i = j;
    }
  }
  if (spans.empty()) return;
  ++gpu_unmaps_;
  for (const auto& [va, pages] : spans) {
    smi_.unmap_from_gpu(now_ns(), va, pages * kPageBytes, why);
    vm_.unmap(t, va, pages);
  }
  if (!cfg_.unmap_skips_tlb_flush()) vm_.flush_tlb(t, TlbFlush::kHeavyweight);
}

// ------------------------------------------------------------------ retry fault

FaultResult Svm::handle_retry_fault(DriverThread& t, const RetryFault& f) {
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  TlSteps steps;
  steps.mark_ps = start.value();
  const Served s = restore_pages(t, f, tl_pages_ != nullptr ? &steps : nullptr);
  record(f, s, to_ns(sc_core::sc_time_stamp() - start));
  if (tl_pages_ != nullptr) {
    steps.draw(*tl_pages_, "restore_pages", start.value(),
               TimelineArgs().hex("va", f.page_addr).num("pasid", f.pasid).str("result", served_name(static_cast<int>(s))));
  }
  return s == Served::kRetried ? FaultResult::kAgain : FaultResult::kHandled;
}

void Svm::record(const RetryFault& f, Served s, double ns) {
  const auto outcome = [&](Outcome o) {
    if (trace_ != nullptr && f.report != 0) trace_->outcome(f.report, o);
  };
  switch (s) {
    case Served::kMigrated:
      ++migrated_;
      ns_migrated_.sample(ns);
      restore_ns_.sample(ns);
      outcome(Outcome::kMigrated);
      break;
    case Served::kUpdated:
      ++mapped_;
      ns_updated_.sample(ns);
      restore_ns_.sample(ns);
      outcome(Outcome::kMapped);
      break;
    case Served::kDuplicate:
      ++duplicates_;
      ns_duplicate_.sample(ns);
      outcome(Outcome::kDuplicate);
      break;
    case Served::kRetried:
      ++retried_;
      ns_retried_.sample(ns);
      outcome(Outcome::kRetried);
      break;
    case Served::kFailed:
      ++failed_;
      outcome(Outcome::kFailed);
      break;
    case Served::kDrained:
      ++drained_;
      outcome(Outcome::kDrained);
      break;
    case Served::kIgnored:
      break;
  }
}

std::vector<PageSpan> Svm::service_spans(const SvmRange& r, const std::vector<uint64_t>& faulted,
                                         wl::Location dest) const {
  PrefetchRange pr;
  pr.start_va = r.start;
  pr.pages = r.pages();
  pr.granularity = r.granularity;
  const bool to_vram = dest == wl::GPU;
  pr.at_destination = [&r, to_vram](uint64_t i) { return (r.in_vram[i] != 0) == to_vram; };
  return prefetch_->spans(pr, faulted);
}

void Svm::handle_fault_group(DriverThread& t, const std::vector<RetryFault>& faults) {
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  TlSteps steps;
  steps.mark_ps = start.value();
  std::vector<Served> served(faults.size(), Served::kIgnored);
  // The faults to service, per range (by its start): the range, where its pages go, and
  // the indices of its faults.
  struct Work {
    wl::Location dest;
    std::vector<size_t> faults;
  };
  std::map<uint64_t, Work> work;
  {
    LockGuard mm(t, mmap_lock_, /*shared=*/true);
    {
      LockGuard svms(t, svms_lock_, /*shared=*/false);
      // One process lookup and one range-tree descent for the block.
      t.compute_ns(cfg_.restore_entry_ns());
      for (size_t i = 0; i < faults.size(); ++i) {
        const RetryFault& f = faults[i];
        ++faults_;
        const auto fail = [&] {
          vm_.map_noretry(t, f.page_addr);
          served[i] = Served::kFailed;
        };
        if (f.pasid != pasid_) continue;  // kIgnored
        if (draining_) {
          served[i] = Served::kDrained;
          continue;
        }
        if (!xnack_) {
          fail();
          continue;
        }
        const Vma* vma = mm_.find_vma(f.page_addr);
        SvmRange* r = find_range(f.page_addr);
        if (r == nullptr) {
          if (vma == nullptr) {
            fail();
            continue;
          }
          t.compute_ns(cfg_.range_create_ns());
          r = &create_unregistered(f.page_addr, *vma);
        }
        if (vma == nullptr || vma->flags.io || !vma->flags.read || (f.write && !vma->flags.write)) {
          fail();  // -EFAULT, -EPERM
          continue;
        }
        const std::optional<wl::Location> best = best_location(*r);
        if (!best) {
          fail();  // -EACCES
          continue;
        }
        const uint64_t p = (f.page_addr - r->start) / kPageBytes;
        if (r->gpu_mapped[p] && (r->in_vram[p] != 0) == (*best == wl::GPU)) {
          // Serviced by an earlier batch: the fault was raised before its replay.
          ++already_valid_;
          served[i] = Served::kDuplicate;
          continue;
        }
        Work& w = work[r->start];
        w.dest = *best;
        w.faults.push_back(i);
        if (trace_ != nullptr && f.report != 0) trace_->milestone(f.report, Milestone::kLookupDone, sc_core::sc_time_stamp());
      }
    }
    if (tl_pages_ != nullptr) steps.step("lookup");
    for (auto& entry : work) {
      // (Not a structured binding: the lambdas below capture these, which C++17 forbids.)
      const uint64_t range_start = entry.first;
      Work& w = entry.second;
      SvmRange* r = find_range(range_start);
      const auto give_up = [&](Served s) {
        for (size_t i : w.faults) served[i] = s;
      };
      if (r == nullptr || r->start != range_start) {
        give_up(Served::kRetried);  // split or removed while an earlier range was served
        continue;
      }
      std::vector<uint64_t> pages;
      std::vector<uint64_t> reports;
      for (size_t i : w.faults) {
        smi_.page_fault_start(now_ns(), faults[i].page_addr, faults[i].write);
        pages.push_back((faults[i].page_addr - r->start) / kPageBytes);
        reports.push_back(faults[i].report);
      }
      const std::vector<PageSpan> spans = service_spans(*r, pages, w.dest);
      bool migrated = false;
      uint64_t span_pages = 0;
      for (const PageSpan& sp : spans) {
        span_pages += sp.n;
        for (uint64_t i = sp.first; i < sp.first + sp.n; ++i) {
          if ((r->in_vram[i] != 0) != (w.dest == wl::GPU)) migrated = true;
        }
      }
      ++groups_;
      group_pages_.sample(static_cast<double>(span_pages));
      if (migrated) {
        const uint64_t bytes_before = migrate_.bytes();
        for (const PageSpan& sp : spans) {
          if (!migrate(t, *r, sp.first, sp.n, w.dest, MigrateTrigger::kPagefaultGpu)) {
            ++vram_fallbacks_;
            migrate(t, *r, sp.first, sp.n, wl::SYSMEM, MigrateTrigger::kPagefaultGpu);
          }
        }
        if (tl_pages_ != nullptr) steps.step("migrate", TimelineArgs().num("bytes", migrate_.bytes() - bytes_before));
      }
      const auto end_events = [&] {
        for (size_t i : w.faults) smi_.page_fault_end(now_ns(), faults[i].page_addr, migrated);
      };
      r = find_range(range_start);
      const bool mapped = r != nullptr && r->start == range_start && validate_and_map(t, *r, spans, reports);
      if (tl_pages_ != nullptr) steps.step("map", TimelineArgs().hex("range", range_start).num("pages", span_pages));
      if (!mapped) {
        end_events();
        give_up(Served::kRetried);
        continue;
      }
      if (trace_ != nullptr) {
        for (uint64_t id : reports) {
          if (id != 0) trace_->milestone(id, Milestone::kTlbDone, sc_core::sc_time_stamp());
        }
      }
      end_events();
      give_up(migrated ? Served::kMigrated : Served::kUpdated);
    }
  }
  group_faults_.sample(static_cast<double>(faults.size()));
  const double ns = to_ns(sc_core::sc_time_stamp() - start);
  for (size_t i = 0; i < faults.size(); ++i) record(faults[i], served[i], ns);
  if (tl_pages_ != nullptr) {
    TimelineArgs a;
    a.num("faults", faults.size());
    if (!faults.empty()) a.hex("va", faults.front().page_addr);
    steps.draw(*tl_pages_, "fault_group", start.value(), a);
  }
}

Svm::Served Svm::restore_pages(DriverThread& t, const RetryFault& f, TlSteps* steps) {
  const uint64_t va = f.page_addr;
  LockGuard mm(t, mmap_lock_, /*shared=*/true);
  SvmRange* r = nullptr;
  const Vma* vma = nullptr;
  // The failure path of amdgpu_vm_handle_fault: a no-retry PTE for the page.
  const auto fail = [&]() {
    vm_.map_noretry(t, va);
    return Served::kFailed;
  };
  {
    LockGuard svms(t, svms_lock_, /*shared=*/false);
    t.compute_ns(cfg_.restore_entry_ns());
    ++faults_;
    if (f.pasid != pasid_) return Served::kIgnored;  // kfd_lookup_process_by_pasid found nothing
    if (draining_) return Served::kDrained;
    if (!xnack_) return fail();  // -EFAULT: retry faults with XNACK off
    vma = mm_.find_vma(va);
    r = find_range(va);
    if (r == nullptr) {
      if (vma == nullptr) return fail();  // -EFAULT: no VMA
      t.compute_ns(cfg_.range_create_ns());
      r = &create_unregistered(va, *vma);
    }
  }
  // Skip duplicate faults on any page of a range validated within the window.
  if (r->validated_at && sc_core::sc_time_stamp() < *r->validated_at + from_ns(cfg_.duplicate_window_ns())) {
    return Served::kDuplicate;
  }
  if (vma == nullptr || vma->flags.io) return fail();                    // -EFAULT
  if (!vma->flags.read || (f.write && !vma->flags.write)) return fail();  // -EPERM (svm_fault_allowed)
  const std::optional<wl::Location> best = best_location(*r);
  if (!best) return fail();  // -EACCES
  if (trace_ != nullptr && f.report != 0) trace_->milestone(f.report, Milestone::kLookupDone, sc_core::sc_time_stamp());
  if (steps != nullptr) steps->step("lookup");
  smi_.page_fault_start(now_ns(), va, f.write);

  const std::vector<PageSpan> spans = service_spans(*r, {(va - r->start) / kPageBytes}, *best);
  const uint64_t range_start = r->start;

  bool migrated = false;
  for (const PageSpan& sp : spans) {
    for (uint64_t i = sp.first; i < sp.first + sp.n; ++i) {
      if ((r->in_vram[i] != 0) != (*best == wl::GPU)) migrated = true;
    }
  }
  if (migrated) {
    const uint64_t bytes_before = migrate_.bytes();
    for (const PageSpan& sp : spans) {
      if (!migrate(t, *r, sp.first, sp.n, *best, MigrateTrigger::kPagefaultGpu)) {
        ++vram_fallbacks_;  // svm_migrate_to_vram failed: fall back to system memory
        migrate(t, *r, sp.first, sp.n, wl::SYSMEM, MigrateTrigger::kPagefaultGpu);
      }
    }
    if (steps != nullptr) steps->step("migrate", TimelineArgs().num("bytes", migrate_.bytes() - bytes_before));
  }
  // The range may have been split or removed while this thread slept.
  r = find_range(va);
  if (r == nullptr || r->start != range_start) {
    smi_.page_fault_end(now_ns(), va, migrated);
    return Served::kRetried;
  }
  const bool mapped = validate_and_map(t, *r, spans, {f.report});
  if (steps != nullptr) steps->step("map");
  if (!mapped) {
    smi_.page_fault_end(now_ns(), va, migrated);
    return Served::kRetried;
  }
  if (trace_ != nullptr && f.report != 0) trace_->milestone(f.report, Milestone::kTlbDone, sc_core::sc_time_stamp());
  smi_.page_fault_end(now_ns(), va, migrated);
  return migrated ? Served::kMigrated : Served::kUpdated;
}

// ------------------------------------------------------------------ notifier

void Svm::wait_for_gpu(DriverThread& t, uint64_t start, uint64_t end) {
  const auto idle = [this, start, end] {
    for (const auto& [id, iv] : gpu_jobs_) {
      if (iv.first < end && start < iv.second) return false;
    }
    return true;
  };
  t.sleep_until(gpu_jobs_event_, idle, 0, "the GPU work using memory of", name());
}

void Svm::invalidate(const NotifyRange& nr, DriverThread* t) {
  if (nr.end_phase) {
    // invalidate_range_end: mmu_interval_read_begin callers waiting on it may go on.
    const auto it = active_.find({nr.start, nr.end});
    if (it != active_.end()) active_.erase(it);
    invalidation_done_.notify(sc_core::SC_ZERO_TIME);
    return;
  }
  active_.insert({nr.start, nr.end});
  std::vector<SvmRange*> hit = overlapping(nr.start, nr.end);
  if (hit.empty()) return;
  for (SvmRange* r : hit) ++r->seq;  // mmu_interval_set_seq
  ++*by_event_[static_cast<size_t>(nr.event)];
  if (t == nullptr) return;
  ++invalidations_;
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  const char* action = "invalidate";  // timeline: what the callback did
  t->compute_ns(cfg_.notifier_ns());
  bool mapped = false;
  bool always_mapped = false;
  for (SvmRange* r : hit) {
    const uint64_t lo = (std::max(nr.start, r->start) - r->start) / kPageBytes;
    const uint64_t hi = (std::min(nr.end, r->end) - r->start) / kPageBytes;
    for (uint64_t i = lo; i < hi && !mapped; ++i) mapped = r->gpu_mapped[i] != 0;
    always_mapped |= (r->flags & svm_flag::kGpuAlwaysMapped) != 0;
  }
  const config::Svm::NotifierStrategy how = strategy(always_mapped ? hit.front() : nullptr);
  stats::Histogram* block = &block_unmap_;
  if (nr.event == NotifyEvent::kUnmap) {
    // svm_range_unmap_from_cpu: unmap from the GPU, then drain retry faults.
    if (how == config::Svm::WAIT_FOR_GPU) {
      wait_for_gpu(*t, nr.start, nr.end);
      block = &block_wait_;
    }
    if (mapped) unmap_from_gpu(*t, nr.start, nr.end, UnmapTrigger::kUnmapFromCpu);
    action = "unmap_from_cpu";
    draining_ = true;
    start_drain();
  } else if (mapped) {
    const UnmapTrigger why = nr.event == NotifyEvent::kMigrate ? UnmapTrigger::kMmuNotifyMigrate : UnmapTrigger::kMmuNotify;
    switch (how) {
      case config::Svm::WAIT_FOR_GPU:
        block = &block_wait_;
        wait_for_gpu(*t, nr.start, nr.end);
        unmap_from_gpu(*t, nr.start, nr.end, why);
        for (SvmRange* r : overlapping(nr.start, nr.end)) r->invalid = true;
        action = "wait_for_gpu";
        break;
      case config::Svm::EVICT_QUEUES: {
        block = &block_evict_;
        for (SvmRange* r : hit) r->invalid = true;
        // svm_range_evict: the first evicted range quiesces the process and schedules the
        // restore worker.
        if (evicted_ranges_++ == 0) {
          first_evicted_at_ = start;
          queues_.evict(*t, EvictTrigger::kSvm);
          schedule_restore(cfg_.restore_delay_ns());
        }
        action = "evict_queues";
        break;
      }
      default:
        unmap_from_gpu(*t, nr.start, nr.end, why);
        action = "unmap_from_gpu";
        break;
    }
  }
  block->sample(to_ns(sc_core::sc_time_stamp() - start));
  if (tl_notifier_ != nullptr) {
    tl_notifier_->draw(action, start.value(), now_ps(),
                       TimelineArgs().str("event", event_name(nr.event)).hex("va", nr.start).num("bytes", nr.end - nr.start));
  }
}

void Svm::schedule_restore(double delay_ns) {
  if (restore_scheduled_) return;
  restore_scheduled_ = true;
  sc_core::sc_spawn_options opts;
  sc_core::sc_spawn(
      [this, delay_ns] {
        guard_process(name(), [this, delay_ns] {
          sc_core::wait(from_ns(delay_ns));
          restore_worker();
        });
      },
      sc_core::sc_gen_unique_name("svm_restore"), &opts);
}

void Svm::restore_worker() {
  // svm_range_restore_work: map every invalid range again, then resume the queues unless
  // more ranges were evicted meanwhile (then try again after the delay).
  bool rescheduled = false;
  for (;;) {
    const uint32_t evicted = evicted_ranges_;
    const uint64_t tl_begin = now_ps();
    TlSteps steps;
    steps.mark_ps = tl_begin;
    DriverThread t(cpu_, hw::WorkClass::kWorker);
    {
      LockGuard mm(t, mmap_lock_, /*shared=*/true);
      LockGuard svms(t, svms_lock_, /*shared=*/false);
      map_invalid_ranges(t);
    }
    if (tl_restore_ != nullptr) steps.step("map_invalid_ranges", TimelineArgs().num("evicted_ranges", evicted));
    if (evicted_ranges_ == evicted) {
      evicted_ranges_ = 0;
      restore_scheduled_ = false;
      queues_.restore(t, rescheduled);
      restore_delay_ns_.sample(to_ns(sc_core::sc_time_stamp() - first_evicted_at_));
      t.release();
      if (tl_restore_ != nullptr) {
        steps.step("restore_queues");
        steps.draw(*tl_restore_, "restore", tl_begin, TimelineArgs().num("rescheduled", rescheduled ? 1 : 0));
      }
      return;
    }
    ++restore_rescheduled_;
    rescheduled = true;
    t.release();
    if (tl_restore_ != nullptr) steps.draw(*tl_restore_, "restore_put_off", tl_begin, TimelineArgs().num("evicted_meanwhile", evicted_ranges_ - evicted));
    sc_core::wait(from_ns(cfg_.restore_delay_ns()));
  }
}

void Svm::start_drain() {
  if (drain_running_) return;
  drain_running_ = true;
  sc_core::sc_spawn_options opts;
  sc_core::sc_spawn(
      [this] {
        guard_process(name(), [this] {
          // svm_range_drain_retry_fault: wait until the IH has processed what was
          // written before the munmap.
          do {
            sc_core::wait(from_ns(cfg_.drain_poll_ns()));
          } while (irq_idle_ && !irq_idle_());
          draining_ = false;
          drain_running_ = false;
        });
      },
      sc_core::sc_gen_unique_name("svm_drain"), &opts);
}

// ------------------------------------------------------------------ GPU jobs

uint64_t Svm::gpu_job_begin(uint64_t va, uint64_t bytes) {
  const uint64_t id = next_job_++;
  gpu_jobs_[id] = {va, va + bytes};
  return id;
}

void Svm::gpu_job_end(uint64_t id) {
  gpu_jobs_.erase(id);
  gpu_jobs_event_.notify(sc_core::SC_ZERO_TIME);
}

void Svm::revalidate(DriverThread& t) {
  if (xnack_) return;
  LockGuard mm(t, mmap_lock_, /*shared=*/true);
  map_invalid_ranges(t);
}

void Svm::map_invalid_ranges(DriverThread& t) {
  // By start: validate_and_map may sleep, and ranges may split meanwhile.
  std::vector<uint64_t> starts;
  for (const auto& [s, r] : ranges_) {
    if (r.invalid) starts.push_back(s);
  }
  for (const uint64_t s : starts) {
    SvmRange* r = find_range(s);
    if (r == nullptr || !r->invalid) continue;
    t.compute_ns(cfg_.revalidate_ns());
    if (gpu_access(*r)) validate_and_map(t, *r, {PageSpan{0, r->pages()}}, {});
    r->invalid = false;
  }
}

// ------------------------------------------------------------------ CPU operations

void Svm::munmap(DriverThread& t, uint64_t va, uint64_t bytes) {
  bytes = align_up(bytes, kPageBytes);
  LockGuard mm(t, mmap_lock_, /*shared=*/false);
  t.compute_ns(mm_cfg_.munmap_ns() + mm_cfg_.munmap_per_page_ns() * static_cast<double>(bytes / kPageBytes));
  mm_.munmap(&t, va, va + bytes);
  // The deferred list work removes the ranges (svm_range_unmap_from_cpu + deferred work).
  LockGuard svms(t, svms_lock_, /*shared=*/false);
  split_at(va);
  split_at(va + bytes);
  std::vector<uint64_t> gone;
  for (SvmRange* r : overlapping(va, va + bytes)) gone.push_back(r->start);
  for (const uint64_t s : gone) ranges_.erase(s);
}

void Svm::mprotect(DriverThread& t, uint64_t va, uint64_t bytes, bool read, bool write) {
  bytes = align_up(bytes, kPageBytes);
  LockGuard mm(t, mmap_lock_, /*shared=*/false);
  t.compute_ns(mm_cfg_.mprotect_ns());
  mm_.mprotect(&t, va, va + bytes, read, write);
}

void Svm::fork(DriverThread& t, const std::string& child) {
  LockGuard mm(t, mmap_lock_, /*shared=*/false);
  uint64_t pages = 0;
  for (const auto& [s, v] : mm_.vmas()) {
    if (!v.flags.dontcopy) pages += (v.end - v.start) / kPageBytes;
  }
  t.compute_ns(mm_cfg_.fork_ns() + mm_cfg_.fork_per_page_ns() * static_cast<double>(pages));
  children_[child] = mm_.fork(&t, child);
}

void Svm::cpu_touch(DriverThread& t, const std::string& process, uint64_t va, uint64_t bytes, bool write) {
  bytes = align_up(bytes, kPageBytes);
  if (!process.empty()) {
    // A child: CPU only. Its writes to COW pages copy them; nothing GPU-side hears of it.
    AddressSpace& as = *children_.at(process);
    for (uint64_t a = va; a < va + bytes; a += kPageBytes) {
      const AddressSpace::Pte p = as.pte(a);
      if (!p.mapped) throw SimError("CPU access by '" + process + "' to " + hex(a) + " outside every mapping: SIGSEGV");
      if (write && p.cow) {
        ++cow_breaks_;
        t.compute_ns(mm_cfg_.cpu_fault_ns() + mm_cfg_.cow_copy_ns());
        as.break_cow(&t, a);
      }
    }
    return;
  }
  for (uint64_t a = va; a < va + bytes; a += kPageBytes) {
    AddressSpace::Pte p = mm_.pte(a);
    if (!p.mapped) throw SimError("CPU access to " + hex(a) + " outside every mapping: SIGSEGV");
    if (!p.device_private && !(write && p.cow)) continue;  // no fault
    if (write && !mm_.find_vma(a)->flags.write) {
      throw SimError("CPU write to read-only mapping at " + hex(a) + ": SIGSEGV");
    }
    LockGuard mm(t, mmap_lock_, /*shared=*/true);
    t.compute_ns(mm_cfg_.cpu_fault_ns());
    if (p.device_private) {
      // svm_migrate_to_ram: the range's granularity window around the page goes back.
      ++cpu_faults_;
      SvmRange* r = find_range(a);
      if (r != nullptr) {
        const auto [first, n] = window(*r, a);
        migrate(t, *r, first, n, wl::SYSMEM, MigrateTrigger::kPagefaultCpu);
      }
      p = mm_.pte(a);
    }
    if (write && p.cow) {
      ++cow_breaks_;
      t.compute_ns(mm_cfg_.cow_copy_ns());
      mm_.break_cow(&t, a);
    }
  }
}

}  // namespace fl::driver
