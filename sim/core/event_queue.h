// A timed callback queue: the one mechanism by which modules schedule their own future
// work. Every EventQueue feeds one process-wide scheduler: a single heap ordered by
// (time, insertion), driven by two sc_events (the heap's head is due; work is due now) and
// one SystemC method process, so the SystemC kernel is involved once per distinct simulated
// time rather than once per callback.
// Callbacks run in (time, insertion) order across all queues, so runs are deterministic.
// The scheduler is also the single place the kernel-event count is taken.
//
// Cost matters here: a translation that walks the page tables is about eight callbacks.
// So a callback is stored in place in a pooled slot (no std::function, no allocation for
// captures up to detail::Task::kInlineBytes), posting is inline, the heap orders 16-byte
// trivially copyable keys, and a callback due now (zero delay) skips the heap for a FIFO;
// detail::Scheduler says why that keeps the (time, insertion) order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>
#include <systemc>

#include "sim/core/time.h"

namespace fl {

class EventQueue;

namespace detail {

// A pending callback, stored in place in the scheduler's slot pool (slots never move).
struct Task {
  // Room for a lambda capturing `this` plus a few values, or a std::function.
  static constexpr size_t kInlineBytes = 48;
  alignas(std::max_align_t) unsigned char storage[kInlineBytes];
  void (*run)(Task&) = nullptr;  // calls the callable, then destroys it (even if it throws)
  EventQueue* queue = nullptr;
};

// The process-wide scheduler behind every EventQueue. Posting a callback is inline (it
// happens several times per simulated memory access); running them is in event_queue.cpp.
//
// Order: callbacks run in (time, insertion) order. Those due later than now wait in a heap
// keyed by (time, insertion number); those posted for now (zero delay, or a time already
// past) go to a FIFO instead. That is the same order: a post made at time T for time T
// always goes to the FIFO, so every heap entry due at T was posted before T and was
// inserted before anything in the FIFO. fire() therefore runs the heap's entries due now,
// then the FIFO in posting order (a callback run from the FIFO can only add to the FIFO).
class Scheduler {
 public:
  static Scheduler& get();

  // A free slot; its index goes back with post().
  Task& new_task(uint32_t* id) {
    if (free_.empty()) grow();
    *id = free_.back();
    free_.pop_back();
    return task(*id);
  }

  // Queues the filled slot `id` to run at `at_ps` (clamped to now).
  void post(uint32_t id, uint64_t at_ps) {
    const uint64_t now = now_ps();
    if (at_ps <= now) {
      due_.push_back(id);
      // While fire() runs it drains the FIFO itself.
      if (!in_fire_ && due_.size() - due_head_ == 1) arm();
      return;
    }
    if (seq_ == kMaxSeq) renumber();
    const bool new_head = heap_.empty() || at_ps < heap_.front().when_ps;
    push(Item{at_ps, (seq_++ << kIdBits) | id});
    // While fire() runs it re-arms the event itself once it is done.
    if (new_head && !in_fire_) arm();
  }

  // Numbers the pending heap entries again from zero, keeping their order. Runs by itself
  // before insertion numbers would overflow; safe at any time.
  void renumber();

  // Lets fire() move simulated time forward itself, up to and including `until_ps`
  // (absolute), instead of returning to the SystemC kernel once per distinct time; 0 turns
  // it off (the default, for code that runs the kernel with plain sc_start). See fl::start.
  void set_run_ahead_limit(uint64_t until_ps) { run_ahead_until_ps_ = until_ps; }
  // Distinct simulated times fire() reached without the kernel (stats.json meta).
  uint64_t run_ahead_steps = 0;

  uint64_t dispatched = 0;
  // The run stops with a simulation error once `dispatched` reaches this (0: no budget).
  uint64_t event_budget = 0;
  // Called every kProgressEvery callbacks while set (a host-side observer, e.g. the progress
  // line: it must not schedule anything, so that it cannot change a result).
  std::function<void()> progress;
  static constexpr uint64_t kProgressEvery = uint64_t{1} << 16;
  // The next `dispatched` at which the budget or the progress observer is due.
  uint64_t next_check = UINT64_MAX;
  void arm_checks();
  void checkpoint();

 private:
  // The insertion number and the slot share one word: numbers below 2^40 (renumbered
  // if a run ever gets there), slots below 2^24.
  static constexpr unsigned kIdBits = 24;
  static constexpr uint64_t kMaxSeq = uint64_t{1} << (64 - kIdBits);
  static constexpr uint32_t kChunkShift = 10;
  static constexpr uint32_t kChunkMask = (1u << kChunkShift) - 1;

  // Trivially copyable, so heap moves are plain copies; the callback stays in its slot.
  struct Item {
    uint64_t when_ps;
    uint64_t order;  // insertion number << kIdBits | slot
    bool before(const Item& o) const {
      return when_ps != o.when_ps ? when_ps < o.when_ps : order < o.order;
    }
  };

  Scheduler();
  Task& task(uint32_t id) { return chunks_[id >> kChunkShift][id & kChunkMask]; }
  void grow();
  void arm();
  void fire();
  void run(uint32_t id);

  // A binary min-heap, moving a hole instead of swapping.
  void push(Item it) {
    size_t i = heap_.size();
    heap_.push_back(it);
    while (i > 0) {
      const size_t parent = (i - 1) / 2;
      if (!it.before(heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = it;
  }
  Item pop() {
    const Item top = heap_.front();
    const Item last = heap_.back();
    heap_.pop_back();
    const size_t n = heap_.size();
    if (n > 0) {
      size_t i = 0;
      for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_[c + 1].before(heap_[c])) ++c;
        if (!heap_[c].before(last)) break;
        heap_[i] = heap_[c];
        i = c;
      }
      heap_[i] = last;
    }
    return top;
  }

  sc_core::sc_event event_;      // the heap's head is due (a timed notification)
  sc_core::sc_event due_event_;  // the FIFO has callbacks due now (a delta notification)
  std::vector<Item> heap_;
  std::vector<uint32_t> due_;  // the FIFO of callbacks due now; [due_head_, end) pending
  size_t due_head_ = 0;
  std::vector<std::unique_ptr<Task[]>> chunks_;
  std::vector<uint32_t> free_;
  uint64_t seq_ = 0;
  bool in_fire_ = false;
  uint64_t run_ahead_until_ps_ = 0;
};

template <class Fn>
void run_inline(Task& t) {
  Fn* f = std::launder(reinterpret_cast<Fn*>(t.storage));
  struct Destroy {
    Fn* f;
    ~Destroy() { f->~Fn(); }
  } destroy{f};
  (*f)();
}

template <class Fn>
void run_boxed(Task& t) {
  Fn* f = *std::launder(reinterpret_cast<Fn**>(t.storage));
  struct Destroy {
    Fn* f;
    ~Destroy() { delete f; }
  } destroy{f};
  (*f)();
}

}  // namespace detail

// Runs the SystemC kernel for `duration` (sc_start), letting the scheduler advance time by
// itself while nothing but its callbacks has anything to do; see Scheduler::fire in
// event_queue.cpp. Results are the same as with sc_start: only the count of kernel time
// steps (and delta cycles) falls. A non-zero `event_budget` stops the run with a simulation
// error (exit 3) once that many callbacks have run in this process (sim.max_events).
void start(const sc_core::sc_time& duration, uint64_t event_budget = 0);
// `fn` runs every few tens of thousands of scheduler callbacks during fl::start, for host-side
// observers (progress). It must not schedule simulated work. An empty function removes it.
void set_progress_observer(std::function<void()> fn);

class EventQueue {
 public:
  using Callback = std::function<void()>;

  // Must be constructed during elaboration the first time (the scheduler spawns its
  // method process then). `name` names the queue for diagnostics.
  explicit EventQueue(const char* name);
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Runs `fn` (any callable taking no arguments) `delay` from now. A zero delay runs it
  // later in the current time step, after every callback already due now.
  template <class F>
  void schedule(const sc_core::sc_time& delay, F&& fn) {
    post(now_ps() + delay.value(), std::forward<F>(fn));
  }
  // Runs `fn` at absolute time `when` (not in the past).
  template <class F>
  void schedule_at(const sc_core::sc_time& when, F&& fn) {
    post(when.value(), std::forward<F>(fn));
  }
  // The same in picoseconds, for callers that compute times as integers (no sc_time).
  template <class F>
  void schedule_ps(uint64_t delay_ps, F&& fn) {
    post(now_ps() + delay_ps, std::forward<F>(fn));
  }
  template <class F>
  void schedule_at_ps(uint64_t when_ps, F&& fn) {
    post(when_ps, std::forward<F>(fn));
  }

  // No callback of this queue is pending.
  bool empty() const { return pending_ == 0; }

  // Callbacks dispatched by every queue of this process so far (stats.json meta).
  static uint64_t dispatched();

 private:
  friend class detail::Scheduler;

  template <class F>
  void post(uint64_t at_ps, F&& fn) {
    using Fn = std::decay_t<F>;
    if constexpr (sizeof(Fn) <= detail::Task::kInlineBytes &&
                  alignof(Fn) <= alignof(std::max_align_t) &&
                  std::is_nothrow_move_constructible_v<Fn>) {
      if constexpr (std::is_nothrow_constructible_v<Fn, F&&>) {
        uint32_t id;
        detail::Task& t = sched_->new_task(&id);
        ::new (static_cast<void*>(t.storage)) Fn(std::forward<F>(fn));
        t.run = &detail::run_inline<Fn>;
        commit(t, id, at_ps);
      } else {
        // Copy first (it may throw), so that a failed copy leaves no slot taken.
        Fn copy(std::forward<F>(fn));
        post(at_ps, std::move(copy));
      }
    } else {
      Fn* boxed = new Fn(std::forward<F>(fn));
      uint32_t id;
      detail::Task& t = sched_->new_task(&id);
      ::new (static_cast<void*>(t.storage)) Fn*(boxed);
      t.run = &detail::run_boxed<Fn>;
      commit(t, id, at_ps);
    }
  }
  void commit(detail::Task& t, uint32_t id, uint64_t at_ps) {
    t.queue = this;
    ++pending_;
    sched_->post(id, at_ps);
  }

  detail::Scheduler* sched_;
  uint64_t pending_ = 0;
};

}  // namespace fl
