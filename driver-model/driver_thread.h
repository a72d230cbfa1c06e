// The execution context of one driver thread (an interrupt handler, the ih_soft worker, a
// process in an ioctl): it takes a host CPU core when it has work to do, keeps it while it
// computes, busy-waits or reads MMIO, and gives it up when it sleeps.
#pragma once

#include <functional>
#include <optional>
#include <systemc>

#include "hw/host_cpu.h"
#include "sim/core/time.h"
#include "sim/core/waits.h"

namespace fl::driver {

class DriverThread {
 public:
  DriverThread(hw::HostCpu& cpu, hw::WorkClass cls) : cpu_(cpu), cls_(cls) {}
  DriverThread(const DriverThread&) = delete;
  DriverThread& operator=(const DriverThread&) = delete;

  // Spends `ns` of core time (taking a core first if this thread holds none).
  void compute_ns(double ns) { core().compute_ns(ns); }
  void compute(const sc_core::sc_time& t) { core().compute(t); }
  void mmio_write(uint64_t reg, uint32_t value) { core().mmio_write(reg, value); }
  uint32_t mmio_read(uint64_t reg) { return core().mmio_read(reg); }

  // Sleeps until `ready()` holds, re-checked whenever `wake` fires, without a core; resumes
  // `wakeup_ns` after being woken (scheduler latency). Returns at once if already ready.
  // `what` and `object` say what is waited for (sim/core/waits.h; `what` null: the caller
  // registered the wait itself).
  void sleep_until(sc_core::sc_event& wake, const std::function<bool()>& ready, double wakeup_ns,
                   const char* what = "an event of", const char* object = "the driver");

  // Takes a sleeping lock: at once if free; otherwise the thread gives its core up, sleeps
  // until the lock is handed to it and resumes after the scheduler wake-up.
  void lock(hw::HostLock& l, bool shared) { lock(l, l.core(), shared); }
  // The same for a lock made at run time (a reservation), which has no stats of its own.
  void lock(hw::SleepLock& l, bool shared) { lock(l, l, shared); }

  // Gives the core up (the thread is about to block or is done).
  void release() { slot_.reset(); }
  bool holds_core() const { return slot_.has_value(); }

 private:
  hw::HostCpu::Slot& core() {
    if (!slot_) slot_.emplace(cpu_.acquire(cls_));
    return *slot_;
  }

  // `node` is the lock's node in the wait-for graph, registered while the thread waits.
  template <class Lock>
  void lock(Lock& l, hw::SleepLock& node, bool shared) {
    if (l.try_lock(shared)) return;
    release();
    const ScopedWait registered("lock", node.name().c_str(), 0, &node);
    l.lock(shared);
    if (cpu_.lock_wakeup_ns() > 0) sc_core::wait(from_ns(cpu_.lock_wakeup_ns()));
  }

  hw::HostCpu& cpu_;
  hw::WorkClass cls_;
  std::optional<hw::HostCpu::Slot> slot_;
};

// Holds a lock for a scope.
class LockGuard {
 public:
  LockGuard(DriverThread& t, hw::HostLock& l, bool shared) : l_(l), shared_(shared) { t.lock(l, shared); }
  ~LockGuard() { l_.unlock(shared_); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  hw::HostLock& l_;
  bool shared_;
};

inline void DriverThread::sleep_until(sc_core::sc_event& wake, const std::function<bool()>& ready,
                                      double wakeup_ns, const char* what, const char* object) {
  if (ready()) return;
  release();
  if (what == nullptr) {
    while (!ready()) sc_core::wait(wake);
  } else {
    const ScopedWait registered(what, object);
    while (!ready()) sc_core::wait(wake);
  }
  if (wakeup_ns > 0) sc_core::wait(from_ns(wakeup_ns));
}

}  // namespace fl::driver
