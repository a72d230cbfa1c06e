#include "sim/core/event_queue.h"

#include <algorithm>
#include <string>

#include "sim/core/errors.h"
#include "sim/core/sim_status.h"

namespace fl::detail {

Scheduler& Scheduler::get() {
  static Scheduler* s = new Scheduler();  // never destroyed: queues may outlive statics
  return *s;
}

Scheduler::Scheduler() : event_("fl_scheduler_ev") {
  sc_core::sc_spawn_options opts;
  opts.spawn_method();
  opts.set_sensitivity(&event_);
  opts.dont_initialize();
  sc_core::sc_spawn([this] { fire(); }, "fl_scheduler", &opts);
}

// Slots live in fixed chunks, so a callback never moves while it waits or runs.
void Scheduler::grow() {
  const auto base = static_cast<uint32_t>(chunks_.size()) << kChunkShift;
  if (base + kChunkMask >= (1u << kIdBits)) {
    throw SimError("more than " + std::to_string(1u << kIdBits) + " callbacks pending at once");
  }
  chunks_.push_back(std::make_unique<Task[]>(size_t{1} << kChunkShift));
  for (uint32_t i = kChunkMask + 1; i-- > 0;) free_.push_back(base + i);
}

// Insertion numbers would overflow their 40 bits: number the pending entries again from
// zero, in their order. A sorted array is a valid heap.
void Scheduler::renumber() {
  std::sort(heap_.begin(), heap_.end(), [](const Item& a, const Item& b) { return a.before(b); });
  constexpr uint64_t kIdMask = (uint64_t{1} << kIdBits) - 1;
  seq_ = 0;
  for (Item& it : heap_) it.order = (seq_++ << kIdBits) | (it.order & kIdMask);
}

void Scheduler::arm() {
  if (due_head_ < due_.size()) {
    event_.notify(sc_core::SC_ZERO_TIME);
    return;
  }
  if (heap_.empty()) return;
  const uint64_t now = now_ps();
  const uint64_t at = heap_.front().when_ps;
  // An earlier notification overrides a pending later one (IEEE 1666 sc_event::notify).
  event_.notify(sc_core::sc_time::from_value(at > now ? at - now : 0));
}

void Scheduler::run(uint32_t id) {
  Task& t = task(id);
  --t.queue->pending_;
  ++dispatched;
  try {
    t.run(t);
  } catch (const InputError& e) {
    report_run_error(kExitInput, e.what());
  } catch (const SimError& e) {
    report_sim_error(e.what());
  }
  free_.push_back(id);
}

void Scheduler::fire() {
  constexpr uint64_t kIdMask = (uint64_t{1} << kIdBits) - 1;
  const uint64_t now = now_ps();
  in_fire_ = true;
  while (!heap_.empty() && heap_.front().when_ps <= now) {
    run(static_cast<uint32_t>(pop().order & kIdMask));
  }
  while (due_head_ < due_.size()) run(due_[due_head_++]);
  due_.clear();
  due_head_ = 0;
  in_fire_ = false;
  if (!heap_.empty()) arm();
}

}  // namespace fl::detail

namespace fl {

EventQueue::EventQueue(const char*) : sched_(&detail::Scheduler::get()) {}

uint64_t EventQueue::dispatched() { return detail::Scheduler::get().dispatched; }

}  // namespace fl
