// A timed callback queue: the one mechanism by which modules schedule their own future
// work. Each queue owns one sc_event and one SystemC method process; callbacks run in
// (time, insertion) order, so runs are deterministic. Far cheaper than one sc_event per
// pending item, and the single place the kernel-event count is taken.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>
#include <systemc>

namespace fl {

class EventQueue {
 public:
  using Callback = std::function<void()>;

  // Must be constructed during elaboration (it spawns a method process in the current
  // module). `name` names that process.
  explicit EventQueue(const char* name);
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Runs `fn` `delay` from now. A zero delay runs it later in the current time step.
  void schedule(const sc_core::sc_time& delay, Callback fn);
  // Runs `fn` at absolute time `when` (not in the past).
  void schedule_at(const sc_core::sc_time& when, Callback fn);

  bool empty() const { return heap_.empty(); }

  // Callbacks dispatched by every queue of this process so far (stats.json meta).
  static uint64_t dispatched() { return dispatched_; }

 private:
  struct Item {
    uint64_t when_ps;
    uint64_t seq;
    Callback fn;
  };
  struct Later {
    bool operator()(const Item& a, const Item& b) const {
      return a.when_ps != b.when_ps ? a.when_ps > b.when_ps : a.seq > b.seq;
    }
  };

  void fire();
  void arm();

  sc_core::sc_event event_;
  std::vector<Item> heap_;
  uint64_t seq_ = 0;
  bool in_fire_ = false;
  static uint64_t dispatched_;
};

}  // namespace fl
