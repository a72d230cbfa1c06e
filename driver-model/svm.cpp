#include "driver-model/svm.h"

#include <algorithm>

#include "mmu/gpuvm_pte.h"
#include "sim/core/errors.h"
#include "sim/core/format.h"
#include "sim/core/time.h"

namespace fl::driver {

using mmu::kPageBytes;

namespace {
constexpr uint64_t k2M = 2ULL << 20;
uint64_t align_down(uint64_t v, uint64_t a) { return v / a * a; }
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
}  // namespace

Svm::Svm(sc_core::sc_module_name name, const config::Svm& cfg, GpuVm& vm, Migration& migrate,
         PhysAllocator& host_alloc, PhysAllocator& vram_alloc, bool apu, uint16_t pasid,
         FaultTrace* trace)
    : sc_module(name),
      cfg_(cfg),
      vm_(vm),
      migrate_(migrate),
      host_alloc_(host_alloc),
      vram_alloc_(vram_alloc),
      apu_(apu),
      pasid_(pasid),
      trace_(trace) {}

// ------------------------------------------------------------------ address space

const Vma* Svm::find_vma(uint64_t va) const {
  auto it = vmas_.upper_bound(va);
  if (it == vmas_.begin()) return nullptr;
  --it;
  return va < it->second.end ? &it->second : nullptr;
}

SvmRange* Svm::find_range(uint64_t va) {
  auto it = ranges_.upper_bound(va);
  if (it == ranges_.begin()) return nullptr;
  --it;
  return va < it->second.end ? &it->second : nullptr;
}

uint64_t Svm::reserve_va(uint64_t bytes, uint64_t align, std::optional<uint64_t> va) {
  bytes = align_up(bytes, kPageBytes);
  uint64_t start;
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

void Svm::check_free(uint64_t start, uint64_t bytes) const {
  const auto overlap = [&](uint64_t s, uint64_t e) {
    if (start < e && s < start + bytes) {
      throw InputError("[" + hex(start) + ", " + hex(start + bytes) + ") overlaps an earlier mapping [" +
                       hex(s) + ", " + hex(e) + ")");
    }
  };
  for (const auto& [s, v] : vmas_) overlap(s, v.end);
  for (const auto& [s, e] : device_vas_) overlap(s, e);
}

uint64_t Svm::mmap(uint64_t bytes, std::optional<uint64_t> va) {
  bytes = align_up(bytes, kPageBytes);
  uint64_t start;
  if (va) {
    start = *va;
    if (start % kPageBytes != 0) throw InputError("mmap address " + hex(start) + " is not page aligned");
    check_free(start, bytes);
  } else {
    start = next_va_;
  }
  next_va_ = std::max(next_va_, align_up(start + bytes, k2M) + k2M);
  const auto sys = host_alloc_.alloc(bytes, kPageBytes);
  if (!sys) {
    throw InputError("mmap of " + std::to_string(bytes) + " bytes exceeds free host memory (" +
                     std::to_string(host_alloc_.capacity() - host_alloc_.used_bytes()) +
                     " bytes left of soc.host.dram.capacity_bytes)");
  }
  vmas_[start] = Vma{start, start + bytes, true, *sys};
  if (iommu_ != nullptr) iommu_->add_process_memory(*sys, bytes);
  return start;
}

void Svm::register_range(uint64_t va, uint64_t bytes, wl::Location preferred,
                         std::optional<uint32_t> granularity) {
  bytes = align_up(bytes, kPageBytes);
  const Vma* vma = find_vma(va);
  if (vma == nullptr || va + bytes > vma->end) {
    throw InputError("SVM range [" + hex(va) + ", " + hex(va + bytes) + ") is not inside one mapping");
  }
  for (const auto& [s, r] : ranges_) {
    if (va < r.end && s < va + bytes) {
      throw InputError("SVM range [" + hex(va) + ", " + hex(va + bytes) +
                       ") overlaps an existing range (splitting ranges is not modelled yet)");
    }
  }
  SvmRange r;
  r.start = va;
  r.end = va + bytes;
  r.registered = true;
  r.preferred = preferred;
  r.granularity = granularity.value_or(cfg_.default_granularity());
  r.in_vram.assign(r.pages(), false);
  ranges_[va] = std::move(r);
}

void Svm::set_attr(uint64_t va, std::optional<wl::Location> preferred,
                   std::optional<uint32_t> granularity) {
  SvmRange* r = find_range(va);
  if (r == nullptr) throw InputError("set_attr: no SVM range at " + hex(va));
  if (preferred) r->preferred = *preferred;
  if (granularity) r->granularity = *granularity;
}

SvmRange& Svm::create_unregistered(uint64_t va, const Vma& vma) {
  uint64_t start = std::max(vma.start, align_down(va, k2M));
  uint64_t end = std::min(vma.end, align_down(va, k2M) + k2M);
  auto next = ranges_.upper_bound(va);
  if (next != ranges_.end()) end = std::min(end, next->second.start);
  if (next != ranges_.begin()) {
    auto prev = std::prev(next);
    start = std::max(start, prev->second.end);
  }
  SvmRange r;
  r.start = start;
  r.end = end;
  r.granularity = cfg_.default_granularity();
  r.in_vram.assign(r.pages(), false);
  ++ranges_created_;
  return ranges_[start] = std::move(r);
}

// ------------------------------------------------------------------ placement

wl::Location Svm::best_location(const SvmRange& r) const {
  if (apu_) return wl::SYSMEM;  // is_app_apu: always restore in system memory
  if (r.preferred == wl::GPU || r.preferred == wl::SYSMEM) return r.preferred;
  return wl::GPU;  // XNACK on: the faulting GPU has access
}

bool Svm::place(DriverThread& t, SvmRange& r, const Vma& vma, uint64_t first, uint64_t n,
                wl::Location loc, MigrateTrigger why) {
  if (loc == wl::GPU) {
    if (!r.vram_bo) {
      t.compute_ns(migrate_.cfg().vram_alloc_ns());
      r.vram_bo = vram_alloc_.alloc(align_up(r.end - r.start, k2M), k2M);
      if (!r.vram_bo) return false;
    }
    bool moved = false;
    for (uint64_t i = first; i < first + n;) {
      if (r.in_vram[i]) {
        ++i;
        continue;
      }
      uint64_t j = i;
      while (j < first + n && !r.in_vram[j]) ++j;
      migrate_.to_vram(t, sys_addr(vma, r.start + i * kPageBytes), *r.vram_bo + i * kPageBytes,
                       j - i, why);
      std::fill(r.in_vram.begin() + static_cast<long>(i), r.in_vram.begin() + static_cast<long>(j), true);
      moved = true;
      i = j;
    }
    // svm_migrate_to_vram still runs migrate_vma_setup when nothing is left to move.
    if (!moved) t.compute_ns(migrate_.cfg().setup_ns());
    return true;
  }
  for (uint64_t i = first; i < first + n; ++i) {
    if (r.in_vram[i]) {
      throw SimError("range [" + hex(r.start) + ", " + hex(r.end) +
                     ") is in VRAM and should move to system memory: migration from VRAM to "
                     "system memory is not modelled yet");
    }
  }
  // hmm_range_fault and dma_map_page for each system page.
  t.compute_ns(cfg_.map_per_page_ns() * static_cast<double>(n));
  if (iommu_ != nullptr && !iommu_->pri()) {
    iommu_->map(&t, sys_addr(vma, r.start + first * kPageBytes), n * kPageBytes);
  }
  return true;
}

std::vector<GpuVm::Run> Svm::runs(const SvmRange& r, const Vma& vma, uint64_t first,
                                  uint64_t n) const {
  std::vector<GpuVm::Run> out;
  for (uint64_t i = first; i < first + n; ++i) {
    const uint64_t va = r.start + i * kPageBytes;
    const bool system = !r.in_vram[i];
    const uint64_t pa = system ? sys_addr(vma, va) : *r.vram_bo + i * kPageBytes;
    if (!out.empty() && out.back().system == system &&
        out.back().pa + out.back().pages * kPageBytes == pa) {
      ++out.back().pages;
    } else {
      out.push_back(GpuVm::Run{va, 1, pa, system});
    }
  }
  return out;
}

// ------------------------------------------------------------------ fault and prefetch

void Svm::handle_retry_fault(DriverThread& t, const RetryFault& f) {
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  const uint64_t va = f.page_addr;
  LockGuard mm(t, mmap_lock_, /*shared=*/true);
  const Vma* vma = nullptr;
  SvmRange* r = nullptr;
  {
    LockGuard svms(t, svms_lock_, /*shared=*/false);
    t.compute_ns(cfg_.restore_entry_ns());
    ++faults_;
    if (f.pasid != pasid_) return;  // kfd_lookup_process_by_pasid found nothing

    vma = find_vma(va);
    r = find_range(va);
    if (r == nullptr) {
      if (vma == nullptr) {
        throw SimError("GPU access to " + hex(va) + " (pasid " + std::to_string(f.pasid) +
                       ") outside every mapping: svm_range_restore_pages fails with -EFAULT and "
                       "the access becomes a fatal VM fault");
      }
      t.compute_ns(cfg_.range_create_ns());
      r = &create_unregistered(va, *vma);
    }
  }
  // Skip duplicate faults on any page of a range validated within the window.
  if (r->validated_at &&
      sc_core::sc_time_stamp() < *r->validated_at + from_ns(cfg_.duplicate_window_ns())) {
    ++duplicates_;
    if (trace_ != nullptr && f.report != 0) trace_->outcome(f.report, Outcome::kDuplicate);
    return;
  }
  if (vma == nullptr) return;  // the mapping is gone: a stale fault
  if (f.write && !vma->writable) {
    throw SimError("GPU write to read-only mapping at " + hex(va) +
                   ": -EPERM, the access becomes a fatal VM fault");
  }
  const wl::Location best = best_location(*r);
  if (trace_ != nullptr && f.report != 0) {
    trace_->milestone(f.report, Milestone::kLookupDone, sc_core::sc_time_stamp());
  }

  // The window: 2^granularity pages around the fault, clipped to the range.
  const uint64_t size = (1ULL << r->granularity) * kPageBytes;
  const uint64_t ws = std::max(align_down(va, size), r->start);
  const uint64_t we = std::min(align_down(va, size) + size, r->end);
  const uint64_t first = (ws - r->start) / kPageBytes;
  const uint64_t n = (we - ws) / kPageBytes;

  bool in_vram_after = best == wl::GPU;
  if (!place(t, *r, *vma, first, n, best, MigrateTrigger::kPagefaultGpu)) {
    ++vram_fallbacks_;
    in_vram_after = false;
    place(t, *r, *vma, first, n, wl::SYSMEM, MigrateTrigger::kPagefaultGpu);
  }
  if (trace_ != nullptr && f.report != 0) {
    trace_->milestone(f.report, Milestone::kMigrateDone, sc_core::sc_time_stamp());
    trace_->mapping_started(f.report, f.pasid, ws, we - ws);
  }
  vm_.map(t, runs(*r, *vma, first, n), vma->writable);
  if (trace_ != nullptr && f.report != 0) {
    trace_->milestone(f.report, Milestone::kPteDone, sc_core::sc_time_stamp());
  }
  vm_.flush_tlb(t, TlbFlush::kLegacy);
  r->validated_at = sc_core::sc_time_stamp();
  if (trace_ != nullptr && f.report != 0) {
    trace_->milestone(f.report, Milestone::kTlbDone, sc_core::sc_time_stamp());
    trace_->outcome(f.report, in_vram_after ? Outcome::kMigrated : Outcome::kMapped);
  }
  (in_vram_after ? migrated_ : mapped_) += 1;
  restore_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
}

void Svm::prefetch(DriverThread& t, uint64_t va, wl::Location loc) {
  LockGuard mm(t, mmap_lock_, /*shared=*/true);
  LockGuard svms(t, svms_lock_, /*shared=*/false);
  ++prefetches_;
  SvmRange* r = find_range(va);
  const Vma* vma = find_vma(va);
  if (r == nullptr || vma == nullptr) throw InputError("prefetch: no SVM range at " + hex(va));
  if (apu_) loc = wl::SYSMEM;
  if (loc == wl::UNDEFINED) loc = wl::GPU;
  if (!place(t, *r, *vma, 0, r->pages(), loc, MigrateTrigger::kPrefetch)) {
    ++vram_fallbacks_;
    place(t, *r, *vma, 0, r->pages(), wl::SYSMEM, MigrateTrigger::kPrefetch);
  }
  if (trace_ != nullptr) trace_->mapping_started(0, pasid_, r->start, r->end - r->start);
  vm_.map(t, runs(*r, *vma, 0, r->pages()), vma->writable);
  vm_.flush_tlb(t, TlbFlush::kLegacy);
  r->validated_at = sc_core::sc_time_stamp();
}

}  // namespace fl::driver
