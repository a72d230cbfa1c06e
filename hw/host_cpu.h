// Host CPU cores that run the driver model's work.
//
// Models: `cores` identical cores. A driver thread acquires a core for a stretch of work
// (Slot), spends time on it (compute), issues MMIO through it, and releases it when it
// sleeps or finishes; while every core is held, acquirers wait, hard-interrupt work ahead
// of other work, each class in arrival order. A posted MMIO write costs the core a fixed
// time and then travels on its own; an MMIO read stalls the core until the completion
// returns over the link.
// Per core, the time it spent on driver work (utilisation per core).
// Locks (HostLock): the kernel's sleeping locks (mutex, rw-semaphore, reservation
// ww_mutex) with FIFO hand-over; a writer waiting blocks later readers (rwsem fairness).
// The time each acquisition waited is a stat of the lock. Each lock knows its holders, so a
// cycle of lock waits is found as it closes and stops the run (sim/core/waits.h).
// Abstracts away: preemption of running work (a hard IRQ waits for a core rather than
// interrupting one), caches, frequency, OS scheduling beyond "first free core",
// optimistic spinning on locks and ww_mutex deadlock back-off.
//
// Ports: mmio (AT initiator, towards the GPU's registers).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
#include <systemc>

#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/txn.h"
#include "sim/core/waits.h"
#include "sim/core/wake_events.h"

namespace fl::hw {

enum class WorkClass { kHardIrq, kWorker, kIoctl };

class HostCpu : public sc_core::sc_module {
 public:
  HostCpu(sc_core::sc_module_name name, const config::HostCpu& cfg);

  AtInitiatorPort mmio;

  // A core held by the calling SystemC thread; released on destruction.
  class Slot {
   public:
    Slot(HostCpu& cpu, int core) : cpu_(&cpu), core_(core) {}
    Slot(Slot&& o) noexcept : cpu_(o.cpu_), core_(o.core_) { o.cpu_ = nullptr; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot() { release(); }

    void compute(const sc_core::sc_time& t);
    void compute_ns(double ns);
    void mmio_write(uint64_t reg, uint32_t value);
    uint32_t mmio_read(uint64_t reg);
    void release();
    int core() const { return core_; }

   private:
    HostCpu* cpu_;
    int core_;
  };

  // Waits (from an SC_THREAD) for a free core.
  Slot acquire(WorkClass cls);

  uint32_t cores() const { return static_cast<uint32_t>(busy_since_ps_.size()); }
  double lock_wakeup_ns() const { return cfg_.lock_wakeup_ns(); }

 private:
  friend class Slot;
  struct Waiter {
    WorkClass cls;
    sc_core::sc_event* wake;
    int core = -1;
  };
  void release(int core);
  void on_mmio_response(Payload& gp);

  config::HostCpu cfg_;
  std::vector<uint64_t> busy_since_ps_;  // per core; kFree when idle
  std::vector<double> core_busy_ns_;     // per core, completed stretches of work
  std::deque<Waiter*> waiters_;
  TxnPool pool_;
  std::unordered_map<Payload*, sc_core::sc_event*> mmio_waits_;
  WakeEvents wake_events_;  // for the waits above

  static constexpr uint64_t kFree = ~uint64_t{0};

  stats::Group stats_;
  stats::Value busy_ns_{stats_, "busy_ns", "ns", "Core time spent on driver work, summed over cores"};
  stats::Histogram wait_ns_{stats_, "wait_ns", "ns", "Time work waited for a free core"};
  stats::Counter irq_work_{stats_, "irq_work", "count", "Hard-interrupt work items run"};
  stats::Counter worker_work_{stats_, "worker_work", "count", "Worker (process context) work items run"};
  stats::Counter ioctl_work_{stats_, "ioctl_work", "count", "System-call work items run"};
  stats::Counter mmio_writes_{stats_, "mmio_writes", "count", "Posted MMIO writes issued"};
  stats::Histogram mmio_read_ns_{stats_, "mmio_read_ns", "ns", "Round trip of an MMIO read"};
  stats::Formula utilisation_;
  std::vector<std::unique_ptr<stats::Formula>> core_utilisation_;
};

// A sleeping lock of the host kernel, SystemC module named after what it protects
// (driver.svm.mmap_lock, ...). lock() blocks the calling SC_THREAD until granted: at once
// if free (or, shared, if only readers hold it and no writer waits), otherwise in FIFO
// order as holders unlock. The caller decides what waiting costs (driver::DriverThread
// gives its core up and pays the scheduler wake-up).
// A lock is a node of the wait-for graph (sim/core/waits.h): its holders are the processes
// that took it, so a cycle of lock waits stops the run with the cycle printed.
//
// SleepLock is the lock itself, not a module, so the driver can make one at run time (a
// buffer object's reservation); HostLock is one in the module hierarchy with its stats.
class SleepLock : public WaitResource {
 public:
  SleepLock(std::string name, bool rw) : name_(std::move(name)), rw_(rw) {}
  SleepLock(const SleepLock&) = delete;
  SleepLock& operator=(const SleepLock&) = delete;

  // Takes the lock if that needs no wait; true if taken.
  bool try_lock(bool shared);
  // Blocks until the lock is held; the picoseconds it waited.
  uint64_t lock(bool shared);
  void unlock(bool shared);
  // A writer of a reader-writer lock becomes a reader without letting a writer in
  // (downgrade_write, as mmap_write_downgrade).
  void downgrade();
  bool locked() const { return writer_ || readers_ > 0; }
  const std::string& name() const { return name_; }

  std::string wait_label() const override { return "lock " + name_; }
  const char* owner_relation() const override { return "held by"; }
  void wait_owners(std::vector<const sc_core::sc_process_b*>& processes,
                   std::vector<const WaitResource*>&) const override {
    processes.insert(processes.end(), holders_.begin(), holders_.end());
  }

 private:
  void grant_waiters();
  struct Waiter {
    bool shared;
    sc_core::sc_event* wake;
    const sc_core::sc_process_b* process;
    bool granted = false;
  };
  bool can_take(bool shared) const;
  void take(bool shared, const sc_core::sc_process_b* holder);

  std::string name_;
  bool rw_;
  bool writer_ = false;
  uint32_t readers_ = 0;
  std::deque<Waiter*> waiters_;
  std::vector<const sc_core::sc_process_b*> holders_;  // one entry per hold (readers repeat)
  WakeEvents wake_events_;
};

class HostLock : public sc_core::sc_module {
 public:
  HostLock(sc_core::sc_module_name name, bool rw) : sc_module(name), lock_(this->name(), rw) {}

  bool try_lock(bool shared) {
    if (!lock_.try_lock(shared)) return false;
    ++acquisitions_;
    wait_ns_.sample(0);
    return true;
  }
  void lock(bool shared) {
    if (try_lock(shared)) return;
    ++contended_;
    const uint64_t waited_ps = lock_.lock(shared);
    ++acquisitions_;
    wait_ns_.sample(static_cast<double>(waited_ps) / 1000.0);
  }
  void unlock(bool shared) { lock_.unlock(shared); }
  void downgrade() { lock_.downgrade(); }
  // The lock itself (its node in the wait-for graph).
  SleepLock& core() { return lock_; }

 private:
  SleepLock lock_;
  stats::Group stats_;
  stats::Counter acquisitions_{stats_, "acquisitions", "count", "Times the lock was taken"};
  stats::Counter contended_{stats_, "contended", "count", "Acquisitions that had to wait"};
  stats::Histogram wait_ns_{stats_, "wait_ns", "ns", "Time an acquisition waited for the lock (0 when uncontended)"};
};

}  // namespace fl::hw
