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

Scheduler::Scheduler() : event_("fl_scheduler_ev"), due_event_("fl_scheduler_due_ev") {
  sc_core::sc_spawn_options opts;
  opts.spawn_method();
  opts.set_sensitivity(&event_);
  opts.set_sensitivity(&due_event_);
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

// Callbacks due now wake the method through their own event. Were they to use event_, the
// delta notification would cancel event_'s pending timed one (IEEE 1666: an earlier
// notification overrides a later one), and SystemC leaves a cancelled notification in its
// time-ordered queue until its time comes: a driver thread posting work while the next
// callback is far ahead left thousands of dead entries there (about 3,000 on average in a
// 4 KiB fault storm), and every kernel time step paid for them in the queue's heap.
void Scheduler::arm() {
  if (due_head_ < due_.size()) {
    due_event_.notify(sc_core::SC_ZERO_TIME);
    return;
  }
  if (heap_.empty()) return;
  const uint64_t now = now_ps();
  const uint64_t at = heap_.front().when_ps;
  // An earlier notification overrides a pending later one; a later or equal one is ignored
  // (IEEE 1666 sc_event::notify), so re-arming for an already armed head costs nothing.
  event_.notify(sc_core::sc_time::from_value(at > now ? at - now : 0));
}

void Scheduler::arm_checks() {
  next_check = event_budget > dispatched ? event_budget : UINT64_MAX;
  if (progress) next_check = std::min(next_check, dispatched + kProgressEvery);
}

void Scheduler::checkpoint() {
  if (dispatched == event_budget) {
    report_sim_error("the run used its budget of " + std::to_string(event_budget) +
                     " scheduler callbacks (sim.max_events) before the workload finished");
  }
  if (progress) progress();
  arm_checks();
}

void Scheduler::run(uint32_t id) {
  Task& t = task(id);
  --t.queue->pending_;
  if (++dispatched >= next_check) checkpoint();
  try {
    t.run(t);
  } catch (const InputError& e) {
    report_run_error(kExitInput, e.what());
  } catch (const SimError& e) {
    report_sim_error(e.what());
  }
  free_.push_back(id);
}

// Runs every callback due now, in (time, insertion) order. Then, if run-ahead is on, it
// may go on to the next time in the heap without returning to the kernel: that is what the
// kernel would do next anyway when no other SystemC process has anything to do before that
// time. Precisely, it advances only when (1) nothing is pending at the current time (no
// process made runnable, no delta notification: a callback that woke a driver thread stops
// it, so the thread runs at this time, after this time's callbacks, as before); (2) the
// kernel's next timed activity (a thread's wait, another event) is later than the next
// callback (at the same time the kernel decides the order, so it is left to it); (3) the
// next callback is within the limit of the current sc_start; (4) nobody called sc_stop.
// Time is moved by writing the kernel's current time, which sc_simcontext::time_stamp()
// hands out by reference: to the kernel this looks like a time step whose only activity was
// this method. Callbacks read the new time through now_ps() and sc_time_stamp() alike.
void Scheduler::fire() {
  constexpr uint64_t kIdMask = (uint64_t{1} << kIdBits) - 1;
  sc_core::sc_simcontext* simc = sc_core::sc_get_curr_simcontext();
  uint64_t now = now_ps();
  in_fire_ = true;
  for (;;) {
    while (!heap_.empty() && heap_.front().when_ps <= now) {
      run(static_cast<uint32_t>(pop().order & kIdMask));
    }
    while (due_head_ < due_.size()) run(due_[due_head_++]);
    due_.clear();
    due_head_ = 0;
    if (heap_.empty() || heap_.front().when_ps > run_ahead_until_ps_) break;
    if (simc->sim_status() != sc_core::SC_SIM_OK) break;
    const uint64_t next = heap_.front().when_ps;
    // Zero if something is pending now; else the time to the kernel's next timed activity.
    const uint64_t other = sc_core::sc_time_to_pending_activity(simc).value();
    if (other == 0 || next >= now + other) break;
    const_cast<sc_core::sc_time&>(simc->time_stamp()) = sc_core::sc_time::from_value(next);
    now = next;
    ++run_ahead_steps;
  }
  in_fire_ = false;
  if (!heap_.empty()) arm();
}

}  // namespace fl::detail

namespace fl {

EventQueue::EventQueue(const char*) : sched_(&detail::Scheduler::get()) {}

uint64_t EventQueue::dispatched() { return detail::Scheduler::get().dispatched; }

void start(const sc_core::sc_time& duration, uint64_t event_budget) {
  detail::Scheduler& s = detail::Scheduler::get();
  s.set_run_ahead_limit(now_ps() + duration.value());
  s.event_budget = event_budget;
  s.arm_checks();
  sc_core::sc_start(duration);
  s.set_run_ahead_limit(0);
  s.event_budget = 0;
  s.arm_checks();
}

void set_progress_observer(std::function<void()> fn) {
  detail::Scheduler& s = detail::Scheduler::get();
  s.progress = std::move(fn);
  s.arm_checks();
}

}  // namespace fl
