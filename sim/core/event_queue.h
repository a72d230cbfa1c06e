// A timed callback queue: the one mechanism by which modules schedule their own future
// work. Every EventQueue feeds one process-wide scheduler: a single heap ordered by
// (time, insertion), driven by one sc_event and one SystemC method process, so the SystemC
// kernel is involved once per distinct simulated time rather than once per callback.
// Callbacks run in (time, insertion) order across all queues, so runs are deterministic.
// The scheduler is also the single place the kernel-event count is taken.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>
#include <systemc>

namespace fl {

class EventQueue {
 public:
  using Callback = std::function<void()>;

  // Must be constructed during elaboration the first time (the scheduler spawns its
  // method process then). `name` names the queue for diagnostics.
  explicit EventQueue(const char* name);
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Runs `fn` `delay` from now. A zero delay runs it later in the current time step.
  void schedule(const sc_core::sc_time& delay, Callback fn);
  // Runs `fn` at absolute time `when` (not in the past).
  void schedule_at(const sc_core::sc_time& when, Callback fn);

  // No callback of this queue is pending.
  bool empty() const { return pending_ == 0; }

  // Callbacks dispatched by every queue of this process so far (stats.json meta).
  static uint64_t dispatched();

 private:
  friend class Scheduler;
  uint64_t pending_ = 0;
};

}  // namespace fl
