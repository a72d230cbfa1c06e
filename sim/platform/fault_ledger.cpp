#include "sim/platform/fault_ledger.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "sim/core/time.h"

namespace fl::platform {

namespace {
int64_t now_signed_ps() { return static_cast<int64_t>(fl::now_ps()); }
constexpr int kDetect = 0;
int slot_of(Milestone m) { return static_cast<int>(m) + 1; }

struct PhaseInfo {
  const char* name;
  const char* desc;
};
const PhaseInfo kPhaseInfo[FaultLedger::kPhases] = {
    {"report_wait_ns", "Before the serviced report was raised (non-zero when this access's own report was dropped or merged into a later one)"},
    {"ih_delivery_ns", "IH delivery: report detected to the host seeing its IH entry (IH processing, ring write, WPTR write-back, MSI over the link)"},
    {"isr_ns", "Interrupt handler: entry seen to filtered and delegated to ih_soft"},
    {"queueing_ns", "Handler queueing: waiting in ih_soft and for the worker to wake and take it"},
    {"lookup_ns", "svm_range_restore_pages up to the location decision (range lookup or creation, checks)"},
    {"migration_ns", "Migration to VRAM, or collecting and DMA-mapping system pages"},
    {"pte_update_ns", "PTE update: building the copy-engine job to its fence signalling"},
    {"tlb_invalidation_ns", "TLB flush: invalidation request to its acknowledgement"},
    {"replay_ns", "Replay: TLB flush done to the access's replayed translation"},
};
const char* kOutcomeNames[] = {"reports_filtered", "reports_lost", "reports_duplicate",
                               "serviced_migrated", "serviced_mapped", "reports_retried",
                               "reports_failed", "reports_drained"};
const char* kOutcomeDescs[] = {
    "Reports dropped by the interrupt handler's fault filter",
    "Reports lost: overwritten in the IH ring or dropped because ih_soft was full",
    "Reports ignored by the driver: range validated within the duplicate window",
    "Reports serviced by migrating their window to VRAM",
    "Reports serviced by mapping system memory",
    "Reports whose service returned -EAGAIN (range invalidated during it); the access faults again",
    "Reports whose service failed (-EACCES, -EPERM, -EFAULT): a no-retry PTE makes the replay fatal",
    "Reports dropped because the process was draining retry faults after an munmap",
};
}  // namespace

const std::array<const char*, FaultLedger::kPhases> FaultLedger::kPhaseNames = {
    "report_wait", "ih_delivery", "isr", "queueing", "lookup",
    "migration", "pte_update", "tlb_invalidation", "replay"};

FaultLedger::FaultLedger(sc_core::sc_module_name name) : sc_module(name) {
  for (const auto& p : kPhaseInfo) {
    phases_.push_back(std::make_unique<stats::Histogram>(stats_, std::string("phase.") + p.name, "ns", p.desc));
  }
  for (int i = 0; i < static_cast<int>(Outcome::kCount); ++i) {
    outcome_counters_.push_back(std::make_unique<stats::Counter>(stats_, kOutcomeNames[i], "count", kOutcomeDescs[i]));
  }
}

void FaultLedger::set_timeline(Timeline* t) {
  timeline_ = t;
  access_lanes_ = std::make_unique<TimelineLanes>(*t, "faulted access", timeline_sort::kFaultedAccess);
  service_lanes_ = std::make_unique<TimelineLanes>(*t, "fault service", timeline_sort::kFaultService);
}

namespace {
std::string hex_arg(const char* key, uint64_t v) {
  char b[64];
  std::snprintf(b, sizeof b, "\"%s\":\"0x%llx\"", key, static_cast<unsigned long long>(v));
  return b;
}
}  // namespace

void FaultLedger::draw_service(size_t svc, const Times& t) {
  ServiceTrack& st = service_tracks_[svc];
  if (st.track < 0 || st.drawn) return;
  const int64_t end = t[static_cast<size_t>(slot_of(Milestone::kTlbDone))];
  const auto begin = static_cast<uint64_t>(t[kDetect]);
  timeline_->slice(st.track, "service", begin, static_cast<uint64_t>(end),
                   hex_arg("va", st.va) + "," + hex_arg("bytes", st.len) + ",\"pasid\":" + std::to_string(st.pasid));
  // Its steps: IH delivery, interrupt handler, queueing, lookup, migration, PTE update, TLB
  // flush (the milestones it reached; fault.phase.* names them).
  int64_t prev = t[kDetect];
  for (int m = 1; m < kMilestones; ++m) {
    const int64_t v = t[static_cast<size_t>(m)];
    if (v < 0) continue;
    if (v > prev) timeline_->slice(st.track, kPhaseNames[static_cast<size_t>(m)], static_cast<uint64_t>(prev), static_cast<uint64_t>(v));
    prev = v;
  }
  service_lanes_->release(st.lane, static_cast<uint64_t>(end));
  st.drawn = true;  // its track stays: arrows of accesses resolving later point at its slice
}

uint64_t FaultLedger::fault_detected(uint32_t, uint64_t, bool) {
  ++reports_;
  const uint64_t id = next_id_++;
  Report r;
  r.t.fill(-1);
  r.t[kDetect] = now_signed_ps();
  open_[id] = r;
  return id;
}

void FaultLedger::ih_written(uint64_t id, uint64_t slot_addr) {
  auto it = slots_.find(slot_addr);
  if (it != slots_.end() && it->second != id) outcome(it->second, Outcome::kRingLost);  // overwritten unread
  slots_[slot_addr] = id;
}

uint64_t FaultLedger::ih_read(uint64_t slot_addr) {
  auto it = slots_.find(slot_addr);
  if (it == slots_.end()) return 0;
  const uint64_t id = it->second;
  slots_.erase(it);
  return open_.count(id) != 0 ? id : 0;
}

void FaultLedger::milestone(uint64_t id, Milestone m, const sc_core::sc_time& at) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  Times& t = it->second.t;
  // Milestones are reached in order: never earlier than the one before.
  int64_t floor = t[kDetect];
  for (int i = 1; i < slot_of(m); ++i) floor = std::max(floor, t[static_cast<size_t>(i)]);
  const int64_t v = std::max(floor, static_cast<int64_t>(at.value()));
  t[static_cast<size_t>(slot_of(m))] = v;
  if (it->second.service >= 0) services_[static_cast<size_t>(it->second.service)][static_cast<size_t>(slot_of(m))] = v;
}

void FaultLedger::outcome(uint64_t id, Outcome o) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  ++*outcome_counters_[static_cast<size_t>(o)];
  if (o == Outcome::kMigrated || o == Outcome::kMapped) {
    const Times& t = it->second.t;
    const int64_t done = t[static_cast<size_t>(slot_of(Milestone::kTlbDone))];
    if (done >= 0) service_ns_.sample(static_cast<double>(done - t[kDetect]) / 1000.0);
    if (timeline_ != nullptr && done >= 0 && it->second.service >= 0) {
      draw_service(static_cast<size_t>(it->second.service), services_[static_cast<size_t>(it->second.service)]);
    }
  }
  open_.erase(it);
}

void FaultLedger::mapping_started(uint64_t id, uint32_t pasid, uint64_t va, uint64_t len) {
  Times t;
  const size_t svc = services_.size();
  auto it = open_.find(id);
  if (it != open_.end()) {
    t = it->second.t;
    it->second.service = static_cast<int64_t>(svc);
  } else {
    // Not a fault service (a prefetch): everything before the PTE update happened now.
    t.fill(-1);
    t[static_cast<size_t>(slot_of(Milestone::kMigrateDone))] = now_signed_ps();
  }
  services_.push_back(t);
  if (timeline_ != nullptr) {
    ServiceTrack st;
    if (it != open_.end()) {
      st.track = service_lanes_->take(static_cast<uint64_t>(t[kDetect]), UINT64_MAX, &st.lane);
      st.pasid = pasid;
      st.va = va;
      st.len = len;
    }
    service_tracks_.push_back(st);
  }
  const uint64_t end = va + len;
  // Trim or remove older entries overlapping [va, end). They are disjoint, so only the
  // one starting before va and those starting inside [va, end) can overlap (a walk from
  // the PASID's first entry made this quadratic in the number of mappings).
  auto e = valid_.lower_bound({pasid, va});
  if (e != valid_.begin()) {
    const auto before = std::prev(e);
    if (before->first.first == pasid && before->second.first > va) e = before;
  }
  while (e != valid_.end() && e->first.first == pasid && e->first.second < end) {
    const uint64_t s = e->first.second;
    const uint64_t en = e->second.first;
    if (en <= va) {
      ++e;
      continue;
    }
    const size_t old = e->second.second;
    e = valid_.erase(e);
    if (s < va) valid_[{pasid, s}] = {va, old};
    if (en > end) valid_[{pasid, end}] = {en, old};
  }
  valid_[{pasid, va}] = {end, svc};
}

void FaultLedger::access_resolved(uint32_t pasid, uint64_t va, const sc_core::sc_time& first_detect,
                                  uint64_t, uint32_t nacks) {
  const int64_t begin = static_cast<int64_t>(first_detect.value());
  const int64_t end = now_signed_ps();
  ++count_;
  latency_ns_.sample(static_cast<double>(end - begin) / 1000.0);
  nacks_.sample(nacks);

  const Times* svc = nullptr;
  size_t svc_index = 0;
  auto it = valid_.upper_bound({pasid, va});
  if (it != valid_.begin()) {
    --it;
    if (it->first.first == pasid && va < it->second.first) {
      svc_index = it->second.second;
      svc = &services_[svc_index];
    }
  }
  // Boundaries between phases: the service's milestones, clipped to [begin, end]; a
  // milestone the service did not reach takes the next one's time.
  std::array<int64_t, kMilestones> b{};
  if (svc == nullptr) {
    ++unattributed_;
    b.fill(begin);
  } else {
    int64_t next = end;
    for (int i = kMilestones - 1; i >= 0; --i) {
      const int64_t v = (*svc)[static_cast<size_t>(i)];
      next = v >= 0 ? std::min(v, next) : next;
      b[static_cast<size_t>(i)] = std::clamp(next, begin, end);
    }
  }
  // Phase p spans from edge p-1 to edge p: begin, the eight milestones, end.
  int track = -1;
  if (timeline_ != nullptr) {
    track = access_lanes_->take(static_cast<uint64_t>(begin), static_cast<uint64_t>(end));
    timeline_->slice(track, "fault", static_cast<uint64_t>(begin), static_cast<uint64_t>(end),
                     hex_arg("va", va) + ",\"pasid\":" + std::to_string(pasid) + ",\"nacks\":" + std::to_string(nacks));
  }
  int64_t prev = begin;
  for (int p = 0; p < kPhases; ++p) {
    const int64_t edge = p < kMilestones ? b[static_cast<size_t>(p)] : end;
    phases_[static_cast<size_t>(p)]->sample(static_cast<double>(edge - prev) / 1000.0);
    if (track >= 0 && edge > prev) {
      timeline_->slice(track, kPhaseNames[static_cast<size_t>(p)], static_cast<uint64_t>(prev), static_cast<uint64_t>(edge));
    }
    prev = edge;
  }
  // Arrows: the fault to the service that made its page valid (at the service's start),
  // and the service's TLB flush to the access's replay.
  if (track >= 0 && svc != nullptr && svc_index < service_tracks_.size() && service_tracks_[svc_index].track >= 0) {
    const int st = service_tracks_[svc_index].track;
    const auto svc_begin = static_cast<uint64_t>((*svc)[kDetect]);
    timeline_->flow("fault", track, static_cast<uint64_t>(begin), st, svc_begin);
    const int64_t replay_from = b[static_cast<size_t>(kMilestones - 1)];
    if (replay_from > (*svc)[kDetect]) timeline_->flow("replay", st, static_cast<uint64_t>(replay_from) - 1, track, static_cast<uint64_t>(replay_from));
  }
}

}  // namespace fl::platform
