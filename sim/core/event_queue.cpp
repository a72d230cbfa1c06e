#include "sim/core/event_queue.h"

#include <algorithm>
#include <string>

#include "sim/core/errors.h"
#include "sim/core/sim_status.h"

namespace fl {

// The process-wide heap behind every EventQueue.
class Scheduler {
 public:
  static Scheduler& get() {
    static Scheduler* s = new Scheduler();  // never destroyed: queues may outlive statics
    return *s;
  }

  void schedule_at(EventQueue* q, uint64_t at, EventQueue::Callback fn) {
    const uint64_t now = sc_core::sc_time_stamp().value();
    at = std::max(at, now);
    const bool new_head = heap_.empty() || at < heap_.front().when_ps;
    heap_.push_back(Item{at, seq_++, q, std::move(fn)});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
    ++q->pending_;
    // While fire() runs it re-arms the event itself once it is done.
    if (new_head && !in_fire_) arm();
  }

  uint64_t dispatched = 0;

 private:
  struct Item {
    uint64_t when_ps;
    uint64_t seq;
    EventQueue* queue;
    EventQueue::Callback fn;
  };
  struct Later {
    bool operator()(const Item& a, const Item& b) const {
      return a.when_ps != b.when_ps ? a.when_ps > b.when_ps : a.seq > b.seq;
    }
  };

  Scheduler() : event_("fl_scheduler_ev") {
    sc_core::sc_spawn_options opts;
    opts.spawn_method();
    opts.set_sensitivity(&event_);
    opts.dont_initialize();
    sc_core::sc_spawn([this] { fire(); }, "fl_scheduler", &opts);
  }

  void arm() {
    const uint64_t now = sc_core::sc_time_stamp().value();
    const uint64_t at = heap_.front().when_ps;
    // An earlier notification overrides a pending later one (IEEE 1666 sc_event::notify).
    event_.notify(sc_core::sc_time::from_value(at > now ? at - now : 0));
  }

  void fire() {
    const uint64_t now = sc_core::sc_time_stamp().value();
    in_fire_ = true;
    while (!heap_.empty() && heap_.front().when_ps <= now) {
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      Item it = std::move(heap_.back());
      heap_.pop_back();
      --it.queue->pending_;
      ++dispatched;
      try {
        it.fn();
      } catch (const InputError& e) {
        report_run_error(kExitInput, e.what());
      } catch (const SimError& e) {
        report_sim_error(e.what());
      }
    }
    in_fire_ = false;
    if (!heap_.empty()) arm();
  }

  sc_core::sc_event event_;
  std::vector<Item> heap_;
  uint64_t seq_ = 0;
  bool in_fire_ = false;
};

EventQueue::EventQueue(const char*) { Scheduler::get(); }

void EventQueue::schedule(const sc_core::sc_time& delay, Callback fn) {
  Scheduler::get().schedule_at(this, (sc_core::sc_time_stamp() + delay).value(), std::move(fn));
}

void EventQueue::schedule_at(const sc_core::sc_time& when, Callback fn) {
  Scheduler::get().schedule_at(this, when.value(), std::move(fn));
}

uint64_t EventQueue::dispatched() { return Scheduler::get().dispatched; }

}  // namespace fl
