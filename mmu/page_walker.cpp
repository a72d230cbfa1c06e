#include "mmu/page_walker.h"

#include <cstring>

namespace fl::mmu {

namespace {

// Which walk a page-table read belongs to.
struct WalkTag : tlm::tlm_extension<WalkTag> {
  void* walk = nullptr;
  tlm::tlm_extension_base* clone() const override { return new WalkTag(*this); }
  void copy_from(const tlm::tlm_extension_base& o) override { *this = static_cast<const WalkTag&>(o); }
};
}  // namespace

PageWalker::PageWalker(sc_core::sc_module_name name, const config::PageWalker& cfg,
                       const Clock& clock)
    : sc_module(name),
      mem("mem", [this](Payload& gp) { on_read(gp); }),
      cfg_(cfg),
      step_(clock.cycles(cfg.step_overhead_cycles())),
      queue_("queue") {}

void PageWalker::set_root(uint8_t vmid, uint64_t addr, bool system) {
  roots_[vmid % kVmids] = Root{true, addr, system};
}

void PageWalker::walk(uint8_t vmid, uint64_t va, Done done) {
  Walk* w;
  if (free_walks_.empty()) {
    walks_.push_back(std::make_unique<Walk>());
    w = walks_.back().get();
  } else {
    w = free_walks_.back();
    free_walks_.pop_back();
  }
  *w = Walk{vmid, va, std::move(done)};
  w->queued_ps = now_ps();
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
  queue_ns_.sample(static_cast<double>(w->start_ps - w->queued_ps) / 1000.0);
  const Root& root = roots_[w->vmid % kVmids];
  if (!root.set) {
    finish(w, WalkResult{});
    return;
  }
  w->level = kPdb2;
  read_level(w, root.addr, root.system);
}

void PageWalker::read_level(Walk* w, uint64_t table, bool system) {
  const uint64_t addr = table + level_index(w->va, w->level) * 8;
  queue_.schedule(step_, [this, w, addr, system] {
    Txn& t = pool_.acquire();
    t.setup(tlm::TLM_READ_COMMAND, addr, 8);
    t.ext().system = system;
    t.ensure<WalkTag>().walk = w;
    ++reads_;
    mem.send(t);
  });
}

void PageWalker::on_read(Payload& gp) {
  Txn& t = static_cast<Txn&>(gp);
  Walk* w = static_cast<Walk*>(t.ensure<WalkTag>().walk);
  uint64_t raw;
  std::memcpy(&raw, t.buffer(), 8);
  t.release();

  const bool leaf_level = w->level == kPtb;
  const Entry e = leaf_level ? Entry::decode_pte(raw) : Entry::decode_pde(raw);
  WalkResult r;
  r.level = w->level;
  r.entry = raw;
  if (!e.valid) {
    ++faults_;
    finish(w, r);
    return;
  }
  if (leaf_level || e.pde_pte) {
    const Entry leaf = Entry::decode_pte(raw);
    const uint64_t span = level_span(w->level);
    r.valid = true;
    r.pa = (leaf.address & ~(span - 1)) + (w->va & (span - 1) & ~(kPageBytes - 1));
    r.system = leaf.system;
    r.writeable = leaf.writeable;
    finish(w, r);
    return;
  }
  ++w->level;
  read_level(w, e.address, e.system);
}

void PageWalker::finish(Walk* w, const WalkResult& r) {
  walk_ns_.sample(static_cast<double>(now_ps() - w->start_ps) / 1000.0);
  Done done = std::move(w->done);
  free_walks_.push_back(w);
  --active_;
  if (!waiting_.empty()) {
    Walk* next = waiting_.front();
    waiting_.pop_front();
    start(next);
  }
  done(r);
}

}  // namespace fl::mmu
