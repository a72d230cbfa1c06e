#include "driver-model/fault_service.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "driver-model/irq.h"
#include "mmu/fault_report.h"
#include "sim/core/time.h"

namespace fl::driver {

namespace {
constexpr uint64_t kBlockBytes = 2ULL << 20;
sc_core::sc_time now() { return sc_core::sc_time_stamp(); }
}  // namespace

std::unique_ptr<FaultService> FaultService::make(const config::IrqHandling& cfg, FaultHandler& handler,
                                                 BatchStats& stats) {
  if (cfg.fault_service() == config::IrqHandling::BATCHED) return std::make_unique<BatchedService>(cfg, handler, stats);
  return std::make_unique<PerEntryService>(cfg.entries_per_pass());
}

// ------------------------------------------------------------------------- per entry

void PerEntryService::drain(DriverThread& t, FaultRing& ring) {
  for (;;) {
    // amdgpu_ih_process: the entries up to the WPTR seen when the pass starts, at most
    // AMDGPU_IH_MAX_NUM_IVS - 1 of them, then RPTR.
    const uint64_t n = std::min<uint64_t>(ring.available(), per_pass_ - 1);
    for (uint64_t i = 0; i < n; ++i) {
      if (const auto f = ring.read(t)) ring.handle_one(t, *f);
    }
    ring.write_rptr(t);
    if (ring.available() == 0) return;
  }
}

// ------------------------------------------------------------------------- batched

BatchPlan plan_batch(const std::vector<FetchedFault>& batch) {
  BatchPlan plan;
  plan.write.assign(batch.size(), false);
  std::vector<size_t> order(batch.size());
  std::iota(order.begin(), order.end(), 0);
  const auto key = [&](size_t i) {
    const hw::IhEntry& e = batch[i].entry;
    return std::make_pair(e.pasid, mmu::fault_address(e.src_data));
  };
  // Stable: of duplicates, the earliest entry is the one kept.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  size_t kept = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    const bool write = mmu::fault_write(batch[i].entry.src_data);
    if (k > 0 && key(i) == key(kept)) {
      plan.duplicates.push_back(i);
      if (write) plan.write[kept] = true;
      continue;
    }
    kept = i;
    plan.write[i] = write;
    const auto [pasid, addr] = key(i);
    if (plan.groups.empty() || key(plan.groups.back().front()).first != pasid ||
        key(plan.groups.back().front()).second / kBlockBytes != addr / kBlockBytes) {
      plan.groups.emplace_back();
    }
    plan.groups.back().push_back(i);
  }
  return plan;
}

BatchedService::BatchedService(const config::IrqHandling& cfg, FaultHandler& handler, BatchStats& stats)
    : cfg_(cfg), handler_(handler), stats_(stats) {}

void BatchedService::drain(DriverThread& t, FaultRing& ring) {
  for (;;) {
    ring.refresh(t);
    const uint64_t avail = ring.available();
    if (avail == 0) break;
    serve_batch(t, ring, std::min<uint64_t>(avail, cfg_.batch_max_entries()));
  }
  if (cfg_.replay_policy() == config::IrqHandling::ONCE && replay_owed_) {
    replay_owed_ = false;
    ring.replay(t);
  }
}

void BatchedService::serve_batch(DriverThread& t, FaultRing& ring, uint64_t n) {
  using P = config::IrqHandling;
  const sc_core::sc_time start = now();
  // Fetch: the batch is the entries announced when it starts; later ones wait.
  std::vector<FetchedFault> batch;
  batch.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    if (auto f = ring.read(t)) batch.push_back(*f);
  }
  ring.write_rptr(t);
  ++stats_.batches_;
  stats_.entries_.sample(static_cast<double>(n));
  const sc_core::sc_time fetched = now();
  stats_.fetch_ns_.sample(to_ns(fetched - start));

  // Sort by (PASID, page), then one pass drops duplicates and cuts groups.
  const double m = static_cast<double>(batch.size());
  if (batch.size() > 1) t.compute_ns(cfg_.sort_compare_ns() * (m * std::ceil(std::log2(m)) + m));
  const BatchPlan plan = plan_batch(batch);
  const sc_core::sc_time sorted = now();
  stats_.sort_ns_.sample(to_ns(sorted - fetched));
  stats_.duplicates_ += plan.duplicates.size();
  for (size_t i : plan.duplicates) ring.outcome(batch[i], Outcome::kDuplicate);
  stats_.unique_.sample(static_cast<double>(batch.size() - plan.duplicates.size()));
  stats_.groups_.sample(static_cast<double>(plan.groups.size()));

  // Service each block once.
  for (const std::vector<size_t>& g : plan.groups) {
    std::vector<RetryFault> faults;
    faults.reserve(g.size());
    for (size_t i : g) {
      const hw::IhEntry& e = batch[i].entry;
      ring.handler_start(batch[i]);
      RetryFault f;
      f.pasid = e.pasid;
      f.vmid = e.vmid;
      f.page_addr = mmu::fault_address(e.src_data);
      f.write = plan.write[i];
      f.timestamp = e.timestamp;
      f.report = batch[i].report;
      faults.push_back(f);
    }
    handler_.handle_fault_group(t, faults);
    for (size_t i : g) ring.ack(t, batch[i].entry);
    if (cfg_.replay_policy() == P::AFTER_BLOCK) ring.replay(t);
  }
  for (size_t i : plan.duplicates) ring.ack(t, batch[i].entry);
  const sc_core::sc_time serviced = now();
  stats_.service_ns_.sample(to_ns(serviced - sorted));

  switch (cfg_.replay_policy()) {
    case P::AFTER_BATCH_FLUSH: {
      // Drop what is known to have arrived during the batch (up to the cached WPTR: UVM's
      // flush with the cached PUT); those accesses replay now with the others.
      const uint64_t stale = ring.available();
      for (uint64_t i = 0; i < stale; ++i) {
        if (const auto f = ring.read(t)) {
          ++stats_.flushed_;
          ring.outcome(*f, Outcome::kFiltered);
          ring.ack(t, f->entry);
        }
      }
      if (stale > 0) ring.write_rptr(t);
      ring.replay(t);
      break;
    }
    case P::AFTER_BATCH: ring.replay(t); break;
    case P::ONCE: replay_owed_ = true; break;
    case P::TIMER: ring.replay_after(cfg_.replay_period_ns()); break;
    case P::AFTER_BLOCK:
    case P::NONE:
    default: break;
  }
  stats_.replay_ns_.sample(to_ns(now() - serviced));
  stats_.batch_ns_.sample(to_ns(now() - start));
  if (tl_ != nullptr) {
    tl_->slice("batch", start.value(), now().value(),
               TimelineArgs().num("entries", n).num("groups", plan.groups.size()).num("duplicates", plan.duplicates.size()));
  }
}

}  // namespace fl::driver
