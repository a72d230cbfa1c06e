#include "hw/command_processor.h"

#include <algorithm>
#include <utility>

#include "sim/core/errors.h"
#include "sim/core/time.h"

namespace fl::hw {

// ------------------------------------------------------------------------- policies

CwsrPreemption::CwsrPreemption(const config::CommandProcessor& cfg, double vram_gb_per_s)
    : per_wave_ns_(cfg.cwsr_per_wave_ns()),
      register_gb_per_s_(std::min(cfg.cwsr_register_gb_per_s(), vram_gb_per_s)),
      lds_gb_per_s_(std::min(cfg.cwsr_lds_gb_per_s(), vram_gb_per_s)) {}

sc_core::sc_time CwsrPreemption::save_time(const Residency& r) const {
  return from_ns(per_wave_ns_ * static_cast<double>(r.waves)) +
         transfer_time(r.register_bytes(), register_gb_per_s_) +
         transfer_time(r.lds_bytes, lds_gb_per_s_);
}

sc_core::sc_time WaveResetPreemption::save_time(const Residency& r) const {
  return r.waves > 0 ? from_ns(reset_ns_) : sc_core::SC_ZERO_TIME;
}

std::unique_ptr<PreemptionPolicy> PreemptionPolicy::make(const config::CommandProcessor& cfg,
                                                         double vram_gb_per_s) {
  switch (cfg.preemption_mode()) {
    case config::CommandProcessor::WAVE_DRAIN: return std::make_unique<WaveDrainPreemption>();
    case config::CommandProcessor::WAVE_RESET:
      return std::make_unique<WaveResetPreemption>(cfg.wave_reset_ns());
    case config::CommandProcessor::CWSR:
    default: return std::make_unique<CwsrPreemption>(cfg, vram_gb_per_s);
  }
}

// ------------------------------------------------------------------------- scheduler

CommandProcessor::CommandProcessor(sc_core::sc_module_name name,
                                   const config::CommandProcessor& cfg,
                                   const config::ComputeUnits& cu_cfg, double vram_gb_per_s,
                                   ComputeUnits& cu)
    : sc_module(name),
      cfg_(cfg),
      policy_(PreemptionPolicy::make(cfg, vram_gb_per_s)),
      cu_(cu),
      events_("events") {
  res_ = resources(cfg, cu_cfg);
}

CuResources CommandProcessor::resources(const config::CommandProcessor& cfg,
                                        const config::ComputeUnits& cu) {
  CuResources r;
  r.cus = cu.count();
  r.max_waves_per_cu = cu.max_waves_per_cu();
  r.wave_lanes = cfg.wave_lanes();
  r.vgpr_bytes_per_cu = cfg.cu_vgpr_bytes();
  r.sgpr_bytes_per_cu = cfg.cu_sgpr_bytes();
  r.lds_bytes_per_cu = cfg.cu_lds_bytes();
  r.hwreg_bytes_per_wave = cfg.wave_hwreg_bytes();
  return r;
}

void CommandProcessor::set_timeline(Timeline* t) {
  tl_ = t;
  // A queue's state at the end of the run is drawn up to the end.
  t->at_finish([this] {
    for (size_t i = 0; i < queues_.size(); ++i) tl_enter(i, nullptr);
  });
}

void CommandProcessor::tl_enter(QueueId id, const char* state, const std::string& open_args, const std::string& close_args) {
  Queue& q = queues_[id];
  const uint64_t now = now_ps();
  if (q.tl_state != nullptr && now > q.tl_since_ps) {
    while (tl_tracks_.size() <= id) {
      const size_t n = tl_tracks_.size();
      tl_tracks_.push_back(std::make_unique<TimelineTrack>(*tl_, std::string(name()) + ".queue " + queues_[n].name,
                                                           timeline_sort::kQueue + static_cast<int>(n)));
    }
    std::string args = q.tl_args;
    if (!close_args.empty()) args += (args.empty() ? "" : ",") + close_args;
    tl_tracks_[id]->slice(q.tl_state, q.tl_since_ps, now, args);
  }
  q.tl_state = state;
  q.tl_since_ps = now;
  q.tl_args = open_args;
}

CommandProcessor::QueueId CommandProcessor::queue(const std::string& name) {
  const auto it = by_name_.find(name);
  if (it != by_name_.end()) return it->second;
  queues_.push_back(Queue{});
  queues_.back().name = name;
  by_name_[name] = queues_.size() - 1;
  return queues_.size() - 1;
}

bool CommandProcessor::idle() const {
  for (const Queue& q : queues_) {
    if (q.state == State::kMapping || q.state == State::kUnmapping) return false;
    if (!q.pending.empty() && !q.evicted) return false;
  }
  return true;
}

Residency CommandProcessor::resident(const Queue& q) const {
  Residency r;
  for (const Running& k : q.kernels) r += k.state;
  return r;
}

uint32_t CommandProcessor::busy_slots() const {
  uint32_t n = 0;
  for (const Queue& q : queues_) n += q.state != State::kUnmapped ? 1 : 0;
  return n;
}

void CommandProcessor::set_paused(Queue& q, bool paused, bool hold_replays) {
  if (q.paused == paused && (!paused || q.hold_replays == hold_replays)) return;
  q.paused = paused;
  q.hold_replays = hold_replays;
  for (const Running& k : q.kernels) cu_.set_paused(k.kernel, paused, hold_replays);
}

void CommandProcessor::dispatch(QueueId id, const KernelSpec& spec, const KernelDescriptor& d,
                                std::function<void(KernelEnd)> done, std::function<void()> accepted) {
  Queue& q = queues_[id];
  q.pending.push_back(Pending{spec, d, std::move(done), std::move(accepted)});
  if (q.state == State::kMapped) {
    start_kernels(id);
    return;
  }
  if (!q.evicted) want_slot(id);
  // Waiting for a slot (or evicted): the submitter does not wait for the slot.
  Queue& q2 = queues_[id];
  if (q2.in_runlist || q2.evicted) {
    for (Pending& p : q2.pending) {
      if (p.accepted) std::exchange(p.accepted, nullptr)();
    }
  }
}

void CommandProcessor::start_kernels(QueueId id) {
  while (!queues_[id].pending.empty()) {
    Queue& q = queues_[id];
    Pending p = std::move(q.pending.front());
    q.pending.pop_front();
    ++dispatches_;
    q.kernels.push_back(Running{p.spec.name, residency(p.desc, res_)});
    auto done = std::move(p.done);
    cu_.launch(p.spec, [this, id, name = p.spec.name, done = std::move(done)](KernelEnd end) {
      kernel_done(id, name);
      done(end);
    });
    if (p.accepted) p.accepted();
  }
}

void CommandProcessor::kernel_done(QueueId id, const std::string& kernel) {
  Queue& q = queues_[id];
  q.kernels.erase(std::remove_if(q.kernels.begin(), q.kernels.end(),
                                 [&](const Running& r) { return r.kernel == kernel; }),
                  q.kernels.end());
  // A draining unmap finishes when the last kernel does.
  if (q.state == State::kUnmapping && policy_->drains() && q.kernels.empty()) {
    ++q.drain_token;
    events_.schedule(from_ns(cfg_.unmap_queues_ns()),
                     [this, id, waves = q.unmap_waves] { finish_unmap(id, false, waves, 0); });
    return;
  }
  // An idle queue gives its slot to one that waits.
  if (q.state == State::kMapped && q.kernels.empty() && q.pending.empty() && !runlist_.empty()) {
    unmap(id);
  }
}

void CommandProcessor::want_slot(QueueId id) {
  Queue& q = queues_[id];
  if (q.state != State::kUnmapped || q.in_runlist) return;
  q.in_runlist = true;
  q.request_ps = now_ps();
  if (tl_ != nullptr) tl_enter(id, "waiting");
  runlist_.push_back(id);
  fill_slots();
}

void CommandProcessor::fill_slots() {
  while (!runlist_.empty() && busy_slots() < cfg_.hw_queue_slots()) {
    const QueueId id = runlist_.front();
    runlist_.pop_front();
    queues_[id].in_runlist = false;
    map(id);
  }
  if (runlist_.empty()) return;
  // Every slot is busy: an idle queue leaves at once, otherwise time-slice.
  for (size_t i = 0; i < queues_.size(); ++i) {
    Queue& q = queues_[i];
    if (q.state == State::kMapped && q.kernels.empty() && q.pending.empty()) {
      unmap(i);
      return;
    }
  }
  arm_time_slice();
}

void CommandProcessor::map(QueueId id) {
  Queue& q = queues_[id];
  q.state = State::kMapping;
  slot_wait_ns_.sample(static_cast<double>(now_ps() - q.request_ps) / 1000.0);
  max_mapped_.set_max(busy_slots());
  sc_core::sc_time t = from_ns(cfg_.map_queues_ns());
  if (q.saved) t += policy_->restore_time(q.saved_state);
  if (tl_ != nullptr) {
    tl_enter(id, q.saved ? "cwsr_restore" : "mapping",
             q.saved ? TimelineArgs().num("waves", q.saved_state.waves).num("restore_bytes", q.saved_state.state_bytes()).get() : "");
  }
  events_.schedule(t, [this, id] { mapped(id); });
}

void CommandProcessor::mapped(QueueId id) {
  Queue& q = queues_[id];
  ++maps_;
  q.state = State::kMapped;
  if (tl_ != nullptr) tl_enter(id, "running");
  q.mapped_at_ps = now_ps();
  if (q.saved) {
    preempt_.restored_bytes += q.saved_state.state_bytes();
    q.saved = false;
  }
  set_paused(q, false);
  if (q.switch_start_ps != 0) {
    switch_ns_.sample(static_cast<double>(now_ps() - q.switch_start_ps) / 1000.0);
    q.switch_start_ps = 0;
  }
  const double took = static_cast<double>(now_ps() - q.restore_ps) / 1000.0;
  auto waiters = std::move(q.on_mapped);
  q.on_mapped.clear();
  for (auto& w : waiters) {
    preempt_.restore_ns.sample(took);
    w(took);
  }
  start_kernels(id);
  if (queues_[id].evicted) {
    unmap(id);  // evicted while it was being mapped
    return;
  }
  arm_time_slice();
}

void CommandProcessor::unmap(QueueId id) {
  Queue& q = queues_[id];
  if (q.state != State::kMapped) return;
  q.state = State::kUnmapping;
  if (q.unmap_ps == 0) q.unmap_ps = now_ps();
  const Residency r = resident(q);
  q.unmap_waves = r.waves;
  if (tl_ != nullptr) {
    // The preemption is named by the mode that pays for it; with no waves resident it is
    // only the unmap.
    const char* what = r.waves == 0 ? "unmapping" : policy_->drains() ? "wave_drain" : policy_->saves() ? "cwsr_save" : "wave_reset";
    tl_enter(id, what, TimelineArgs().str("by", q.evicted ? "driver" : "scheduler").num("waves", r.waves));
  }
  if (r.waves == 0) {
    events_.schedule(from_ns(cfg_.unmap_queues_ns()), [this, id] { finish_unmap(id, false, 0, 0); });
    return;
  }
  ++preempt_.count;
  preempt_.waves += r.waves;
  if (cfg_.unmap_hangs()) {
    // Fault injection: the firmware stops mid-preemption; nothing completes the unmap.
    set_paused(q, true);
    ++preempt_.hangs;
    return;
  }
  const uint64_t token = ++q.drain_token;
  const sc_core::sc_time timeout = from_ns(cfg_.preemption_timeout_ns());
  if (policy_->drains()) {
    // The kernels run on; the last one to finish completes the unmap (kernel_done).
  } else if (!cfg_.preempt_with_fault_pending() && faults_pending(q) > 0) {
    // The waves stop issuing, their faulted accesses keep replaying, and the save or reset
    // starts once the last is serviced (or the timeout below resets the queue first).
    ++preempt_.fault_waits;
    set_paused(q, true, false);
    q.awaiting_faults = true;
    ++fault_waits_in_progress_;
    await_faults(id, r, token, now_ps());
    // A new edge unmap -> fault service may close a cycle of waits already begun.
    if (q.awaiting_faults) Waits::recheck();
  } else {
    preempt_waves(id, r, token, now_ps());
    if (from_ns(cfg_.unmap_queues_ns()) + policy_->save_time(r) <= timeout) return;
  }
  events_.schedule(timeout, [this, id, token, r] {
    Queue& qq = queues_[id];
    if (qq.drain_token != token || qq.state != State::kUnmapping) return;
    // The waves did not drain or save in time: the queue is reset (the driver's
    // preemption-timeout path).
    ++preempt_.timeouts;
    stop_awaiting_faults(qq);
    set_paused(qq, true);
    finish_unmap(id, true, r.waves, 0);
  });
}

void CommandProcessor::await_faults(QueueId id, const Residency& r, uint64_t token, uint64_t since_ps) {
  Queue& q = queues_[id];
  if (q.drain_token != token || q.state != State::kUnmapping) {
    stop_awaiting_faults(q);
    return;
  }
  for (const Running& k : q.kernels) {
    if (cu_.faults_pending(k.kernel) > 0) {
      cu_.when_no_fault_pending(k.kernel, [this, id, r, token, since_ps] { await_faults(id, r, token, since_ps); });
      return;
    }
  }
  preempt_.fault_wait_ns.sample(static_cast<double>(now_ps() - since_ps) / 1000.0);
  stop_awaiting_faults(q);
  // Not from inside the callback of the access whose translation cleared the last fault.
  events_.schedule(sc_core::SC_ZERO_TIME, [this, id, r, token, since_ps] { preempt_waves(id, r, token, since_ps); });
}

void CommandProcessor::stop_awaiting_faults(Queue& q) {
  if (!q.awaiting_faults) return;
  q.awaiting_faults = false;
  --fault_waits_in_progress_;
}

bool CommandProcessor::preemption_needs_fault_service() const {
  if (cfg_.preempt_with_fault_pending()) return false;
  return std::any_of(queues_.begin(), queues_.end(), [this](const Queue& q) { return faults_pending(q) > 0; });
}

uint64_t CommandProcessor::faults_pending(const Queue& q) const {
  uint64_t n = 0;
  for (const Running& k : q.kernels) n += cu_.faults_pending(k.kernel);
  return n;
}

void CommandProcessor::preempt_waves(QueueId id, const Residency& r, uint64_t token, uint64_t unmap_start_ps) {
  Queue& q = queues_[id];
  if (q.drain_token != token || q.state != State::kUnmapping) return;
  set_paused(q, true);
  const sc_core::sc_time t = from_ns(cfg_.unmap_queues_ns()) + policy_->save_time(r);
  // The timeout runs from the unmap's start: a save that would end past it is left to it.
  if (now_ps() + t.value() - unmap_start_ps > from_ns(cfg_.preemption_timeout_ns()).value()) return;
  const uint64_t saved = policy_->saves() ? r.state_bytes() : 0;
  if (policy_->saves()) {
    q.saved_state = r;
    preempt_.saved_lds_bytes += r.lds_bytes;
  }
  events_.schedule(t, [this, id, r, saved] { finish_unmap(id, false, r.waves, saved); });
}

void CommandProcessor::finish_unmap(QueueId id, bool timed_out, uint64_t waves, uint64_t saved_bytes) {
  Queue& q = queues_[id];
  ++unmaps_;
  q.state = State::kUnmapped;
  q.saved = saved_bytes > 0;
  if (tl_ != nullptr) {
    const bool more = !q.kernels.empty() || !q.pending.empty() || !q.on_mapped.empty();
    TimelineArgs done;
    done.num("saved_bytes", saved_bytes);
    if (timed_out) done.num("timed_out", 1);
    tl_enter(id, q.evicted ? "evicted" : more ? "waiting" : nullptr, "", done);
  }
  preempt_.saved_bytes += saved_bytes;
  PreemptResult res;
  res.latency_ns = static_cast<double>(now_ps() - q.unmap_ps) / 1000.0;
  q.unmap_ps = 0;
  res.waves = waves;
  res.saved_bytes = saved_bytes;
  res.timed_out = timed_out;
  if (waves > 0) preempt_.latency_ns.sample(res.latency_ns);
  auto waiters = std::move(q.on_unmapped);
  q.on_unmapped.clear();
  for (auto& w : waiters) w(res);
  // A queue with work left (or a restore waiting) that the driver did not evict goes back
  // in the runlist; dispatches waiting for it are accepted now.
  const bool has_work = !q.kernels.empty() || !q.pending.empty() || !q.on_mapped.empty();
  if (!q.evicted && has_work) {
    q.in_runlist = true;
    q.request_ps = now_ps();
    runlist_.push_back(id);
    for (Pending& p : q.pending) {
      if (p.accepted) std::exchange(p.accepted, nullptr)();
    }
  }
  fill_slots();
}

void CommandProcessor::arm_time_slice() {
  if (runlist_.empty()) return;
  uint64_t oldest = ~uint64_t{0};
  for (const Queue& q : queues_) {
    if (q.state == State::kMapped) oldest = std::min(oldest, q.mapped_at_ps);
  }
  if (oldest == ~uint64_t{0}) return;
  const uint64_t at = oldest + from_ns(cfg_.time_slice_ns()).value();
  if (slice_armed_for_ps_ == at) return;
  slice_armed_for_ps_ = at;
  events_.schedule_at(ps(std::max(at, now_ps())), [this, at] {
    if (slice_armed_for_ps_ == at) time_slice();
  });
}

void CommandProcessor::time_slice() {
  slice_armed_for_ps_ = 0;
  if (runlist_.empty()) return;
  QueueId victim = queues_.size();
  for (size_t i = 0; i < queues_.size(); ++i) {
    const Queue& q = queues_[i];
    if (q.state != State::kMapped) continue;
    if (victim == queues_.size() || q.mapped_at_ps < queues_[victim].mapped_at_ps) victim = i;
  }
  if (victim == queues_.size()) return;
  if (now_ps() < queues_[victim].mapped_at_ps + from_ns(cfg_.time_slice_ns()).value()) {
    arm_time_slice();
    return;
  }
  ++time_slices_;
  queues_[runlist_.front()].switch_start_ps = now_ps();
  unmap(victim);
}

// ------------------------------------------------------------------------- driver

void CommandProcessor::evict(QueueId id, std::function<void(const PreemptResult&)> done) {
  Queue& q = queues_[id];
  q.evicted = true;
  if (q.in_runlist) {
    runlist_.erase(std::remove(runlist_.begin(), runlist_.end(), id), runlist_.end());
    q.in_runlist = false;
  }
  switch (q.state) {
    case State::kUnmapped: {
      if (tl_ != nullptr) tl_enter(id, "evicted");
      PreemptResult r;
      done(r);
      return;
    }
    case State::kMapped:
      q.unmap_ps = now_ps();
      q.on_unmapped.push_back(std::move(done));
      unmap(id);
      return;
    case State::kMapping:  // unmapped as soon as the map completes (mapped())
      q.unmap_ps = now_ps();
      q.on_unmapped.push_back(std::move(done));
      return;
    case State::kUnmapping:
      q.on_unmapped.push_back(std::move(done));
      return;
  }
}

void CommandProcessor::restore(QueueId id, std::function<void(double)> done) {
  Queue& q = queues_[id];
  q.evicted = false;
  q.restore_ps = now_ps();
  if (tl_ != nullptr && q.state == State::kUnmapped) tl_enter(id, nullptr);  // no longer evicted
  if (q.state == State::kMapped) {
    done(0);
    return;
  }
  q.on_mapped.push_back(std::move(done));
  if (q.state == State::kUnmapped) want_slot(id);
}

}  // namespace fl::hw
