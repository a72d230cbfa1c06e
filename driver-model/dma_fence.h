// dma-fences and reservation objects (drivers/dma-buf/dma-fence.c, dma-resv.c;
// include/linux/dma-fence.h, dma-resv.h), as nodes of the wait-for graph
// (sim/core/waits.h), so that a wait that can never end is found when it begins.
//
// Models:
// - A fence context is whatever signals a timeline of fences: a copy-engine ring, a
//   compute queue, a KFD process's eviction fence (dma_fence_context_alloc). It is itself a
//   wait-for node whose owners are what its work needs before it can complete: for a
//   compute queue with a retry fault pending and no mid-fault preemption, the fault's
//   service. Its fences are signalled in order (a later seqno implies the earlier ones).
// - A fence (struct dma_fence) has a context, a seqno, and once signalled, the simulated
//   time it was (dma_fence_signal; timestamp). dma_fence_wait blocks the calling driver
//   thread without a core until it is signalled, then resumes after the scheduler wake-up.
//   A wait registers fence -> context in the graph, so a waiter the context's work in turn
//   waits for closes a cycle and stops the run with it printed.
// - "Can this fence deadlock?" (the callback proposed in seed 001, Glisse, Jan 2021): true
//   while its context has a dependency, i.e. its signalling needs something (a pending GPU
//   fault) that a waiter in reclaim may itself be holding up.
// - A reservation object (struct dma_resv) is a ww_mutex (a SleepLock) and a fence list with
//   usages (enum dma_resv_usage: KERNEL, WRITE, READ, BOOKKEEP); waiting for a usage waits
//   for every fence of that usage or a stronger one (dma_resv_wait_timeout), in list order.
//   Signalled fences are pruned when a fence is added (dma_resv_add_fence replaces
//   signalled and same-context fences).
// Abstracts away: fence callbacks other than waiting, dma_fence_chain/array containers,
// timeouts (waits are unbounded; the graph, not a timeout, finds the ones that never end),
// RCU, the ww_mutex acquire context.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include <systemc>

#include "driver-model/driver_thread.h"
#include "sim/core/waits.h"

namespace fl::driver {

class FenceContext : public WaitResource {
 public:
  explicit FenceContext(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }

  // The context's work cannot complete until `r` does its part (e.g. a pending fault's
  // service, which is a resource whose owner is the servicing thread). Counted: a
  // dependency added twice must be removed twice.
  void add_dependency(const WaitResource* r) {
    deps_.push_back(r);
    Waits::recheck();  // the new edge may close a cycle of waits already begun
  }
  void remove_dependency(const WaitResource* r);
  bool has_dependency() const { return !deps_.empty(); }
  // When set, whether the context's work is held up right now by something a reclaiming
  // waiter may hold (a KFD eviction fence: the queues have retry faults pending and the GPU
  // cannot preempt them), which answers may_deadlock instead of has_dependency: a context
  // that always depends on the command processor only risks a deadlock while it waits.
  void set_blocked(std::function<bool()> blocked) { blocked_ = std::move(blocked); }
  bool blocked() const { return blocked_ ? blocked_() : has_dependency(); }

  uint64_t next_seqno() { return ++last_seqno_; }

  std::string wait_label() const override { return "the work of " + name_; }
  const char* owner_relation() const override { return "which needs"; }
  void wait_owners(std::vector<const sc_core::sc_process_b*>&, std::vector<const WaitResource*>& r) const override {
    r.insert(r.end(), deps_.begin(), deps_.end());
  }

 private:
  std::string name_;
  uint64_t last_seqno_ = 0;
  std::vector<const WaitResource*> deps_;
  std::function<bool()> blocked_;
};

class DmaFence : public WaitResource {
 public:
  DmaFence(FenceContext& ctx, uint64_t seqno) : ctx_(ctx), seqno_(seqno) {}
  // A fence of `ctx` with its next seqno.
  static std::shared_ptr<DmaFence> create(FenceContext& ctx) { return std::make_shared<DmaFence>(ctx, ctx.next_seqno()); }

  // dma_fence_signal: wakes every waiter; signalling twice is an error (-EINVAL in the
  // kernel; here a logic_error, a bug of the model).
  void signal();
  bool signaled() const { return signaled_; }
  uint64_t signal_ps() const { return signal_ps_; }
  // dma_fence_wait: blocks `t` (without a core) until signalled, then `wakeup_ns`.
  void wait(DriverThread& t, double wakeup_ns);
  // Seed 001's query: would waiting on this fence from reclaim risk a deadlock?
  bool may_deadlock() const { return !signaled_ && ctx_.blocked(); }
  // dma_fence_ops.enable_signaling: run once, when the first waiter begins to wait on the
  // unsignalled fence (a KFD eviction fence starts evicting the queues then).
  void set_enable_signaling(std::function<void()> fn) { enable_signaling_ = std::move(fn); }

  FenceContext& context() const { return ctx_; }
  uint64_t seqno() const { return seqno_; }

  std::string wait_label() const override { return "fence " + ctx_.name() + "#" + std::to_string(seqno_); }
  const char* owner_relation() const override { return "signalled by"; }
  void wait_owners(std::vector<const sc_core::sc_process_b*>&, std::vector<const WaitResource*>& r) const override {
    r.push_back(&ctx_);
  }

 private:
  FenceContext& ctx_;
  uint64_t seqno_;
  bool signaled_ = false;
  uint64_t signal_ps_ = 0;
  sc_core::sc_event signal_event_;
  std::function<void()> enable_signaling_;
};

// enum dma_resv_usage (include/linux/dma-resv.h), strongest first.
enum class DmaResvUsage : uint8_t { kKernel = 0, kWrite = 1, kRead = 2, kBookkeep = 3 };

class DmaResv {
 public:
  explicit DmaResv(std::string lock_name) : lock_(std::move(lock_name), false) {}

  hw::SleepLock& lock() { return lock_; }
  // dma_resv_add_fence: signalled fences and an older fence of the same context with the
  // same or a weaker usage are dropped.
  void add_fence(std::shared_ptr<DmaFence> f, DmaResvUsage usage);
  // dma_resv_test_signaled: every fence of `usage` or stronger has signalled.
  bool test_signaled(DmaResvUsage usage) const;
  // dma_resv_wait_timeout without a timeout: waits for each such fence in turn.
  void wait(DriverThread& t, DmaResvUsage usage, double wakeup_ns);
  // The unsignalled fences of `usage` or stronger (the shrinker's may_deadlock check).
  std::vector<std::shared_ptr<DmaFence>> pending(DmaResvUsage usage) const;

 private:
  struct Entry {
    std::shared_ptr<DmaFence> fence;
    DmaResvUsage usage;
  };
  hw::SleepLock lock_;
  std::vector<Entry> fences_;
};

}  // namespace fl::driver
