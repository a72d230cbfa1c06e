#include "mmu/utcl2.h"

#include <algorithm>

#include "hw/gpu_regs.h"
#include "mmu/fault_report.h"
#include "sim/core/errors.h"
#include "sim/core/interrupt.h"

namespace fl::mmu {

namespace regs = hw::regs;

void Utcl2::validate(const config::Utcl2& cfg, const std::string& key) {
  validate_geometry(cfg.entries(), cfg.ways(), static_cast<Replacement>(cfg.replacement()), key);
}

Utcl2::Utcl2(sc_core::sc_module_name name, const config::Utcl2& cfg, const Clock& clock,
             PageWalker& walker, FaultTrace* trace, uint64_t seed)
    : sc_module(name),
      in("in", [this](Payload& gp) { on_request(gp); }),
      ih_out("ih_out", AtInitiatorPort::ReleaseOnResponse{}),
      regs("regs", [this](uint64_t o) { return read_reg(o); },
           [this](uint64_t o, uint32_t v) { write_reg(o, v); }),
      cfg_((validate(cfg, this->name()), cfg)),
      clock_(clock),
      walker_(walker),
      trace_(trace),
      tlb_(cfg.entries(), cfg.ways(), static_cast<Replacement>(cfg.replacement()), seed),
      queue_("queue"),
      hit_latency_(clock.cycles(cfg.hit_latency_cycles())),
      lookup_interval_ps_(clock.cycles(cfg.lookup_interval_cycles()).value()),
      port_free_ps_(std::max(1u, cfg.ports()), 0) {}

void Utcl2::set_timeline(Timeline* t) {
  tl_misses_ = std::make_unique<TimelineLanes>(*t, name(), timeline_sort::kUtcl2);
  tl_inval_ = std::make_unique<TimelineLanes>(*t, std::string(name()) + ".inv_eng17", timeline_sort::kUtcl2Invalidation);
}

bool Utcl2::retry_enabled(uint8_t vmid) const {
  return (ctx_[vmid % kVmids].cntl & regs::kVmCntlRetryFault) != 0;
}

uint16_t Utcl2::pasid_of(uint8_t vmid) const {
  const uint32_t m = ctx_[vmid % kVmids].pasid_mapping;
  return (m & regs::kAtcPasidValid) ? static_cast<uint16_t>(m & 0xffff) : 0;
}

void Utcl2::on_request(Payload& gp) {
  ++lookups_;
  // `ports` lookups start per lookup_interval: take the port that frees first. The array
  // is consulted hit_latency later, so a fill in between counts.
  const uint64_t now = now_ps();
  auto port = std::min_element(port_free_ps_.begin(), port_free_ps_.end());
  const uint64_t start = std::max(now, *port);
  *port = start + lookup_interval_ps_;
  queue_.schedule_at_ps(start + hit_latency_.value(), [this, &gp] { lookup(gp); });
}

void Utcl2::lookup(Payload& gp) {
  auto& tr = *gp.get_extension<TranslationExt>();
  tr.pasid = pasid_of(tr.vmid);
  const uint64_t vpn = gp.get_address() >> kPageShift;
  const TlbEntry* e = tlb_.lookup(tr.vmid, vpn);
  if (e != nullptr && (!tr.write || e->writeable)) {
    ++hits_;
    answer_ok(gp, *e, vpn);
    return;
  }
  ++misses_;
  miss(gp);
}

void Utcl2::miss(Payload& gp) {
  auto& tr = *gp.get_extension<TranslationExt>();
  const uint64_t va = gp.get_address();
  const Key key{tr.vmid, va >> kPageShift, generation_[tr.vmid % kVmids]};
  if (Mshr* m = mshrs_.find(key)) {
    ++merges_;
    m->waiters.push_back(&gp);
    return;
  }
  if (mshrs_.size() >= cfg_.mshrs()) {
    ++stalls_;
    stalled_.push_back(&gp);
    return;
  }
  mshr_occupancy_.sample(static_cast<double>(mshrs_.size()));
  Mshr& m = mshrs_.insert(key);
  m.waiters.push_back(&gp);
  m.generation = generation_[tr.vmid % kVmids];
  if (tl_misses_ != nullptr) {
    m.tl_begin_ps = now_ps();
    m.tl_lane = tl_misses_->open(m.tl_begin_ps);
  }
  const Context& c = ctx_[tr.vmid % kVmids];
  if ((c.cntl & regs::kVmCntlEnable) == 0) {
    // A disabled context translates nothing: fault without walking.
    queue_.schedule(sc_core::SC_ZERO_TIME, [this, key] { finish_walk(key, WalkResult{}); });
    return;
  }
  walker_.walk(tr.vmid, va & ~(kPageBytes - 1), this, key.generation);
}

void Utcl2::walk_done(uint8_t vmid, uint64_t va, uint64_t tag, const WalkResult& r) {
  finish_walk(Key{vmid, va >> kPageShift, static_cast<uint32_t>(tag)}, r);
}

void Utcl2::finish_walk(Key key, const WalkResult& r) {
  const Mshr m = mshrs_.take(key);

  const bool current = m.generation == generation_[key.vmid % kVmids];
  TlbEntry entry;
  if (r.valid) {
    const uint32_t size = std::min(r.log2_pages, cfg_.max_fragment());
    entry = TlbEntry{true, key.vmid, static_cast<uint8_t>(size), (key.vpn >> size) << size,
                     (r.pa >> kPageShift) - (key.vpn - ((key.vpn >> size) << size)), r.system,
                     r.writeable};
    if (current) {
      TlbEntry victim;
      if (tlb_.insert_block(key.vmid, key.vpn, r.pa >> kPageShift, size, r.system, r.writeable, &victim)) {
        ++evictions_;
      }
      ++fills_;
    } else {
      ++stale_fills_;
    }
  }
  // A leaf the driver wrote with AMDGPU_VM_NORETRY_FLAGS (amdgpu_vm_handle_fault after a
  // failed restore) makes the fault fatal even in a retry-enabled context.
  const bool noretry_pte = !r.valid && (r.entry & pte::kNoRetryFlags) == pte::kNoRetryFlags;
  const bool retry = retry_enabled(key.vmid) && !noretry_pte;
  const uint16_t pasid = pasid_of(key.vmid);
  uint64_t report = 0;
  bool reported = false;
  const uint64_t detect = now_ps();
  m.waiters.for_each([&](Payload* gp) {
    auto& tr = *gp->get_extension<TranslationExt>();
    tr.pasid = pasid;
    if (r.valid && r.readable && (!tr.write || r.writeable)) {
      answer_ok(*gp, entry, key.vpn);
      return;
    }
    if (!reported) {
      reported = true;
      const uint64_t page = key.vpn << kPageShift;
      if (retry) {
        ++faults_;
        report = trace_ != nullptr ? trace_->fault_detected(pasid, page, tr.write) : 0;
      } else {
        ++fatal_;
      }
      report_fault(key.vmid, pasid, page, tr.write, retry, report);
    }
    answer_fault(*gp, retry, report, detect);
  });
  if (tl_misses_ != nullptr) {
    // Named by what the walk found: a fill, a fill dropped (an invalidation overtook it),
    // a retry fault (NACKs) or a fatal one.
    const char* what = !reported ? (r.valid && !current ? "stale_fill" : "fill") : retry ? "retry_fault" : "fatal_fault";
    tl_misses_->close(m.tl_lane, what, m.tl_begin_ps, detect,
                      TimelineArgs().hex("va", key.vpn << kPageShift).num("vmid", key.vmid).num("requests", m.waiters.size()));
  }
  // Heavyweight invalidations waiting for this walk.
  std::vector<Invalidation*> waiting;
  for (const auto& inv : invalidations_in_flight_) {
    if (inv->walks.erase(key) != 0) waiting.push_back(inv.get());
  }
  for (Invalidation* inv : waiting) try_complete(inv);

  // A freed MSHR lets the oldest stalled miss proceed (it may hit now).
  while (!stalled_.empty() && mshrs_.size() < cfg_.mshrs()) {
    Payload* next = stalled_.front();
    stalled_.pop_front();
    lookup(*next);
  }
}

void Utcl2::answer_ok(Payload& gp, const TlbEntry& e, uint64_t vpn) {
  auto& tr = *gp.get_extension<TranslationExt>();
  tr.status = TranslationExt::Status::kOk;
  tr.pa = (e.translate(vpn) << kPageShift) | (gp.get_address() & (kPageBytes - 1));
  tr.system = e.system;
  tr.writeable = e.writeable;
  tr.log2_pages = e.log2_pages;
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  in.respond(gp);
}

void Utcl2::answer_fault(Payload& gp, bool retry, uint64_t report, uint64_t detect_ps) {
  auto& tr = *gp.get_extension<TranslationExt>();
  tr.status = retry ? TranslationExt::Status::kRetry : TranslationExt::Status::kFault;
  if (retry) ++nacks_;
  tr.fault_report = report;
  tr.fault_detect_ps = detect_ps;
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  in.respond(gp);
}

void Utcl2::report_fault(uint8_t vmid, uint16_t pasid, uint64_t va, bool write, bool retry,
                         uint64_t report) {
  Txn& t = pool_.acquire();
  t.setup(tlm::TLM_WRITE_COMMAND, 0, 0);
  t.ext().trace_id = report;
  InterruptExt& irq = t.ensure<InterruptExt>();
  irq = InterruptExt{};
  irq.client_id = ih_client::kUtcl2;
  irq.src_id = ih_src::kUtcl2Fault;
  irq.vmid = vmid;
  irq.pasid = pasid;
  irq.src_data = encode_fault(va, retry, write);
  ih_out.send(t, clock_.cycles(cfg_.fault_report_latency_cycles()));
}

uint32_t Utcl2::read_reg(uint64_t offset) {
  if (offset == regs::kVmInvalidateEng17Ack) return inv_ack_;
  if (offset >= regs::kVmContextCntl && offset < regs::kVmContextCntl + 4 * kVmids) {
    return ctx_[(offset - regs::kVmContextCntl) / 4].cntl;
  }
  if (offset >= regs::kVmContextPtBaseLo && offset < regs::kVmContextPtBaseLo + 8 * kVmids) {
    const Context& c = ctx_[(offset - regs::kVmContextPtBaseLo) / 8];
    return (offset - regs::kVmContextPtBaseLo) % 8 == 0 ? c.base_lo : c.base_hi;
  }
  if (offset >= regs::kAtcVmidPasidMapping && offset < regs::kAtcVmidPasidMapping + 4 * kVmids) {
    return ctx_[(offset - regs::kAtcVmidPasidMapping) / 4].pasid_mapping;
  }
  return 0;
}

void Utcl2::write_reg(uint64_t offset, uint32_t value) {
  switch (offset) {
    case regs::kVmInvalidateEng17Req: start_invalidation(value); return;
    case regs::kVmInvalidateEng17RangeStartLo: range_start_ = (range_start_ & ~0xffffffffULL) | value; return;
    case regs::kVmInvalidateEng17RangeStartHi: range_start_ = (range_start_ & 0xffffffffULL) | (uint64_t{value} << 32); return;
    case regs::kVmInvalidateEng17RangeEndLo: range_end_ = (range_end_ & ~0xffffffffULL) | value; return;
    case regs::kVmInvalidateEng17RangeEndHi: range_end_ = (range_end_ & 0xffffffffULL) | (uint64_t{value} << 32); return;
    case regs::kVmFaultReplay:
      if (value == regs::kVmFaultReplayStart) {
        ++replays_;
        if (replay_target_) replay_target_();
      }
      return;
    default: break;
  }
  if (offset >= regs::kVmContextCntl && offset < regs::kVmContextCntl + 4 * kVmids) {
    ctx_[(offset - regs::kVmContextCntl) / 4].cntl = value;
    return;
  }
  if (offset >= regs::kVmContextPtBaseLo && offset < regs::kVmContextPtBaseLo + 8 * kVmids) {
    const auto vmid = static_cast<uint8_t>((offset - regs::kVmContextPtBaseLo) / 8);
    Context& c = ctx_[vmid];
    ((offset - regs::kVmContextPtBaseLo) % 8 == 0 ? c.base_lo : c.base_hi) = value;
    walker_.set_root(vmid, (uint64_t{c.base_hi} << 32) | c.base_lo);
    return;
  }
  if (offset >= regs::kAtcVmidPasidMapping && offset < regs::kAtcVmidPasidMapping + 4 * kVmids) {
    ctx_[(offset - regs::kAtcVmidPasidMapping) / 4].pasid_mapping = value;
  }
}

void Utcl2::fence(uint32_t vmids) {
  for (int v = 0; v < kVmids; ++v) {
    if ((vmids >> v) & 1) ++generation_[v];
  }
  for (InvalidationTarget* l1 : l1_) l1->invalidation_fence(vmids);
}

void Utcl2::start_invalidation(uint32_t req) {
  const uint32_t vmids = req & regs::kInvReqVmidMask;
  inv_ack_ &= ~vmids;
  auto inv = std::make_unique<Invalidation>();
  inv->vmids = vmids;
  inv->req = req;
  inv->start_ps = now_ps();
  inv->scope.vmid_mask = vmids;
  if (tl_inval_ != nullptr) inv->tl_lane = tl_inval_->open(inv->start_ps);
  if (req & regs::kInvReqRange) {
    inv->scope.range = true;
    inv->scope.first_page = range_start_;
    inv->scope.last_page = range_end_;
  }
  const uint32_t type = (req >> regs::kInvReqFlushTypeShift) & regs::kInvReqFlushTypeMask;
  uint64_t cycles = type == 1 ? cfg_.lightweight_invalidate_latency_cycles() : cfg_.invalidate_latency_cycles();
  if (type == 2) {
    cycles += cfg_.heavyweight_extra_cycles();
    mshrs_.for_each([&](const Key& key, const Mshr&) {
      if ((vmids >> key.vmid) & 1) inv->walks.insert(key);
    });
  }
  // A walk started before this point must not fill, even if it ends before the flush does.
  fence(vmids);
  Invalidation* p = inv.get();
  invalidations_in_flight_.push_back(std::move(inv));
  queue_.schedule(clock_.cycles(cycles), [this, p] {
    p->latency_done = true;
    try_complete(p);
  });
}

void Utcl2::try_complete(Invalidation* inv) {
  if (inv->latency_done && inv->walks.empty()) complete(inv);
}

void Utcl2::complete(Invalidation* inv) {
  const uint32_t type = (inv->req >> regs::kInvReqFlushTypeShift) & regs::kInvReqFlushTypeMask;
  const InvalidationScope& s = inv->scope;
  uint32_t dropped = 0;
  for (int v = 0; v < kVmids; ++v) {
    if (((inv->vmids >> v) & 1) == 0) continue;
    const auto vmid = static_cast<uint8_t>(v);
    if (inv->req & regs::kInvReqL2Ptes) {
      dropped += s.range ? tlb_.invalidate_range(vmid, s.first_page, s.last_page) : tlb_.invalidate_vmid(vmid);
    }
    // Lightweight flushes leave the page-walk caches alone.
    uint32_t pde_levels = 0;
    if (type != 1) {
      if (inv->req & regs::kInvReqL2Pde2) pde_levels |= 1u << kPdb2;
      if (inv->req & regs::kInvReqL2Pde1) pde_levels |= 1u << kPdb1;
      if (inv->req & regs::kInvReqL2Pde0) pde_levels |= 1u << kPdb0;
    }
    if (pde_levels != 0) {
      if (s.range) {
        walker_.invalidate_range(vmid, pde_levels, s.first_page << kPageShift,
                                 (s.last_page << kPageShift) | (kPageBytes - 1));
      } else {
        walker_.invalidate(1u << v, pde_levels);
      }
    }
  }
  if (inv->req & regs::kInvReqL1Ptes) {
    for (InvalidationTarget* l1 : l1_) dropped += l1->invalidate(s);
  }
  invalidated_ += dropped;
  // Anything that was answered from the old state and is still on its way must not fill.
  fence(inv->vmids);
  ++invalidations_;
  (type == 2 ? inv_heavy_ : type == 1 ? inv_light_ : inv_legacy_) += 1;
  if (s.range) ++inv_range_;
  inv_ns_.sample(static_cast<double>(now_ps() - inv->start_ps) / 1000.0);
  if (tl_inval_ != nullptr) {
    static const char* const kTypes[] = {"invalidate_legacy", "invalidate_lightweight", "invalidate_heavyweight"};
    TimelineArgs a;
    a.num("vmids", inv->vmids).num("dropped_entries", dropped);
    if (s.range) a.hex("first_page", s.first_page).hex("last_page", s.last_page);
    tl_inval_->close(inv->tl_lane, kTypes[type <= 2 ? type : 0], inv->start_ps, now_ps(), a);
  }
  inv_ack_ |= inv->vmids;
  auto it = std::find_if(invalidations_in_flight_.begin(), invalidations_in_flight_.end(),
                         [inv](const auto& p) { return p.get() == inv; });
  invalidations_in_flight_.erase(it);
}

}  // namespace fl::mmu
