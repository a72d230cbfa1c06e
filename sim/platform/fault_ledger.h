// The fault ledger: SystemC module "fault", owner of the headline fault.* stats.
//
// It follows every fault report from the UTCL2 walk that raised it, through the IH ring
// and the driver, to its outcome, recording the milestones of sim/core/fault_trace.h.
// When a faulted access finally translates, its latency (first NACK's detection to the
// replayed translation) is split into phases using the milestones of the service that made
// its page valid: first the time before that service's report was raised (non-zero when
// the access's own report was filtered or merged), then IH delivery, interrupt handler,
// handler queueing, lookup, migration or mapping, PTE update, TLB invalidation and
// replay. Milestones are clipped to the access's own interval, so the phases of every
// faulted access add up exactly to its latency. A service is recorded when it starts
// writing PTEs (an access may translate as soon as its PTE lands, before the fence or the
// TLB flush); milestones it reaches later are added to it, and milestones not reached when
// an access resolves count as reached at that moment.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>
#include <systemc>

#include "sim/core/fault_trace.h"
#include "sim/core/stats.h"
#include "sim/core/timeline.h"

namespace fl::platform {

class FaultLedger : public sc_core::sc_module, public FaultTrace {
 public:
  static constexpr int kPhases = 9;
  static const std::array<const char*, kPhases> kPhaseNames;

  explicit FaultLedger(sc_core::sc_module_name name);

  uint64_t fault_detected(uint32_t pasid, uint64_t va, bool write) override;
  void ih_written(uint64_t id, uint64_t slot_addr) override;
  uint64_t ih_read(uint64_t slot_addr) override;
  void milestone(uint64_t id, Milestone m, const sc_core::sc_time& at) override;
  void outcome(uint64_t id, Outcome o) override;
  void mapping_started(uint64_t id, uint32_t pasid, uint64_t va, uint64_t len) override;
  void access_resolved(uint32_t pasid, uint64_t va, const sc_core::sc_time& first_detect,
                       uint64_t first_report, uint32_t nacks) override;

  // Draw every faulted access (a slice per phase, on lanes "faulted access N") and every
  // fault service (report to TLB flush, on lanes "fault service N") on `t`, with flow arrows
  // from an access's fault to the service that made its page valid and from that service to
  // the access's replay. Services still running at the end of the run are not drawn.
  void set_timeline(Timeline* t);

  const stats::Counter& count() const { return count_; }
  const stats::Histogram& latency() const { return latency_ns_; }
  const stats::Histogram& phase(int i) const { return *phases_[static_cast<size_t>(i)]; }
  uint64_t reports() const { return reports_.value(); }
  uint64_t outcomes(Outcome o) const { return outcome_counters_[static_cast<size_t>(o)]->value(); }

 private:
  static constexpr int kMilestones = static_cast<int>(Milestone::kCount) + 1;  // + detection
  using Times = std::array<int64_t, kMilestones>;  // ps; -1 when not reached
  static_assert(kPhases == kMilestones + 1, "a phase between consecutive milestones");
  struct Report {
    Times t;
    int64_t service = -1;  // index in services_ once its mapping started
  };

  stats::Group stats_;
  std::unordered_map<uint64_t, Report> open_;       // reports not yet closed by an outcome
  std::unordered_map<uint64_t, uint64_t> slots_;    // IH ring slot -> unread report
  std::vector<Times> services_;                     // milestones of services that mapped pages
  // Valid ranges: (pasid, start) -> (end, service index); the latest service wins.
  std::map<std::pair<uint32_t, uint64_t>, std::pair<uint64_t, size_t>> valid_;
  uint64_t next_id_ = 1;

  struct ServiceTrack {
    int track = -1;  // -1: not drawn (a prefetch's mapping, or no timeline)
    size_t lane = 0;
    bool drawn = false;
    uint32_t pasid = 0;
    uint64_t va = 0, len = 0;
  };
  Timeline* timeline_ = nullptr;
  std::unique_ptr<TimelineLanes> access_lanes_, service_lanes_;
  std::vector<ServiceTrack> service_tracks_;  // per services_ entry, with a timeline
  void draw_service(size_t svc, const Times& t);

  stats::Counter count_{stats_, "count", "count", "Faulted accesses: accesses NACKed at least once, counted when their replay translates"};
  stats::Histogram latency_ns_{stats_, "latency_ns", "ns", "Fault latency of an access: the walk detecting its first fault to its replayed translation"};
  std::vector<std::unique_ptr<stats::Histogram>> phases_;
  stats::Counter reports_{stats_, "reports", "count", "Fault reports raised by UTCL2 walks (one IH entry each)"};
  std::vector<std::unique_ptr<stats::Counter>> outcome_counters_;
  stats::Histogram service_ns_{stats_, "service_ns", "ns", "Serviced report: detection to TLB flush acknowledged"};
  stats::Histogram nacks_{stats_, "nacks_per_fault", "count", "NACKs a faulted access received before it translated"};
  stats::Counter unattributed_{stats_, "unattributed", "count", "Faulted accesses whose page was made valid by no recorded service (their latency counts as replay)"};
};

}  // namespace fl::platform
