// Wake-up events for threads that block in a module (a lock's waiters, a core's queue, an
// MMIO read awaiting its response), owned by the module rather than the waiting thread.
//
// Why not an sc_event on the waiting thread's stack: a run that ends while a thread is
// still blocked (exit 3 on a stall or deadlock, the time limit) never unwinds that thread's
// stack, so the event's destructor never runs and what SystemC allocated for it (the list
// of processes waiting on it) is lost; LeakSanitizer reports it. Events owned by the module
// are destroyed with it. Reuse also saves constructing an event per wait on the fault path.
#pragma once

#include <memory>
#include <vector>
#include <systemc>

namespace fl {

class WakeEvents {
 public:
  // An event nobody else is using; give it back with put() once the wait is over.
  sc_core::sc_event* get() {
    if (free_.empty()) {
      all_.push_back(std::make_unique<sc_core::sc_event>());
      return all_.back().get();
    }
    sc_core::sc_event* e = free_.back();
    free_.pop_back();
    return e;
  }
  void put(sc_core::sc_event* e) { free_.push_back(e); }

  // Holds one event for a scope.
  class Scoped {
   public:
    explicit Scoped(WakeEvents& pool) : pool_(pool), event_(pool.get()) {}
    ~Scoped() { pool_.put(event_); }
    Scoped(const Scoped&) = delete;
    Scoped& operator=(const Scoped&) = delete;
    sc_core::sc_event& operator*() const { return *event_; }
    sc_core::sc_event* get() const { return event_; }

   private:
    WakeEvents& pool_;
    sc_core::sc_event* event_;
  };

 private:
  std::vector<std::unique_ptr<sc_core::sc_event>> all_;
  std::vector<sc_core::sc_event*> free_;
};

}  // namespace fl
