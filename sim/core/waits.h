// Who is blocked on what, right now: every wait in the driver model that can last for
// ever (a fence, a lock, a queue preemption, a condition) registers itself for its
// duration, so that a run which stops making progress (the watchdog, a deadlock, the
// time limit; exit 3) can say what each blocked thread was waiting for and since when.
//
// Registration is cheap (no allocation: the description is a static string, an object
// name owned by a SystemC module, and a number), because fence waits happen per job.
//
// Deadlocks: a wait on a WaitResource (a lock, and whatever else says who must act before
// its waiters can go on) is an edge of a wait-for graph: process -> resource -> its owners
// (the processes that hold it, or resources they in turn wait on). When a new wait closes a
// cycle, no thread of the cycle can ever go on: the run stops at once with a simulation
// error (exit 3) that prints the cycle, each waiter with what it waits for and since when
// and who owns that (as lockdep prints a circular dependency), instead of idling until the
// watchdog. The check walks the graph only when such a wait begins (a contended lock), so
// an uncontended run pays nothing for it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>
#include <systemc>

namespace fl {

// Something a thread can wait on that others hold or must act on (see above).
class WaitResource {
 public:
  virtual ~WaitResource() = default;
  // What it is, for the report: "lock soc.host.mmap_lock".
  virtual std::string wait_label() const = 0;
  // How its owners relate to it: "held by", "signalled by".
  virtual const char* owner_relation() const = 0;
  // Who must act before a waiter can go on: processes, and resources (whose own owners
  // must act first).
  virtual void wait_owners(std::vector<const sc_core::sc_process_b*>& processes,
                           std::vector<const WaitResource*>& resources) const = 0;
};

class Waits {
 public:
  // `what` is a static description ("fence", "lock"); `object` names what is waited on
  // (a module's name, which outlives the wait); `number` qualifies it (a fence sequence
  // number; 0: none). The waiter is the calling SystemC process.
  // With `on`, the wait is also an edge of the wait-for graph; if it closes a cycle the run
  // stops with the cycle as its simulation error (the caller still blocks, until the
  // kernel stops).
  static uint64_t begin(const char* what, const char* object, uint64_t number = 0, const WaitResource* on = nullptr);
  static void end(uint64_t id);
  // One line per current wait, oldest first: "<process> waits for <what> <object>[ #n]
  // since <time>".
  static std::vector<std::string> describe();
  // describe() joined for a message ("; " between waits), or "no thread is blocked".
  static std::string summary();
  static size_t pending();
  // Waits that have ended so far (a watchdog's measure of progress).
  static uint64_t ended();
  // Deadlocks found so far (a run stops at its first; tests read it).
  static uint64_t deadlocks();
  // The cycle `process` would close by waiting on `on`, as the report's lines (empty: none).
  static std::vector<std::string> cycle_through(const sc_core::sc_process_b* process, const WaitResource* on);
  // A resource gained an owner that is not a process (a resource it now waits for): that
  // can close a cycle of waits that have all begun already, so they are walked again.
  static void recheck();
};

// Registers a wait for the scope.
class ScopedWait {
 public:
  ScopedWait(const char* what, const char* object, uint64_t number = 0, const WaitResource* on = nullptr)
      : id_(Waits::begin(what, object, number, on)) {}
  ~ScopedWait() { Waits::end(id_); }
  ScopedWait(const ScopedWait&) = delete;
  ScopedWait& operator=(const ScopedWait&) = delete;

 private:
  uint64_t id_;
};

}  // namespace fl
