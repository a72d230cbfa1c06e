#include "hw/host_cpu.h"

#include <algorithm>
#include <cstring>

#include "sim/core/time.h"

namespace fl::hw {

using sc_core::sc_time;
using sc_core::sc_time_stamp;

HostCpu::HostCpu(sc_core::sc_module_name name, const config::HostCpu& cfg)
    : sc_module(name),
      mmio("mmio", [this](Payload& gp) { on_mmio_response(gp); }),
      cfg_(cfg),
      busy_since_ps_(cfg.cores(), kFree),
      core_busy_ns_(cfg.cores(), 0.0),
      utilisation_(stats_, "utilisation", "ratio",
                   "Core busy time over (cores x simulated time)", [this] {
                     const double t = to_ns(sc_time_stamp()) * static_cast<double>(cores());
                     return t > 0 ? busy_ns_.value() / t : 0.0;
                   }) {
  for (size_t c = 0; c < cfg.cores(); ++c) {
    core_utilisation_.push_back(std::make_unique<stats::Formula>(
        stats_, "core" + std::to_string(c) + "_utilisation", "ratio",
        "Busy time of core " + std::to_string(c) + " over simulated time (work in progress included)",
        [this, c] {
          const uint64_t now = sc_time_stamp().value();
          double busy = core_busy_ns_[c];
          if (busy_since_ps_[c] != kFree) busy += static_cast<double>(now - busy_since_ps_[c]) / 1000.0;
          const double t = to_ns(sc_time_stamp());
          return t > 0 ? busy / t : 0.0;
        }));
  }
}

HostCpu::Slot HostCpu::acquire(WorkClass cls) {
  switch (cls) {
    case WorkClass::kHardIrq: ++irq_work_; break;
    case WorkClass::kWorker: ++worker_work_; break;
    case WorkClass::kIoctl: ++ioctl_work_; break;
  }
  const uint64_t now = sc_time_stamp().value();
  if (waiters_.empty()) {
    for (size_t c = 0; c < busy_since_ps_.size(); ++c) {
      if (busy_since_ps_[c] == kFree) {
        busy_since_ps_[c] = now;
        wait_ns_.sample(0);
        return Slot(*this, static_cast<int>(c));
      }
    }
  }
  const WakeEvents::Scoped wake(wake_events_);
  Waiter w{cls, wake.get()};
  // Hard-interrupt work goes ahead of everything but earlier hard-interrupt work.
  auto pos = waiters_.end();
  if (cls == WorkClass::kHardIrq) {
    pos = std::find_if(waiters_.begin(), waiters_.end(),
                       [](const Waiter* x) { return x->cls != WorkClass::kHardIrq; });
  }
  waiters_.insert(pos, &w);
  sc_core::wait(*wake);
  wait_ns_.sample(static_cast<double>(sc_time_stamp().value() - now) / 1000.0);
  return Slot(*this, w.core);
}

void HostCpu::release(int core) {
  const uint64_t now = sc_time_stamp().value();
  const double stretch = static_cast<double>(now - busy_since_ps_[static_cast<size_t>(core)]) / 1000.0;
  busy_ns_.add(stretch);
  core_busy_ns_[static_cast<size_t>(core)] += stretch;
  if (waiters_.empty()) {
    busy_since_ps_[static_cast<size_t>(core)] = kFree;
    return;
  }
  Waiter* w = waiters_.front();
  waiters_.pop_front();
  w->core = core;
  busy_since_ps_[static_cast<size_t>(core)] = now;
  w->wake->notify(sc_core::SC_ZERO_TIME);
}

void HostCpu::on_mmio_response(Payload& gp) {
  const auto it = mmio_waits_.find(&gp);
  if (it != mmio_waits_.end()) {
    it->second->notify(sc_core::SC_ZERO_TIME);
    mmio_waits_.erase(it);
    return;
  }
  gp.release();  // a posted write
}

void HostCpu::Slot::compute(const sc_time& t) {
  if (t > sc_core::SC_ZERO_TIME) sc_core::wait(t);
}

void HostCpu::Slot::compute_ns(double ns) { compute(from_ns(ns)); }

void HostCpu::Slot::mmio_write(uint64_t reg, uint32_t value) {
  compute_ns(cpu_->cfg_.mmio_write_ns());
  Txn& t = cpu_->pool_.acquire();
  t.setup(tlm::TLM_WRITE_COMMAND, reg, 4);
  std::memcpy(t.buffer(), &value, 4);
  ++cpu_->mmio_writes_;
  cpu_->mmio.send(t);
}

uint32_t HostCpu::Slot::mmio_read(uint64_t reg) {
  Txn& t = cpu_->pool_.acquire();
  t.setup(tlm::TLM_READ_COMMAND, reg, 4);
  const WakeEvents::Scoped done(cpu_->wake_events_);
  cpu_->mmio_waits_[&t] = done.get();
  const uint64_t start = sc_time_stamp().value();
  cpu_->mmio.send(t);
  sc_core::wait(*done);
  cpu_->mmio_read_ns_.sample(static_cast<double>(sc_time_stamp().value() - start) / 1000.0);
  uint32_t v;
  std::memcpy(&v, t.buffer(), 4);
  t.release();
  return v;
}

void HostCpu::Slot::release() {
  if (cpu_ != nullptr) {
    cpu_->release(core_);
    cpu_ = nullptr;
  }
}

// ------------------------------------------------------------------------- locks

bool SleepLock::can_take(bool shared) const {
  if (writer_) return false;
  if (shared && rw_) return waiters_.empty();  // a waiting writer blocks new readers
  return readers_ == 0;
}

void SleepLock::take(bool shared, const sc_core::sc_process_b* holder) {
  holders_.push_back(holder);
  if (shared && rw_) {
    ++readers_;
  } else {
    writer_ = true;
  }
}

bool SleepLock::try_lock(bool shared) {
  if (!can_take(shared)) return false;
  take(shared, sc_core::sc_get_current_process_b());
  return true;
}

uint64_t SleepLock::lock(bool shared) {
  if (try_lock(shared)) return 0;
  const uint64_t start = sc_time_stamp().value();
  const WakeEvents::Scoped wake(wake_events_);
  Waiter w{shared, wake.get(), sc_core::sc_get_current_process_b()};
  waiters_.push_back(&w);
  while (!w.granted) sc_core::wait(*wake);
  return sc_time_stamp().value() - start;
}

void SleepLock::downgrade() {
  // The writer becomes a reader; readers queued at the head may join it.
  writer_ = false;
  readers_ = 1;
  grant_waiters();
}

void SleepLock::unlock(bool shared) {
  // The holder releases it (as the kernel's locks require, non-owner rwsem release aside).
  const auto it = std::find(holders_.begin(), holders_.end(), sc_core::sc_get_current_process_b());
  if (it != holders_.end()) {
    holders_.erase(it);
  } else if (!holders_.empty()) {
    holders_.erase(holders_.begin());
  }
  if (shared && rw_) {
    --readers_;
  } else {
    writer_ = false;
  }
  grant_waiters();
}

void SleepLock::grant_waiters() {
  // Hand over in FIFO order: one writer, or every reader at the head of the queue.
  while (!waiters_.empty()) {
    Waiter* w = waiters_.front();
    const bool reader = w->shared && rw_;
    if (writer_ || (!reader && readers_ > 0)) break;
    waiters_.pop_front();
    take(w->shared, w->process);
    w->granted = true;
    w->wake->notify(sc_core::SC_ZERO_TIME);
    if (!reader) break;
  }
}

}  // namespace fl::hw
