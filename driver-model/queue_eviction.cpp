#include "driver-model/queue_eviction.h"

#include "sim/core/time.h"
#include "sim/core/waits.h"

namespace fl::driver {

QueueEviction::QueueEviction(sc_core::sc_module_name name, const config::Kfd& cfg, SmiEvents& smi)
    : sc_module(name), cfg_(cfg), smi_(smi) {}

void QueueEviction::wait_for(const std::function<void(std::function<void()>)>& op) {
  if (!op) return;
  const ScopedWait registered("the command processor to unmap or map the queues of", name(), 0, control_.node);
  bool done = false;
  op([this, &done] {
    done = true;
    done_event_.notify(sc_core::SC_ZERO_TIME);
  });
  while (!done) sc_core::wait(done_event_);
}

void QueueEviction::evict(DriverThread& t, EvictTrigger why) {
  if (count_++ > 0) {
    ++nested_;
    return;
  }
  ++evictions_;
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  evicted_at_ = start;
  smi_.queue_eviction(static_cast<uint64_t>(to_ns(start)), why);
  t.compute_ns(cfg_.evict_ns());
  // The HWS unmap is a request the CP answers: the thread sleeps on the fence.
  t.release();
  wait_for(control_.evict_all);
  evict_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
  if (tl_ != nullptr) {
    static const char* const kWhy[] = {"svm", "userptr", "ttm", "suspend", "criu_checkpoint", "criu_restore"};
    const auto w = static_cast<size_t>(why);
    tl_->draw("evict_queues", start.value(), now_ps(), TimelineArgs().str("trigger", w < 6 ? kWhy[w] : "?"));
  }
}

void QueueEviction::restore(DriverThread& t, bool rescheduled) {
  if (count_ == 0) return;
  if (--count_ > 0) return;
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  t.compute_ns(cfg_.restore_ns());
  t.release();
  wait_for(control_.restore_all);
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  restore_ns_.sample(to_ns(now - start));
  off_ns_.sample(to_ns(now - evicted_at_));
  smi_.queue_restore(static_cast<uint64_t>(to_ns(now)), rescheduled);
  if (tl_ != nullptr) tl_->draw("restore_queues", start.value(), now.value(), TimelineArgs().num("rescheduled", rescheduled ? 1 : 0));
}

}  // namespace fl::driver
