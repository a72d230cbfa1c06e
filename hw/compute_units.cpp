#include "hw/compute_units.h"

#include "mmu/translation.h"

namespace fl::hw {

namespace {

// Per-access state carried on the access's transaction.
struct AccessExt : tlm::tlm_extension<AccessExt> {
  void* wave = nullptr;
  uint64_t va = 0;
  bool write = false;
  uint64_t issue_ps = 0;
  uint64_t attempt_ps = 0;
  uint32_t nacks = 0;
  uint64_t first_detect_ps = 0;
  uint64_t first_report = 0;
  uint64_t index = 0;   // in its wave
  uint32_t bytes = 0;
  bool fault_pending = false;  // NACKed, not yet translated
  tlm::tlm_extension_base* clone() const override { return new AccessExt(*this); }
  void copy_from(const tlm::tlm_extension_base& o) override { *this = static_cast<const AccessExt&>(o); }
};
}  // namespace

ComputeUnits::ComputeUnits(sc_core::sc_module_name name, const config::ComputeUnits& cfg,
                           const Clock& clock, uint64_t seed, FaultTrace* trace, mmu::Utcl1& utcl1)
    : sc_module(name),
      mem_out("mem_out", [this](Payload& gp) { on_data(gp); }),
      cfg_(cfg),
      utcl1_(utcl1),
      clock_(clock),
      seed_(seed),
      trace_(trace),
      issue_interval_(clock.cycles(cfg.issue_interval_cycles())),
      retry_interval_(clock.cycles(cfg.retry_interval_cycles())),
      replay_latency_(clock.cycles(cfg.replay_latency_cycles())),
      on_command_(cfg.replay() == config::ComputeUnits::ON_REPLAY_COMMAND),
      queue_("queue") {
  utcl1_.set_responder([this](Payload& gp, const sc_core::sc_time& delay) { on_translation(gp, delay); });
}

std::string ComputeUnits::check_launch(const config::ComputeUnits& cfg_, const KernelSpec& s) {
  if (s.cus == 0 || s.cus > cfg_.count()) {
    return "cus = " + std::to_string(s.cus) + " but the GPU has " + std::to_string(cfg_.count()) +
           " compute units (soc.gpu.cu.count)";
  }
  if (s.waves_per_cu == 0 || s.waves_per_cu > cfg_.max_waves_per_cu()) {
    return "waves_per_cu = " + std::to_string(s.waves_per_cu) + " exceeds " +
           std::to_string(cfg_.max_waves_per_cu()) + " (soc.gpu.cu.max_waves_per_cu)";
  }
  if (s.outstanding_per_wave == 0 || s.outstanding_per_wave > cfg_.max_outstanding_per_wave()) {
    return "outstanding_per_wave = " + std::to_string(s.outstanding_per_wave) + " exceeds " +
           std::to_string(cfg_.max_outstanding_per_wave()) +
           " (soc.gpu.cu.max_outstanding_per_wave)";
  }
  if (s.pattern == wl::POINTER_CHASE) {
    if (s.outstanding_per_wave != 1) {
      return "POINTER_CHASE makes each access depend on the last: outstanding_per_wave must be 1";
    }
    if (s.stride_bytes == 0 || s.footprint_bytes / s.stride_bytes == 0) {
      return "POINTER_CHASE needs footprint_bytes of at least one stride_bytes";
    }
    if (s.footprint_bytes / s.stride_bytes > kMaxChaseSlots) {
      return "POINTER_CHASE visits at most " + std::to_string(kMaxChaseSlots) +
             " slots (footprint_bytes / stride_bytes)";
    }
  }
  return "";
}

void ComputeUnits::launch(const KernelSpec& spec, std::function<void(KernelEnd)> done) {
  ++launched_;
  auto k = std::make_unique<Kernel>();
  k->spec = spec;
  k->done = std::move(done);
  const uint32_t waves = spec.cus * spec.waves_per_cu;
  const uint64_t stream = uint64_t{kernels_.size()} << 32;
  k->waves.reserve(waves);
  k->start_ps = now_ps();
  for (uint32_t i = 0; i < waves; ++i) {
    k->waves.emplace_back(k.get(), i, Rng(seed_, stream | i));
    Wave& w = k->waves.back();
    w.total = spec.source ? spec.source->count(i) : spec.accesses_per_wave;
    if (w.total == 0) ++k->waves_done;
  }
  if (spec.pattern == wl::POINTER_CHASE) {
    // Sattolo's algorithm: a uniformly random permutation that is a single cycle, so a
    // chase visits every slot once before it repeats.
    const uint64_t n = spec.footprint_bytes / spec.stride_bytes;
    k->chase_next.resize(n);
    std::vector<uint32_t> order(n);
    for (uint64_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
    Rng rng(seed_, stream | 0xffffffffULL);
    for (uint64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(i)]);
    for (uint64_t i = 0; i < n; ++i) k->chase_next[order[i]] = order[(i + 1) % n];
    for (Wave& w : k->waves) w.chase_slot = order[(uint64_t{w.index} * n / waves) % n];
  }
  waves_ += waves;
  Kernel* kp = k.get();
  kernels_.push_back(std::move(k));
  if (kp->waves_done == kp->waves.size()) {
    queue_.schedule(sc_core::SC_ZERO_TIME, [kp] {
      kp->ended = true;
      kp->done(KernelEnd::kCompleted);
    });
    return;
  }
  for (Wave& w : kp->waves) pump(w);
}

void ComputeUnits::set_paused(const std::string& kernel, bool paused, bool hold_replays) {
  for (auto& k : kernels_) {
    if (k->spec.name != kernel) continue;
    const bool was_holding = k->paused && k->hold_replays;
    if (k->paused == paused && (!paused || k->hold_replays == hold_replays)) continue;
    k->paused = paused;
    k->hold_replays = hold_replays;
    if (paused && hold_replays) continue;
    if (was_holding) {
      std::vector<Payload*> held;
      held.swap(k->held_replays);
      for (Payload* gp : held) translate(*gp);
    }
    if (!paused) {
      for (Wave& w : k->waves) pump(w);
    }
  }
}

uint64_t ComputeUnits::faults_pending(const std::string& kernel) const {
  uint64_t n = 0;
  for (const auto& k : kernels_) {
    if (k->spec.name == kernel && !k->ended) n += k->fault_pending;
  }
  return n;
}

void ComputeUnits::when_no_fault_pending(const std::string& kernel, std::function<void()> fn) {
  for (auto& k : kernels_) {
    if (k->spec.name == kernel && !k->ended && k->fault_pending > 0) {
      k->on_no_fault_pending.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

void ComputeUnits::fault_resolved(Payload& gp, Kernel& k) {
  AccessExt& a = static_cast<Txn&>(gp).ensure<AccessExt>();
  if (!a.fault_pending) return;
  a.fault_pending = false;
  if (--k.fault_pending > 0) return;
  auto waiters = std::move(k.on_no_fault_pending);
  k.on_no_fault_pending.clear();
  for (auto& fn : waiters) fn();
}

void ComputeUnits::pump(Wave& w) {
  const KernelSpec& s = w.kernel->spec;
  if (w.kernel->paused) return;
  if (w.pump_scheduled || w.halted || w.kernel->killed || w.issued == w.total ||
      w.outstanding >= s.outstanding_per_wave) {
    return;
  }
  const uint64_t now = now_ps();
  uint64_t at = w.next_issue_ps;
  if (s.source) {
    if (!w.has_ahead) {
      w.ahead = s.source->next(w.index, w.issued);
      w.has_ahead = true;
    }
    at = std::max(at, w.kernel->start_ps + w.ahead.issue_after_ps);
  }
  if (now >= at) {
    issue(w);
    w.next_issue_ps = now + issue_interval_.value();
    if (w.issued == w.total || w.outstanding >= s.outstanding_per_wave) return;
    if (s.source) {
      w.ahead = s.source->next(w.index, w.issued);
      w.has_ahead = true;
      at = std::max(w.next_issue_ps, w.kernel->start_ps + w.ahead.issue_after_ps);
    } else {
      at = w.next_issue_ps;
    }
  }
  w.pump_scheduled = true;
  queue_.schedule_at(ps(at), [this, &w] {
    w.pump_scheduled = false;
    pump(w);
  });
}

uint64_t ComputeUnits::next_offset(Wave& w) {
  const KernelSpec& s = w.kernel->spec;
  const uint64_t total_waves = w.kernel->waves.size();
  const uint64_t i = w.issued * total_waves + w.index;
  switch (s.pattern) {
    case wl::STRIDED: return (i * s.stride_bytes) % s.footprint_bytes;
    case wl::RANDOM: return w.rng.below(s.footprint_bytes / s.access_bytes) * s.access_bytes;
    case wl::POINTER_CHASE: {
      const uint64_t slot = w.chase_slot;
      w.chase_slot = w.kernel->chase_next[slot];
      return slot * s.stride_bytes;
    }
    case wl::SEQUENTIAL:
    default: return (i * s.access_bytes) % s.footprint_bytes;
  }
}

void ComputeUnits::issue(Wave& w) {
  const KernelSpec& s = w.kernel->spec;
  uint64_t off;
  uint32_t bytes;
  bool write;
  if (s.source) {
    off = w.ahead.offset_bytes;
    bytes = w.ahead.bytes;
    write = w.ahead.write;
    w.has_ahead = false;
  } else {
    off = next_offset(w);
    bytes = s.access_bytes;
    write = s.write_fraction > 0 && w.rng.unit() < s.write_fraction;
  }
  const uint64_t index = w.issued;
  ++w.issued;
  ++w.outstanding;
  ++w.kernel->in_flight;
  ++in_flight_;

  Txn& t = pool_.acquire();
  AccessExt& a = t.ensure<AccessExt>();
  a = AccessExt{};
  a.wave = &w;
  a.va = s.base_va + off;
  a.write = write;
  a.issue_ps = now_ps();
  a.index = index;
  a.bytes = bytes;
  auto& tr = t.ensure<mmu::TranslationExt>();
  tr.vmid = s.vmid;
  tr.write = write;
  translate(t);
}

void ComputeUnits::translate(Payload& gp) {
  Txn& t = static_cast<Txn&>(gp);
  AccessExt& a = t.ensure<AccessExt>();
  Wave& w = *static_cast<Wave*>(a.wave);
  if (w.kernel->killed) {
    ++dropped_;
    retire(t, w, AccessOutcome::kDropped);
    return;
  }
  t.setup_timing_only(tlm::TLM_IGNORE_COMMAND, a.va, 0);
  t.ensure<mmu::TranslationExt>().reset_response();
  a.attempt_ps = now_ps();
  utcl1_.translate(w.index / w.kernel->spec.waves_per_cu, t);
}

void ComputeUnits::on_translation(Payload& gp, const sc_core::sc_time& delay) {
  Txn& t = static_cast<Txn&>(gp);
  AccessExt& a = t.ensure<AccessExt>();
  const auto& tr = t.ensure<mmu::TranslationExt>();
  Wave& w = *static_cast<Wave*>(a.wave);
  if (tr.status == mmu::TranslationExt::Status::kRetry) {
    ++nacks_;
    if (a.nacks++ == 0) {
      ++faulted_;
      a.first_detect_ps = tr.fault_detect_ps;
      a.first_report = tr.fault_report;
      a.fault_pending = true;
      ++w.kernel->fault_pending;
    }
    if (on_command_) {
      // Replayable fault: parked until the driver's replay command (replay()).
      queue_.schedule(delay, [this, &t] { parked_.push_back(&t); });
      return;
    }
    queue_.schedule(delay + retry_interval_, [this, &t] { replay_one(t); });
    return;
  }
  if (tr.status == mmu::TranslationExt::Status::kFault) {
    // A memory violation without retry: the wave halts; the driver kills the queue.
    ++fatal_;
    w.halted = true;
    retire(t, w, AccessOutcome::kFatal);
    return;
  }
  translation_ns_.sample(static_cast<double>(now_ps() + delay.value() - a.attempt_ps) / 1000.0);
  fault_resolved(gp, *w.kernel);
  if (a.nacks > 0 && trace_ != nullptr) {
    trace_->access_resolved(w.kernel->spec.pasid, a.va, ps(a.first_detect_ps), a.first_report, a.nacks);
  }
  const uint64_t pa = tr.pa;
  const bool system = tr.system;
  if (observer_) observer_(w.kernel->spec.pasid, a.va, pa, system);
  t.setup_timing_only(a.write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND, pa, a.bytes);
  t.ext().system = system;
  mem_out.send(t, delay);
}

void ComputeUnits::on_data(Payload& gp) {
  Txn& t = static_cast<Txn&>(gp);
  AccessExt& a = t.ensure<AccessExt>();
  Wave& w = *static_cast<Wave*>(a.wave);
  ++completed_;
  (a.write ? writes_ : reads_) += 1;
  access_ns_.sample(static_cast<double>(now_ps() - a.issue_ps) / 1000.0);
  retire(t, w, AccessOutcome::kCompleted);
}

void ComputeUnits::retire(Payload& gp, Wave& w, AccessOutcome outcome) {
  if (access_observer_) {
    const AccessExt& a = static_cast<Txn&>(gp).ensure<AccessExt>();
    const Kernel& k = *w.kernel;
    access_observer_(AccessRecord{&k.spec.name, w.index, a.index, a.va - k.spec.base_va, a.bytes, a.write,
                                  a.issue_ps - k.start_ps, now_ps() - a.issue_ps, a.nacks > 0, outcome});
  }
  fault_resolved(gp, *w.kernel);
  gp.release();
  --in_flight_;
  --w.outstanding;
  ++w.done;
  Kernel& k = *w.kernel;
  --k.in_flight;
  if (w.done == w.total && !w.halted) ++k.waves_done;
  if (w.done != w.total) pump(w);
  maybe_end(k);
}

void ComputeUnits::maybe_end(Kernel& k) {
  if (k.ended) return;
  if (k.killed ? k.in_flight == 0 : k.waves_done == k.waves.size()) {
    k.ended = true;
    k.done(k.killed ? KernelEnd::kKilled : KernelEnd::kCompleted);
  }
}

void ComputeUnits::kill(uint8_t vmid) {
  for (const auto& k : kernels_) {
    if (k->ended || k->killed || k->spec.vmid != vmid) continue;
    k->killed = true;
    ++killed_;
    // Parked accesses of a killed kernel are dropped now: no replay will come for them.
    std::vector<Payload*> keep;
    std::vector<Payload*> drop;
    for (Payload* gp : parked_) {
      (static_cast<Wave*>(static_cast<Txn*>(gp)->ensure<AccessExt>().wave)->kernel == k.get() ? drop : keep).push_back(gp);
    }
    parked_.swap(keep);
    for (Payload* gp : drop) translate(*gp);
    maybe_end(*k);
  }
}

void ComputeUnits::replay_one(Payload& gp) {
  Kernel& k = *static_cast<Wave*>(static_cast<Txn&>(gp).ensure<AccessExt>().wave)->kernel;
  if (k.paused && k.hold_replays) {
    k.held_replays.push_back(&gp);
  } else {
    translate(gp);
  }
}

void ComputeUnits::replay() {
  if (!on_command_) return;  // this GPU replays on its retry timer; the command does nothing
  // The accesses parked when the command arrives replay once it has reached every CU.
  auto batch = std::make_shared<std::vector<Payload*>>();
  batch->swap(parked_);
  replayed_.sample(static_cast<double>(batch->size()));
  queue_.schedule(replay_latency_, [this, batch] {
    for (Payload* gp : *batch) replay_one(*gp);
  });
}

}  // namespace fl::hw
