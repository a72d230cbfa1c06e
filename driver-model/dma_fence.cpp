#include "driver-model/dma_fence.h"

#include <algorithm>
#include <stdexcept>

#include "sim/core/time.h"

namespace fl::driver {

void FenceContext::remove_dependency(const WaitResource* r) {
  const auto it = std::find(deps_.begin(), deps_.end(), r);
  if (it == deps_.end()) throw std::logic_error("fence context " + name_ + ": no such dependency to remove");
  deps_.erase(it);
}

void DmaFence::signal() {
  if (signaled_) throw std::logic_error(wait_label() + " signalled twice");
  signaled_ = true;
  signal_ps_ = now_ps();
  signal_event_.notify(sc_core::SC_ZERO_TIME);
}

void DmaFence::wait(DriverThread& t, double wakeup_ns) {
  if (signaled_) return;
  if (enable_signaling_) {
    auto fn = std::move(enable_signaling_);
    enable_signaling_ = nullptr;
    fn();
  }
  t.release();
  {
    const ScopedWait registered("fence", ctx_.name().c_str(), seqno_, this);
    while (!signaled_) sc_core::wait(signal_event_);
  }
  if (wakeup_ns > 0) sc_core::wait(from_ns(wakeup_ns));
}

namespace {
bool covers(DmaResvUsage have, DmaResvUsage want) { return static_cast<int>(have) <= static_cast<int>(want); }
}  // namespace

void DmaResv::add_fence(std::shared_ptr<DmaFence> f, DmaResvUsage usage) {
  // As dma_resv_add_fence: a signalled fence, or one of the same context that the new one
  // supersedes (same or weaker usage: a later fence of a context implies the earlier), is
  // replaced.
  fences_.erase(std::remove_if(fences_.begin(), fences_.end(),
                               [&](const Entry& e) {
                                 return e.fence->signaled() ||
                                        (&e.fence->context() == &f->context() && covers(usage, e.usage));
                               }),
                fences_.end());
  fences_.push_back(Entry{std::move(f), usage});
}

bool DmaResv::test_signaled(DmaResvUsage usage) const {
  return std::all_of(fences_.begin(), fences_.end(),
                     [&](const Entry& e) { return !covers(e.usage, usage) || e.fence->signaled(); });
}

void DmaResv::wait(DriverThread& t, DmaResvUsage usage, double wakeup_ns) {
  for (const std::shared_ptr<DmaFence>& f : pending(usage)) f->wait(t, wakeup_ns);
}

std::vector<std::shared_ptr<DmaFence>> DmaResv::pending(DmaResvUsage usage) const {
  std::vector<std::shared_ptr<DmaFence>> v;
  for (const Entry& e : fences_) {
    if (covers(e.usage, usage) && !e.fence->signaled()) v.push_back(e.fence);
  }
  return v;
}

}  // namespace fl::driver
