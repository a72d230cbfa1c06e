#include "sim/core/event_queue.h"

#include <algorithm>
#include <string>

#include "sim/core/errors.h"
#include "sim/core/sim_status.h"

namespace fl {

uint64_t EventQueue::dispatched_ = 0;

EventQueue::EventQueue(const char* name) : event_((std::string(name) + "_ev").c_str()) {
  sc_core::sc_spawn_options opts;
  opts.spawn_method();
  opts.set_sensitivity(&event_);
  opts.dont_initialize();
  sc_core::sc_spawn([this] { fire(); }, name, &opts);
}

void EventQueue::schedule(const sc_core::sc_time& delay, Callback fn) {
  schedule_at(sc_core::sc_time_stamp() + delay, std::move(fn));
}

void EventQueue::schedule_at(const sc_core::sc_time& when, Callback fn) {
  const uint64_t now = sc_core::sc_time_stamp().value();
  const uint64_t at = std::max<uint64_t>(when.value(), now);
  const bool new_head = heap_.empty() || at < heap_.front().when_ps;
  heap_.push_back(Item{at, seq_++, std::move(fn)});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
  // While fire() runs it re-arms the event itself once it is done.
  if (new_head && !in_fire_) arm();
}

void EventQueue::arm() {
  const uint64_t now = sc_core::sc_time_stamp().value();
  const uint64_t at = heap_.front().when_ps;
  // An earlier notification overrides a pending later one (IEEE 1666 sc_event::notify).
  event_.notify(sc_core::sc_time::from_value(at > now ? at - now : 0));
}

void EventQueue::fire() {
  const uint64_t now = sc_core::sc_time_stamp().value();
  in_fire_ = true;
  while (!heap_.empty() && heap_.front().when_ps <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    Callback fn = std::move(heap_.back().fn);
    heap_.pop_back();
    ++dispatched_;
    try {
      fn();
    } catch (const InputError& e) {
      report_run_error(kExitInput, e.what());
    } catch (const SimError& e) {
      report_sim_error(e.what());
    }
  }
  in_fire_ = false;
  if (!heap_.empty()) arm();
}

}  // namespace fl
