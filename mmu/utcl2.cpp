#include "mmu/utcl2.h"

#include <algorithm>

#include "hw/gpu_regs.h"
#include "mmu/fault_report.h"
#include "sim/core/errors.h"
#include "sim/core/interrupt.h"

namespace fl::mmu {

Utcl2::Utcl2(sc_core::sc_module_name name, const config::Utcl2& cfg, const Clock& clock,
             PageWalker& walker, FaultTrace* trace)
    : sc_module(name),
      in("in", [this](Payload& gp) { on_request(gp); }),
      ih_out("ih_out", [](Payload& gp) { gp.release(); }),
      regs("regs", [this](uint64_t o) { return read_reg(o); },
           [this](uint64_t o, uint32_t v) { write_reg(o, v); }),
      cfg_(cfg),
      clock_(clock),
      walker_(walker),
      trace_(trace),
      tlb_(cfg.entries(), std::max(1u, cfg.ways())),
      queue_("queue"),
      hit_latency_(clock.cycles(cfg.hit_latency_cycles())),
      lookup_interval_(clock.cycles(cfg.lookup_interval_cycles())) {
  if (cfg.ways() == 0 || cfg.entries() % cfg.ways() != 0) {
    throw InputError(std::string(this->name()) + ".entries = " + std::to_string(cfg.entries()) +
                     " is not a multiple of " + this->name() + ".ways = " +
                     std::to_string(cfg.ways()));
  }
}

void Utcl2::on_request(Payload& gp) {
  ++lookups_;
  // One lookup port: the lookup starts when the port is free, its result is known
  // hit_latency later (and the TLB is consulted then, so a fill in between counts).
  const uint64_t now = now_ps();
  const uint64_t start = std::max(now, port_free_ps_);
  port_free_ps_ = start + lookup_interval_.value();
  queue_.schedule(ps(start - now) + hit_latency_, [this, &gp] { lookup(gp); });
}

void Utcl2::lookup(Payload& gp) {
  auto& tr = *gp.get_extension<TranslationExt>();
  const uint64_t va = gp.get_address();
  const TlbEntry* e = tlb_.lookup(tr.vmid, va >> kPageShift);
  if (e != nullptr && (!tr.write || e->writeable)) {
    ++hits_;
    answer_ok(gp, (e->ppn << kPageShift) | (va & (kPageBytes - 1)), e->system);
    return;
  }
  ++misses_;
  miss(gp);
}

void Utcl2::miss(Payload& gp) {
  auto& tr = *gp.get_extension<TranslationExt>();
  const uint64_t va = gp.get_address();
  const Key key{tr.vmid, va >> kPageShift};
  auto it = mshrs_.find(key);
  if (it != mshrs_.end()) {
    ++merges_;
    it->second.waiters.push_back(&gp);
    return;
  }
  if (mshrs_.size() >= cfg_.mshrs()) {
    ++stalls_;
    stalled_.push_back(&gp);
    return;
  }
  Mshr& m = mshrs_[key];
  m.waiters.push_back(&gp);
  m.generation = generation_[tr.vmid % PageWalker::kVmids];
  walker_.walk(tr.vmid, va & ~(kPageBytes - 1),
               [this, key, va](const WalkResult& r) { walk_done(key, va, r); });
}

void Utcl2::walk_done(Key key, uint64_t va, const WalkResult& r) {
  auto it = mshrs_.find(key);
  Mshr m = std::move(it->second);
  mshrs_.erase(it);

  const bool current = m.generation == generation_[key.vmid % PageWalker::kVmids];
  if (r.valid) {
    if (current) {
      TlbEntry victim;
      if (tlb_.insert(key.vmid, key.vpn, r.pa >> kPageShift, r.system, r.writeable, &victim)) {
        ++evictions_;
      }
      ++fills_;
    } else {
      ++stale_fills_;
    }
  }
  uint64_t report = 0;
  bool reported = false;
  const uint64_t detect = now_ps();
  for (Payload* gp : m.waiters) {
    auto& tr = *gp->get_extension<TranslationExt>();
    if (r.valid && (!tr.write || r.writeable)) {
      answer_ok(*gp, r.pa | (gp->get_address() & (kPageBytes - 1)), r.system);
      continue;
    }
    if (!reported) {
      reported = true;
      ++faults_;
      report = trace_ != nullptr ? trace_->fault_detected(tr.pasid, va & ~(kPageBytes - 1), tr.write) : 0;
      report_fault(tr.vmid, tr.pasid, va & ~(kPageBytes - 1), tr.write, report);
    }
    answer_nack(*gp, report, detect);
  }

  // A freed MSHR lets the oldest stalled miss proceed (it may hit now).
  while (!stalled_.empty() && mshrs_.size() < cfg_.mshrs()) {
    Payload* next = stalled_.front();
    stalled_.pop_front();
    lookup(*next);
  }
}

void Utcl2::answer_ok(Payload& gp, uint64_t pa, bool system) {
  auto& tr = *gp.get_extension<TranslationExt>();
  tr.status = TranslationExt::Status::kOk;
  tr.pa = pa;
  tr.system = system;
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  in.respond(gp);
}

void Utcl2::answer_nack(Payload& gp, uint64_t report, uint64_t detect_ps) {
  ++nacks_;
  auto& tr = *gp.get_extension<TranslationExt>();
  tr.status = TranslationExt::Status::kRetry;
  tr.fault_report = report;
  tr.fault_detect_ps = detect_ps;
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  in.respond(gp);
}

void Utcl2::report_fault(uint8_t vmid, uint16_t pasid, uint64_t va, bool write, uint64_t report) {
  Txn& t = pool_.acquire();
  t.setup(tlm::TLM_WRITE_COMMAND, 0, 0);
  t.ext().trace_id = report;
  InterruptExt& irq = t.ensure<InterruptExt>();
  irq = InterruptExt{};
  irq.client_id = ih_client::kUtcl2;
  irq.src_id = ih_src::kUtcl2Fault;
  irq.vmid = vmid;
  irq.pasid = pasid;
  irq.src_data = encode_fault(va, /*retry=*/true, write);
  ih_out.send(t, clock_.cycles(cfg_.fault_report_latency_cycles()));
}

uint32_t Utcl2::read_reg(uint64_t offset) {
  return offset == hw::regs::kVmInvalidateEng17Ack ? inv_ack_ : 0;
}

void Utcl2::write_reg(uint64_t offset, uint32_t value) {
  if (offset != hw::regs::kVmInvalidateEng17Req) return;
  const uint32_t vmids = value & hw::regs::kInvReqVmidMask;
  inv_ack_ &= ~vmids;
  // A walk started before this point must not fill, even if it ends before the flush does.
  for (int v = 0; v < PageWalker::kVmids; ++v) {
    if ((vmids >> v) & 1) ++generation_[v];
  }
  queue_.schedule(clock_.cycles(cfg_.invalidate_latency_cycles()), [this, vmids] {
    for (int v = 0; v < PageWalker::kVmids; ++v) {
      if ((vmids >> v) & 1) invalidated_ += tlb_.invalidate_vmid(static_cast<uint8_t>(v));
    }
    ++invalidations_;
    inv_ack_ |= vmids;
  });
}

}  // namespace fl::mmu
