#include "mmu/utcl1.h"

#include <algorithm>

#include "sim/core/errors.h"

namespace fl::mmu {

namespace {
// Which instance and MSHR a request to UTCL2 belongs to.
struct L1Tag : tlm::tlm_extension<L1Tag> {
  uint32_t instance = 0;
  uint8_t vmid = 0;
  bool write = false;
  uint64_t vpn = 0;
  uint32_t generation = 0;
  uint64_t sent_ps = 0;
  tlm::tlm_extension_base* clone() const override { return new L1Tag(*this); }
  void copy_from(const tlm::tlm_extension_base& o) override { *this = static_cast<const L1Tag&>(o); }
};
}  // namespace

void Utcl1::validate(const config::Utcl1& cfg, const std::string& key) {
  validate_geometry(cfg.entries(), cfg.ways(), static_cast<Replacement>(cfg.replacement()), key);
}

Utcl1::Utcl1(sc_core::sc_module_name name, const config::Utcl1& cfg, const Clock& clock,
             uint32_t compute_units, uint64_t seed)
    : sc_module(name),
      l2_out("l2_out", [this](Payload& gp) { on_l2_response(gp); }),
      cfg_((validate(cfg, this->name()), cfg)),
      clock_(clock),
      cus_per_instance_(cfg.scope() == config::Utcl1::PER_SHADER_ARRAY ? cfg.cus_per_shader_array() : 1),
      lookup_interval_ps_(clock.cycles(1).value() / std::max(1u, cfg.lookups_per_cycle())),
      hit_latency_ps_(clock.cycles(cfg.hit_latency_cycles()).value()),
      l2_latency_(clock.cycles(cfg.l2_request_latency_cycles())) {
  const uint32_t n = (compute_units + cus_per_instance_ - 1) / cus_per_instance_;
  inst_.reserve(n);
  for (uint32_t i = 0; i < n; ++i) inst_.emplace_back(cfg_, seed ^ (0x5a17ULL * (i + 1)));
}

void Utcl1::translate(uint32_t cu, Payload& gp) {
  ++lookups_;
  const uint32_t i = instance_of(cu) % instances();
  Instance& in = inst_[i];
  if (blocked(in) || !in.waiting.empty()) {
    if (blocked(in)) ++blocked_;
    in.waiting.push_back(&gp);
    return;
  }
  lookup(i, gp);
}

void Utcl1::lookup(uint32_t i, Payload& gp) {
  Instance& in = inst_[i];
  auto& tr = *gp.get_extension<TranslationExt>();
  const uint64_t now = now_ps();
  const uint64_t start = std::max(now, in.port_free_ps);
  in.port_free_ps = start + lookup_interval_ps_;
  const uint64_t known_ps = start - now + hit_latency_ps_;
  const uint64_t vpn = gp.get_address() >> kPageShift;
  const TlbEntry* e = in.tlb.lookup(tr.vmid, vpn);
  if (e != nullptr && (!tr.write || e->writeable)) {
    ++hits_;
    tr.status = TranslationExt::Status::kOk;
    tr.pa = (e->translate(vpn) << kPageShift) | (gp.get_address() & (kPageBytes - 1));
    tr.system = e->system;
    tr.writeable = e->writeable;
    tr.log2_pages = e->log2_pages;
    respond_(gp, ps(known_ps));
    return;
  }
  ++misses_;
  const Key key{tr.vmid, tr.write, vpn, generation_[tr.vmid % kVmids]};
  if (Mshr* m = in.mshrs.find(key)) {
    ++merges_;
    m->waiters.push_back(&gp);
    return;
  }
  if (in.mshrs.size() >= cfg_.mshrs()) {
    ++stalls_;
    in.waiting.push_back(&gp);
    return;
  }
  Mshr& m = in.mshrs.insert(key);
  m.waiters.push_back(&gp);
  m.generation = generation_[tr.vmid % kVmids];
  Txn& t = pool_.acquire();
  t.setup_timing_only(tlm::TLM_IGNORE_COMMAND, vpn << kPageShift, 0);
  auto& req = t.ensure<TranslationExt>();
  req = TranslationExt{};
  req.vmid = tr.vmid;
  req.write = tr.write;
  L1Tag& tag = t.ensure<L1Tag>();
  tag = L1Tag{};
  tag.instance = i;
  tag.vmid = tr.vmid;
  tag.write = tr.write;
  tag.vpn = vpn;
  tag.generation = key.generation;
  tag.sent_ps = now + known_ps;
  ++l2_requests_;
  l2_out.send(t, ps(known_ps) + l2_latency_);
}

void Utcl1::on_l2_response(Payload& gp) {
  Txn& t = static_cast<Txn&>(gp);
  const L1Tag tag = t.ensure<L1Tag>();
  const TranslationExt res = t.ensure<TranslationExt>();
  t.release();
  miss_ns_.sample(static_cast<double>(now_ps() - tag.sent_ps) / 1000.0);
  Instance& in = inst_[tag.instance];
  const Mshr m = in.mshrs.take(Key{tag.vmid, tag.write, tag.vpn, tag.generation});
  if (res.status == TranslationExt::Status::kOk) {
    if (m.generation == generation_[tag.vmid % kVmids]) {
      const uint32_t size = std::min(res.log2_pages, cfg_.max_fragment());
      if (in.tlb.insert_block(tag.vmid, tag.vpn, res.pa >> kPageShift, size, res.system, res.writeable)) {
        ++evictions_;
      }
      ++fills_;
    } else {
      ++stale_fills_;
    }
  }
  m.waiters.for_each([&](Payload* w) { answer(*w, res, 0); });
  drain_waiting(tag.instance);
}

void Utcl1::answer(Payload& gp, const TranslationExt& from, uint64_t delay_ps) {
  auto& tr = *gp.get_extension<TranslationExt>();
  tr.status = from.status;
  tr.pa = (from.pa & ~(kPageBytes - 1)) | (gp.get_address() & (kPageBytes - 1));
  tr.system = from.system;
  tr.writeable = from.writeable;
  tr.log2_pages = from.log2_pages;
  tr.pasid = from.pasid;
  tr.fault_report = from.fault_report;
  tr.fault_detect_ps = from.fault_detect_ps;
  respond_(gp, ps(delay_ps));
}

void Utcl1::drain_waiting(uint32_t i) {
  Instance& in = inst_[i];
  while (!in.waiting.empty() && !blocked(in) && in.mshrs.size() < cfg_.mshrs()) {
    Payload* next = in.waiting.front();
    in.waiting.pop_front();
    lookup(i, *next);
  }
}

void Utcl1::invalidation_fence(uint32_t vmid_mask) {
  for (int v = 0; v < kVmids; ++v) {
    if ((vmid_mask >> v) & 1) ++generation_[v];
  }
}

uint32_t Utcl1::invalidate(const InvalidationScope& s) {
  ++invalidations_;
  uint32_t n = 0;
  for (Instance& in : inst_) {
    for (int v = 0; v < kVmids; ++v) {
      if (((s.vmid_mask >> v) & 1) == 0) continue;
      const auto vmid = static_cast<uint8_t>(v);
      n += s.range ? in.tlb.invalidate_range(vmid, s.first_page, s.last_page) : in.tlb.invalidate_vmid(vmid);
    }
  }
  invalidated_ += n;
  return n;
}

}  // namespace fl::mmu
