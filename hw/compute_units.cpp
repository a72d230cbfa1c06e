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
  tlm::tlm_extension_base* clone() const override { return new AccessExt(*this); }
  void copy_from(const tlm::tlm_extension_base& o) override { *this = static_cast<const AccessExt&>(o); }
};
}  // namespace

ComputeUnits::ComputeUnits(sc_core::sc_module_name name, const config::ComputeUnits& cfg,
                           const Clock& clock, uint64_t seed, FaultTrace* trace)
    : sc_module(name),
      tr_out("tr_out", [this](Payload& gp) { on_translation(gp); }),
      mem_out("mem_out", [this](Payload& gp) { on_data(gp); }),
      cfg_(cfg),
      clock_(clock),
      seed_(seed),
      trace_(trace),
      issue_interval_(clock.cycles(cfg.issue_interval_cycles())),
      retry_interval_(clock.cycles(cfg.retry_interval_cycles())),
      queue_("queue") {}

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
  return "";
}

void ComputeUnits::launch(const KernelSpec& spec, std::function<void()> done) {
  ++launched_;
  auto k = std::make_unique<Kernel>();
  k->spec = spec;
  k->done = std::move(done);
  const uint32_t waves = spec.cus * spec.waves_per_cu;
  const uint64_t stream = uint64_t{kernels_.size()} << 32;
  k->waves.reserve(waves);
  for (uint32_t i = 0; i < waves; ++i) {
    k->waves.push_back(Wave{k.get(), i, Rng(seed_, stream | i)});
  }
  waves_ += waves;
  Kernel* kp = k.get();
  kernels_.push_back(std::move(k));
  if (spec.accesses_per_wave == 0) {
    queue_.schedule(sc_core::SC_ZERO_TIME, [kp] { kp->done(); });
    return;
  }
  for (Wave& w : kp->waves) pump(w);
}

void ComputeUnits::set_paused(const std::string& kernel, bool paused) {
  for (auto& k : kernels_) {
    if (k->spec.name != kernel || k->paused == paused) continue;
    k->paused = paused;
    if (paused) continue;
    std::vector<Payload*> held;
    held.swap(k->held_replays);
    for (Payload* gp : held) translate(*gp);
    for (Wave& w : k->waves) pump(w);
  }
}

void ComputeUnits::pump(Wave& w) {
  const KernelSpec& s = w.kernel->spec;
  if (w.kernel->paused) return;
  if (w.pump_scheduled || w.issued == s.accesses_per_wave || w.outstanding >= s.outstanding_per_wave) {
    return;
  }
  const uint64_t now = now_ps();
  if (now >= w.next_issue_ps) {
    issue(w);
    w.next_issue_ps = now + issue_interval_.value();
    if (w.issued == s.accesses_per_wave || w.outstanding >= s.outstanding_per_wave) return;
  }
  w.pump_scheduled = true;
  queue_.schedule_at(ps(w.next_issue_ps), [this, &w] {
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
    case wl::SEQUENTIAL:
    default: return (i * s.access_bytes) % s.footprint_bytes;
  }
}

void ComputeUnits::issue(Wave& w) {
  const KernelSpec& s = w.kernel->spec;
  const uint64_t off = next_offset(w);
  const bool write = s.write_fraction > 0 && w.rng.unit() < s.write_fraction;
  ++w.issued;
  ++w.outstanding;
  ++in_flight_;

  Txn& t = pool_.acquire();
  AccessExt& a = t.ensure<AccessExt>();
  a = AccessExt{};
  a.wave = &w;
  a.va = s.base_va + off;
  a.write = write;
  a.issue_ps = now_ps();
  auto& tr = t.ensure<mmu::TranslationExt>();
  tr.vmid = s.vmid;
  tr.pasid = s.pasid;
  tr.write = write;
  translate(t);
}

void ComputeUnits::translate(Payload& gp) {
  Txn& t = static_cast<Txn&>(gp);
  AccessExt& a = t.ensure<AccessExt>();
  t.setup_timing_only(tlm::TLM_IGNORE_COMMAND, a.va, 0);
  t.ensure<mmu::TranslationExt>().reset_response();
  a.attempt_ps = now_ps();
  tr_out.send(t);
}

void ComputeUnits::on_translation(Payload& gp) {
  Txn& t = static_cast<Txn&>(gp);
  AccessExt& a = t.ensure<AccessExt>();
  const auto& tr = t.ensure<mmu::TranslationExt>();
  const Wave& w = *static_cast<Wave*>(a.wave);
  if (tr.status == mmu::TranslationExt::Status::kRetry) {
    ++nacks_;
    if (a.nacks++ == 0) {
      ++faulted_;
      a.first_detect_ps = tr.fault_detect_ps;
      a.first_report = tr.fault_report;
    }
    queue_.schedule(retry_interval_, [this, &t] {
      Kernel& k = *static_cast<Wave*>(t.ensure<AccessExt>().wave)->kernel;
      if (k.paused) {
        k.held_replays.push_back(&t);
      } else {
        translate(t);
      }
    });
    return;
  }
  translation_ns_.sample(static_cast<double>(now_ps() - a.attempt_ps) / 1000.0);
  if (a.nacks > 0 && trace_ != nullptr) {
    trace_->access_resolved(w.kernel->spec.pasid, a.va, ps(a.first_detect_ps), a.first_report, a.nacks);
  }
  const uint64_t pa = tr.pa;
  const bool system = tr.system;
  t.setup_timing_only(a.write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND, pa,
                      w.kernel->spec.access_bytes);
  t.ext().system = system;
  mem_out.send(t);
}

void ComputeUnits::on_data(Payload& gp) {
  Txn& t = static_cast<Txn&>(gp);
  AccessExt& a = t.ensure<AccessExt>();
  Wave& w = *static_cast<Wave*>(a.wave);
  ++completed_;
  (a.write ? writes_ : reads_) += 1;
  access_ns_.sample(static_cast<double>(now_ps() - a.issue_ps) / 1000.0);
  t.release();
  --in_flight_;
  --w.outstanding;
  ++w.done;
  Kernel& k = *w.kernel;
  if (w.done == k.spec.accesses_per_wave) {
    if (++k.waves_done == k.waves.size()) k.done();
    return;
  }
  pump(w);
}

}  // namespace fl::hw
