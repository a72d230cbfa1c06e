// Who is blocked on what, right now: every wait in the driver model that can last for
// ever (a fence, a lock, a queue preemption, a condition) registers itself for its
// duration, so that a run which stops making progress (the watchdog, a deadlock, the
// time limit; exit 3) can say what each blocked thread was waiting for and since when.
//
// Registration is cheap (no allocation: the description is a static string, an object
// name owned by a SystemC module, and a number), because fence waits happen per job.
#pragma once

#include <cstdint>
#include <string>
#include <vector>
#include <systemc>

namespace fl {

class Waits {
 public:
  // `what` is a static description ("fence", "lock"); `object` names what is waited on
  // (a module's name, which outlives the wait); `number` qualifies it (a fence sequence
  // number; 0: none). The waiter is the calling SystemC process.
  static uint64_t begin(const char* what, const char* object, uint64_t number = 0);
  static void end(uint64_t id);
  // One line per current wait, oldest first: "<process> waits for <what> <object>[ #n]
  // since <time>".
  static std::vector<std::string> describe();
  // describe() joined for a message ("; " between waits), or "no thread is blocked".
  static std::string summary();
  static size_t pending();
  // Waits that have ended so far (a watchdog's measure of progress).
  static uint64_t ended();
};

// Registers a wait for the scope.
class ScopedWait {
 public:
  ScopedWait(const char* what, const char* object, uint64_t number = 0) : id_(Waits::begin(what, object, number)) {}
  ~ScopedWait() { Waits::end(id_); }
  ScopedWait(const ScopedWait&) = delete;
  ScopedWait& operator=(const ScopedWait&) = delete;

 private:
  uint64_t id_;
};

}  // namespace fl
