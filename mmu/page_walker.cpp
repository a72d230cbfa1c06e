#include "mmu/page_walker.h"

#include <cstring>

#include "mmu/page_table.h"

namespace fl::mmu {

namespace {

// Which walk a page-table read belongs to.
struct WalkTag : tlm::tlm_extension<WalkTag> {
  void* walk = nullptr;
  tlm::tlm_extension_base* clone() const override { return new WalkTag(*this); }
  void copy_from(const tlm::tlm_extension_base& o) override { *this = static_cast<const WalkTag&>(o); }
};

std::unique_ptr<TlbArray> make_pwc(uint32_t entries) {
  if (entries == 0) return nullptr;
  return std::make_unique<TlbArray>(entries, entries);  // fully associative, LRU
}
}  // namespace

PageWalker::PageWalker(sc_core::sc_module_name name, const config::PageWalker& cfg,
                       const Clock& clock)
    : sc_module(name),
      mem("mem", [this](Payload& gp) { on_read(gp); }),
      cfg_(cfg),
      step_(clock.cycles(cfg.step_overhead_cycles())),
      pwc_latency_(clock.cycles(cfg.pwc_latency_cycles())),
      queue_("queue"),
      pwc_{make_pwc(cfg.pwc_pdb2_entries()), make_pwc(cfg.pwc_pdb1_entries()),
           make_pwc(cfg.pwc_pdb0_entries())} {}

void PageWalker::set_root(uint8_t vmid, uint64_t root_pde) {
  const Entry e = Entry::decode_pde(root_pde);
  roots_[vmid % kVmids] = Root{e.valid, e.address, e.system};
  // A new tree: nothing cached for the old one may be used.
  invalidate(1u << (vmid % kVmids), 0x7);
}

void PageWalker::walk(uint8_t vmid, uint64_t va, WalkClient* client, uint64_t tag) {
  Walk* w;
  if (free_walks_.empty()) {
    walks_.push_back(std::make_unique<Walk>());
    w = walks_.back().get();
  } else {
    w = free_walks_.back();
    free_walks_.pop_back();
  }
  *w = Walk{vmid, va, client, tag};
  w->queued_ps = now_ps();
  ++per_vmid_[vmid % kVmids];
  if (active_ < cfg_.walkers()) {
    start(w);
  } else {
    waiting_.push_back(w);
  }
}

void PageWalker::start(Walk* w) {
  ++active_;
  ++walks_started_;
  w->start_ps = now_ps();
  w->generation = generation_[w->vmid % kVmids];
  queue_ns_.sample(static_cast<double>(w->start_ps - w->queued_ps) / 1000.0);
  if (tl_ != nullptr) w->tl_lane = tl_->open(w->start_ps);
  const Root& root = roots_[w->vmid % kVmids];
  if (!root.set) {
    finish(w, WalkResult{});
    return;
  }
  // Probe the page-walk caches, deepest level first: its hit skips every read above it.
  bool any_pwc = false;
  for (int level = kPdb0; level >= kPdb2; --level) {
    TlbArray* pwc = pwc_[level].get();
    if (pwc == nullptr) continue;
    any_pwc = true;
    ++pwc_lookups_[level];
    const TlbEntry* e = pwc->lookup(w->vmid, w->va >> level_shift(level));
    if (e == nullptr) continue;
    ++pwc_hits_[level];
    const Entry pde = Entry::decode_pde(e->ppn);
    w->level = level + 1;
    read_level(w, pde.address, pde.system, pwc_latency_ + step_);
    return;
  }
  w->level = kPdb2;
  read_level(w, root.addr, root.system, (any_pwc ? pwc_latency_ : sc_core::SC_ZERO_TIME) + step_);
}

void PageWalker::read_level(Walk* w, uint64_t table, bool system, const sc_core::sc_time& delay) {
  const uint64_t addr = table + level_index(w->va, w->level) * 8;
  Txn& t = pool_.acquire();
  t.setup(tlm::TLM_READ_COMMAND, addr, 8);
  t.ext().system = system;
  t.ensure<WalkTag>().walk = w;
  ++reads_;
  ++w->reads;
  if (system) ++system_reads_;
  mem.send(t, delay);
}

void PageWalker::on_read(Payload& gp) {
  Txn& t = static_cast<Txn&>(gp);
  Walk* w = static_cast<Walk*>(t.ensure<WalkTag>().walk);
  uint64_t raw;
  std::memcpy(&raw, t.buffer(), 8);
  t.release();

  const WalkStep s = walk_step(w->level, raw, w->va);
  WalkResult r;
  r.level = w->level;
  r.entry = raw;
  switch (s.kind) {
    case WalkStep::kInvalid:
      ++faults_;
      finish(w, r);
      return;
    case WalkStep::kLeaf:
      r.valid = true;
      r.pa = s.pa;
      r.log2_pages = s.log2_pages;
      r.system = s.system;
      r.writeable = s.writeable;
      r.readable = s.readable;
      if (w->level != kPtb) ++huge_;
      finish(w, r);
      return;
    case WalkStep::kNext:
      break;
  }
  if (TlbArray* pwc = pwc_[w->level].get()) {
    if (w->generation == generation_[w->vmid % kVmids]) {
      pwc->insert(w->vmid, w->va >> level_shift(w->level), raw, s.next_system, false);
    } else {
      ++stale_;
    }
  }
  ++w->level;
  read_level(w, s.next_table, s.next_system, step_);
}

void PageWalker::finish(Walk* w, const WalkResult& r) {
  walk_ns_.sample(static_cast<double>(now_ps() - w->start_ps) / 1000.0);
  reads_per_walk_.sample(w->reads);
  if (tl_ != nullptr) {
    tl_->close(w->tl_lane, r.valid ? "walk" : "walk_invalid", w->start_ps, now_ps(),
               TimelineArgs()
                   .hex("va", w->va)
                   .num("vmid", w->vmid)
                   .num("reads", w->reads)
                   .num("level", static_cast<uint64_t>(r.level))
                   .real("queued_ns", static_cast<double>(w->start_ps - w->queued_ps) / 1000.0));
  }
  WalkClient* client = w->client;
  const uint8_t vmid = w->vmid;
  const uint64_t va = w->va;
  const uint64_t tag = w->tag;
  --per_vmid_[w->vmid % kVmids];
  free_walks_.push_back(w);
  --active_;
  if (!waiting_.empty()) {
    Walk* next = waiting_.front();
    waiting_.pop_front();
    start(next);
  }
  client->walk_done(vmid, va, tag, r);
}

void PageWalker::invalidate(uint32_t vmid_mask, uint32_t level_mask) {
  for (int v = 0; v < kVmids; ++v) {
    if (((vmid_mask >> v) & 1) == 0) continue;
    ++generation_[v];
    for (int l = kPdb2; l < kPtb; ++l) {
      if (pwc_[l] && ((level_mask >> l) & 1)) pwc_inval_ += pwc_[l]->invalidate_vmid(static_cast<uint8_t>(v));
    }
  }
}

void PageWalker::invalidate_range(uint8_t vmid, uint32_t level_mask, uint64_t first_va,
                                  uint64_t last_va) {
  ++generation_[vmid % kVmids];
  for (int l = kPdb2; l < kPtb; ++l) {
    if (pwc_[l] && ((level_mask >> l) & 1)) {
      pwc_inval_ += pwc_[l]->invalidate_range(vmid, first_va >> level_shift(l), last_va >> level_shift(l));
    }
  }
}

}  // namespace fl::mmu
