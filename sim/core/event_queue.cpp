#include "sim/core/event_queue.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/errors.h"
#include "sim/core/sim_status.h"

namespace fl {

// The process-wide scheduler behind every EventQueue.
//
// Order: callbacks run in (time, insertion) order. Those due later than now wait in a heap
// keyed by (time, insertion number); those posted for now (zero delay, or a time already
// past) go to a FIFO instead. That is the same order: a post made at time T for time T
// always goes to the FIFO, so every heap entry due at T was posted before T and was
// inserted before anything in the FIFO. fire() therefore runs the heap's entries due now,
// then the FIFO in posting order (a callback run from the FIFO can only add to the FIFO).
class Scheduler {
 public:
  static Scheduler& get() {
    static Scheduler* s = new Scheduler();  // never destroyed: queues may outlive statics
    return *s;
  }

  detail::Task& new_task(uint32_t* id) {
    if (free_.empty()) grow();
    *id = free_.back();
    free_.pop_back();
    return task(*id);
  }

  void post(uint32_t id, uint64_t at) {
    const uint64_t now = now_ps();
    if (at <= now) {
      due_.push_back(id);
      // While fire() runs it drains the FIFO itself.
      if (!in_fire_ && due_.size() - due_head_ == 1) arm();
      return;
    }
    const bool new_head = heap_.empty() || at < heap_.front().when_ps;
    heap_.push_back(Item{at, seq_++, id});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
    // While fire() runs it re-arms the event itself once it is done.
    if (new_head && !in_fire_) arm();
  }

  uint64_t dispatched = 0;

 private:
  // Trivially copyable, so heap moves are plain copies; the callback stays in its slot.
  struct Item {
    uint64_t when_ps;
    uint64_t seq;
    uint32_t task;
  };
  struct Later {
    bool operator()(const Item& a, const Item& b) const {
      return a.when_ps != b.when_ps ? a.when_ps > b.when_ps : a.seq > b.seq;
    }
  };
  static constexpr uint32_t kChunkShift = 10;
  static constexpr uint32_t kChunkMask = (1u << kChunkShift) - 1;

  Scheduler() : event_("fl_scheduler_ev") {
    sc_core::sc_spawn_options opts;
    opts.spawn_method();
    opts.set_sensitivity(&event_);
    opts.dont_initialize();
    sc_core::sc_spawn([this] { fire(); }, "fl_scheduler", &opts);
  }

  detail::Task& task(uint32_t id) { return chunks_[id >> kChunkShift][id & kChunkMask]; }

  // Slots live in fixed chunks, so a callback never moves while it waits or runs.
  void grow() {
    const auto base = static_cast<uint32_t>(chunks_.size()) << kChunkShift;
    chunks_.push_back(std::make_unique<detail::Task[]>(size_t{1} << kChunkShift));
    for (uint32_t i = kChunkMask + 1; i-- > 0;) free_.push_back(base + i);
  }

  void arm() {
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

  void run(uint32_t id) {
    detail::Task& t = task(id);
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

  void fire() {
    const uint64_t now = now_ps();
    in_fire_ = true;
    while (!heap_.empty() && heap_.front().when_ps <= now) {
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      const uint32_t id = heap_.back().task;
      heap_.pop_back();
      run(id);
    }
    while (due_head_ < due_.size()) run(due_[due_head_++]);
    due_.clear();
    due_head_ = 0;
    in_fire_ = false;
    if (!heap_.empty()) arm();
  }

  sc_core::sc_event event_;
  std::vector<Item> heap_;
  std::vector<uint32_t> due_;  // the FIFO of callbacks due now; [due_head_, end) pending
  size_t due_head_ = 0;
  std::vector<std::unique_ptr<detail::Task[]>> chunks_;
  std::vector<uint32_t> free_;
  uint64_t seq_ = 0;
  bool in_fire_ = false;
};

namespace detail {
Task& new_task(uint32_t* id) { return Scheduler::get().new_task(id); }
void post_task(uint32_t id, uint64_t at_ps) { Scheduler::get().post(id, at_ps); }
}  // namespace detail

EventQueue::EventQueue(const char*) { Scheduler::get(); }

uint64_t EventQueue::dispatched() { return Scheduler::get().dispatched; }

}  // namespace fl
