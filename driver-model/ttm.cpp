#include "driver-model/ttm.h"

#include <algorithm>
#include <stdexcept>

#include "sim/core/time.h"

namespace fl::driver {

namespace {

constexpr uint64_t kPageBytes = 4096;  // a CPU page
uint64_t pages_of(uint64_t bytes) { return (bytes + kPageBytes - 1) / kPageBytes; }

class WaitPolicy : public ShrinkerFencePolicy {
 public:
  const char* name() const override { return "WAIT"; }
};

// Seed 001's proposal: a fence that answers "may deadlock" is not waited for.
class BackOffPolicy : public ShrinkerFencePolicy {
 public:
  const char* name() const override { return "BACK_OFF"; }
  bool skip(const std::vector<std::shared_ptr<DmaFence>>& pending) const override {
    return std::any_of(pending.begin(), pending.end(), [](const auto& f) { return f->may_deadlock(); });
  }
};

// Waits like WAIT; what differs is the hardware (the eviction fence's unmap never needs a
// fault service), which the configuration check guarantees.
class PreemptMidFaultPolicy : public ShrinkerFencePolicy {
 public:
  const char* name() const override { return "PREEMPT_MID_FAULT"; }
};

class PinPolicy : public ShrinkerFencePolicy {
 public:
  const char* name() const override { return "PIN"; }
  bool pins_kfd_bos() const override { return true; }
};

}  // namespace

std::unique_ptr<ShrinkerFencePolicy> make_shrinker_fence_policy(config::Ttm::FencePolicy p) {
  switch (p) {
    case config::Ttm::WAIT: return std::make_unique<WaitPolicy>();
    case config::Ttm::BACK_OFF: return std::make_unique<BackOffPolicy>();
    case config::Ttm::PREEMPT_MID_FAULT: return std::make_unique<PreemptMidFaultPolicy>();
    case config::Ttm::PIN: return std::make_unique<PinPolicy>();
  }
  throw std::logic_error("driver.ttm.fence_policy: unknown value");
}

Ttm::Ttm(sc_core::sc_module_name name, const config::Ttm& cfg, uint64_t host_bytes, hw::HostCpu& cpu,
         QueueEviction& queues, const QueueControl& control)
    : sc_module(name),
      cfg_(cfg),
      policy_(make_shrinker_fence_policy(cfg.fence_policy())),
      cpu_(cpu),
      queues_(queues),
      host_bytes_(host_bytes),
      limit_(host_bytes, cfg.pages_limit_percent()),
      evict_ctx_(std::string(this->name()) + ".eviction_fence") {
  // GTT and system BOs are bounded by the pages limit, not by their managers.
  managers_.push_back(std::make_unique<TtmResourceManager>(TtmDomain::kSystem, host_bytes));
  managers_.push_back(std::make_unique<TtmResourceManager>(TtmDomain::kGtt, host_bytes));
  // The eviction fence signals once the queues are off the GPU: its work is the unmap.
  if (control.node != nullptr) evict_ctx_.add_dependency(control.node);
  if (control.blocked_by_faults) evict_ctx_.set_blocked(control.blocked_by_faults);
  new_eviction_fence();
  SC_THREAD(evict_thread);
  SC_THREAD(restore_thread);
  SC_THREAD(userptr_restore_thread);
}

uint64_t Ttm::host_free_bytes() const {
  const uint64_t used = limit_.used_bytes() + other_bytes_;
  return used >= host_bytes_ ? 0 : host_bytes_ - used;
}

void Ttm::new_eviction_fence() {
  evict_fence_ = DmaFence::create(evict_ctx_);
  // amdkfd_fence_enable_signaling: the first waiter starts the eviction of the process.
  evict_fence_->set_enable_signaling([this] {
    evict_requested_ = true;
    evict_request_.notify(sc_core::SC_ZERO_TIME);
  });
}

bool Ttm::make_room(DriverThread& t, uint64_t bytes, bool tt) {
  const uint64_t free = host_free_bytes();
  uint64_t need = bytes > free ? bytes - free : 0;
  if (tt) need = std::max(need, limit_.over_by(bytes));
  if (need == 0) return true;
  ++reclaims_;
  t.compute_ns(cfg_.reclaim_ns());
  const uint64_t got = shrink(t, need);
  if (got < need) unreclaimed_bytes_ += need - got;
  return host_free_bytes() >= bytes && (!tt || limit_.over_by(bytes) == 0);
}

uint64_t Ttm::shrink(DriverThread& t, uint64_t bytes) {
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  uint64_t freed = 0;
  // One pass over the candidates in eviction order, GTT first (ttm_device_swapout walks the
  // managers; amdgpu's GTT holds most of them). The order is taken up front: the LRU
  // changes as BOs are swapped out.
  std::vector<Bo*> order;
  for (TtmDomain d : {TtmDomain::kGtt, TtmDomain::kSystem}) {
    for (const TtmBo* b : manager(d).lru_order()) order.push_back(&*bos_.at(b->name));
  }
  for (Bo* bo : order) {
    if (freed >= bytes) break;
    if (bo->swapped || !bo->ttm.on_lru) continue;
    ++scanned_;
    t.compute_ns(cfg_.scan_bo_ns());
    if (!bo->resv->lock().try_lock(false)) {
      ++busy_skips_;
      continue;
    }
    const auto pending = bo->resv->pending(DmaResvUsage::kBookkeep);
    if (!pending.empty() && policy_->skip(pending)) {
      ++backoffs_;
      bo->resv->lock().unlock(false);
      continue;
    }
    if (!pending.empty()) {
      const sc_core::sc_time w = sc_core::sc_time_stamp();
      bo->resv->wait(t, DmaResvUsage::kBookkeep, cpu_.lock_wakeup_ns());
      fence_wait_ns_.sample(to_ns(sc_core::sc_time_stamp() - w));
    }
    const uint64_t size = bo->ttm.size_bytes;
    swap_out(t, *bo);
    bo->resv->lock().unlock(false);
    freed += size;
  }
  reclaimed_bytes_ += freed;
  block_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
  return freed;
}

void Ttm::swap_out(DriverThread& t, Bo& bo) {
  // ttm_tt_swapout: the pages are copied to shmem and released.
  t.compute_ns(copy_ns(bo.ttm.size_bytes));
  const TtmDomain d = *bo.ttm.domain;
  (d == TtmDomain::kGtt ? evictions_gtt_ : evictions_system_) += 1;
  if (bo.kfd) {
    ++evictions_kfd_;
    bo.evicted = true;
  }
  evicted_bytes_ += bo.ttm.size_bytes;
  manager(d).free(bo.ttm);
  limit_.unpopulate(bo.ttm.size_bytes);
  bo.swapped = true;
}

bool Ttm::populate(DriverThread& t, Bo& bo) {
  if (!make_room(t, bo.ttm.size_bytes, true)) return false;
  if (!manager(bo.home).alloc(bo.ttm)) return false;
  limit_.populate(bo.ttm.size_bytes);
  if (bo.kfd && policy_->pins_kfd_bos()) manager(bo.home).pin(bo.ttm);
  return true;
}

bool Ttm::create(DriverThread& t, const std::string& name, uint64_t bytes, TtmDomain domain, uint32_t priority, bool kfd) {
  auto bo = std::make_unique<Bo>();
  bo->ttm.id = next_id_++;
  bo->ttm.name = name;
  bo->ttm.size_bytes = bytes;
  bo->ttm.priority = priority;
  bo->ttm.placements = {domain};
  bo->ttm.busy_placements = {domain};
  bo->home = domain;
  bo->kfd = kfd;
  bo->resv = std::make_unique<DmaResv>(std::string(this->name()) + "." + name + ".resv");
  t.compute_ns(cfg_.validate_ns());
  // Registered before populating, so the shrinker it may run sees it as not yet resident.
  Bo& b = *bo;
  bos_[name] = std::move(bo);
  if (!populate(t, b)) {
    ++create_failures_;
    bos_.erase(name);
    return false;
  }
  // Page contents: a fresh BO is cleared by the CPU at the copy rate.
  t.compute_ns(copy_ns(bytes));
  if (kfd) b.resv->add_fence(evict_fence_, DmaResvUsage::kBookkeep);
  ++bos_created_;
  return true;
}

void Ttm::free(DriverThread& t, const std::string& name) {
  if (userptrs_.erase(name) != 0) return;  // unpinned / its notifier removed
  const auto it = bos_.find(name);
  if (it == bos_.end()) return;  // its creation failed (-ENOMEM)
  Bo& bo = *it->second;
  t.lock(bo.resv->lock(), false);
  if (!bo.swapped) {
    if (bo.ttm.pin_count > 0) manager(*bo.ttm.domain).unpin(bo.ttm);
    manager(*bo.ttm.domain).free(bo.ttm);
    limit_.unpopulate(bo.ttm.size_bytes);
  }
  bo.resv->lock().unlock(false);
  bos_.erase(it);
}

bool Ttm::allocate_host(DriverThread& t, uint64_t bytes) {
  if (!make_room(t, bytes, false)) {
    ++alloc_failures_;
    return false;
  }
  other_bytes_ += bytes;
  return true;
}

void Ttm::evict_thread() {
  for (;;) {
    while (!evict_requested_) sc_core::wait(evict_request_);
    evict_requested_ = false;
    DriverThread t(cpu_, hw::WorkClass::kWorker);
    ++fence_evictions_;
    // kgd2kfd_schedule_evict_and_restore_process -> evict_process_worker: the queues stop,
    // then the fence signals and the restore is scheduled.
    queues_.evict(t, EvictTrigger::kTtm);
    process_evicted_ = true;
    evict_fence_->signal();
    t.release();
    restore_request_.notify(from_ns(cfg_.restore_delay_ns()));
  }
}

void Ttm::restore_thread() {
  for (;;) {
    sc_core::wait(restore_request_);
    if (!process_evicted_) continue;
    const sc_core::sc_time start = sc_core::sc_time_stamp();
    DriverThread t(cpu_, hw::WorkClass::kWorker);
    // restore_process_worker: a new eviction fence, every evicted BO validated back (if
    // one does not fit, the whole restore is tried again later), then the queues.
    new_eviction_fence();
    bool ok = true;
    for (auto& [name, bo] : bos_) {
      if (!bo->evicted) continue;
      t.compute_ns(cfg_.validate_ns());
      if (!populate(t, *bo)) {
        ok = false;
        break;
      }
      t.compute_ns(copy_ns(bo->ttm.size_bytes));
      restored_bytes_ += bo->ttm.size_bytes;
      bo->swapped = false;
      bo->evicted = false;
    }
    if (!ok) {
      ++restore_retries_;
      t.release();
      restore_request_.notify(from_ns(cfg_.restore_delay_ns()));
      continue;
    }
    for (auto& [name, bo] : bos_) {
      if (bo->kfd) bo->resv->add_fence(evict_fence_, DmaResvUsage::kBookkeep);
    }
    queues_.restore(t);
    process_evicted_ = false;
    t.release();
    restore_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
  }
}

void Ttm::create_userptr(DriverThread& t, const std::string& name, uint64_t va, uint64_t bytes) {
  t.compute_ns(cfg_.validate_ns());
  const uint64_t pages = pages_of(bytes);
  if (mmap_lock_ != nullptr) t.lock(*mmap_lock_, true);
  t.compute_ns(cfg_.userptr_pages_ns() * static_cast<double>(pages));
  if (mmap_lock_ != nullptr) mmap_lock_->unlock(true);
  userptr_pages_ += pages;
  userptrs_[name] = Userptr{va, bytes, true};
  ++userptr_bos_;
}

void Ttm::on_invalidate(const NotifyRange& r, DriverThread* t) {
  // PINNED: no interval notifier was registered; the pinned pages stay where they are.
  if (cfg_.userptr() == config::Ttm::PINNED || r.end_phase || t == nullptr) return;
  bool hit = false;
  for (auto& [name, u] : userptrs_) {
    if (r.start < u.va + u.bytes && u.va < r.end) {
      u.valid = false;
      hit = true;
    }
  }
  if (!hit) return;
  ++userptr_invalidations_;
  if (userptr_evicted_) return;  // already evicted: the restore worker will see this BO too
  userptr_evicted_ = true;
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  // kgd2kfd_quiesce_mm: the notifier returns once the queues are off the GPU.
  queues_.evict(*t, EvictTrigger::kUserptr);
  userptr_block_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
  userptr_restore_.notify(from_ns(cfg_.userptr_restore_delay_ns()));
}

void Ttm::userptr_restore_thread() {
  for (;;) {
    sc_core::wait(userptr_restore_);
    if (!userptr_evicted_) continue;
    DriverThread t(cpu_, hw::WorkClass::kWorker);
    // restore_userptr_worker: the invalidated BOs' pages again (hmm_range_fault under
    // mmap_lock for reading), then kgd2kfd_resume_mm.
    uint64_t pages = 0;
    for (auto& [name, u] : userptrs_) {
      if (!u.valid) pages += pages_of(u.bytes);
    }
    if (mmap_lock_ != nullptr) t.lock(*mmap_lock_, true);
    t.compute_ns(cfg_.validate_ns() + cfg_.userptr_pages_ns() * static_cast<double>(pages));
    if (mmap_lock_ != nullptr) mmap_lock_->unlock(true);
    for (auto& [name, u] : userptrs_) u.valid = true;
    userptr_pages_ += pages;
    ++userptr_restores_;
    userptr_evicted_ = false;
    queues_.restore(t);
    t.release();
  }
}

}  // namespace fl::driver
