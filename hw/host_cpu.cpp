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
      utilisation_(stats_, "utilisation", "ratio",
                   "Core busy time over (cores x simulated time)", [this] {
                     const double t = to_ns(sc_time_stamp()) * static_cast<double>(cores());
                     return t > 0 ? busy_ns_.value() / t : 0.0;
                   }) {}

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
  sc_core::sc_event wake;
  Waiter w{cls, &wake};
  // Hard-interrupt work goes ahead of everything but earlier hard-interrupt work.
  auto pos = waiters_.end();
  if (cls == WorkClass::kHardIrq) {
    pos = std::find_if(waiters_.begin(), waiters_.end(),
                       [](const Waiter* x) { return x->cls != WorkClass::kHardIrq; });
  }
  waiters_.insert(pos, &w);
  sc_core::wait(wake);
  wait_ns_.sample(static_cast<double>(sc_time_stamp().value() - now) / 1000.0);
  return Slot(*this, w.core);
}

void HostCpu::release(int core) {
  const uint64_t now = sc_time_stamp().value();
  busy_ns_.add(static_cast<double>(now - busy_since_ps_[static_cast<size_t>(core)]) / 1000.0);
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
  sc_core::sc_event done;
  cpu_->mmio_waits_[&t] = &done;
  const uint64_t start = sc_time_stamp().value();
  cpu_->mmio.send(t);
  sc_core::wait(done);
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

}  // namespace fl::hw
