// A timed callback queue: the one mechanism by which modules schedule their own future
// work. Every EventQueue feeds one process-wide scheduler: a single heap ordered by
// (time, insertion), driven by one sc_event and one SystemC method process, so the SystemC
// kernel is involved once per distinct simulated time rather than once per callback.
// Callbacks run in (time, insertion) order across all queues, so runs are deterministic.
// The scheduler is also the single place the kernel-event count is taken.
//
// Cost matters here: a translation that walks the page tables is about eight callbacks.
// So a callback is stored in place in a pooled slot (no std::function, no allocation for
// captures up to detail::Task::kInlineBytes), the heap orders small trivially copyable
// keys, and a callback due now (zero delay) skips the heap for a FIFO; see event_queue.cpp
// for why that keeps the (time, insertion) order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>
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

// A free slot of the process-wide scheduler; its index goes back with post_task().
Task& new_task(uint32_t* id);
// Queues the filled slot `id` to run at `at_ps` (clamped to now).
void post_task(uint32_t id, uint64_t at_ps);

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
  friend class Scheduler;

  template <class F>
  void post(uint64_t at_ps, F&& fn) {
    using Fn = std::decay_t<F>;
    if constexpr (sizeof(Fn) <= detail::Task::kInlineBytes &&
                  alignof(Fn) <= alignof(std::max_align_t) &&
                  std::is_nothrow_move_constructible_v<Fn>) {
      if constexpr (std::is_nothrow_constructible_v<Fn, F&&>) {
        uint32_t id;
        detail::Task& t = detail::new_task(&id);
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
      detail::Task& t = detail::new_task(&id);
      ::new (static_cast<void*>(t.storage)) Fn*(boxed);
      t.run = &detail::run_boxed<Fn>;
      commit(t, id, at_ps);
    }
  }
  void commit(detail::Task& t, uint32_t id, uint64_t at_ps) {
    t.queue = this;
    ++pending_;
    detail::post_task(id, at_ps);
  }

  uint64_t pending_ = 0;
};

}  // namespace fl
