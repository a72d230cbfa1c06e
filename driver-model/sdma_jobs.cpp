#include "driver-model/sdma_jobs.h"

#include "hw/gpu_regs.h"
#include "sim/core/time.h"
#include "sim/core/waits.h"

namespace fl::driver {

SdmaJobs::SdmaJobs(sc_core::sc_module_name name, const config::SdmaJobs& cfg,
                   hw::CopyEngine& engine, hw::SparseMemory& host_mem, uint64_t fence_addr)
    : sc_module(name), cfg_(cfg), engine_(engine), host_mem_(host_mem), fence_addr_(fence_addr) {
  SC_HAS_PROCESS(SdmaJobs);
  SC_METHOD(on_fallback);
  sensitive << fallback_;
  dont_initialize();
}

bool SdmaJobs::update_from_memory() {
  const uint32_t v = host_mem_.read32(fence_addr_);
  if (static_cast<int32_t>(v - signalled_) <= 0) return false;
  signalled_ = v;
  signal_.notify(sc_core::SC_ZERO_TIME);
  return true;
}

void SdmaJobs::arm_fallback() {
  const sc_core::sc_time timeout = from_ns(cfg_.fallback_timeout_ns());
  fallback_deadline_ps_ = now_ps() + timeout.value();
  if (fallback_armed_) return;  // on_fallback re-arms for the rest when it wakes early
  fallback_armed_ = true;
  fallback_.notify(timeout);
}

void SdmaJobs::on_fallback() {
  fallback_armed_ = false;
  const uint64_t now = now_ps();
  if (now < fallback_deadline_ps_) {
    fallback_armed_ = true;
    fallback_.notify(sc_core::sc_time::from_value(fallback_deadline_ps_ - now));
    return;
  }
  if (idle()) return;
  if (update_from_memory()) ++fallbacks_;
  if (!idle()) arm_fallback();
}

uint32_t SdmaJobs::submit(DriverThread& t, std::vector<hw::SdmaPacket> packets) {
  t.compute_ns(cfg_.submit_ns());
  const uint32_t seq = ++next_seq_;
  packets.push_back(hw::SdmaPacket::fence(fence_addr_, /*system=*/true, seq));
  packets.push_back(hw::SdmaPacket::trap(0));
  ++jobs_;
  packets_ += packets.size();
  const uint32_t wptr = engine_.write_ring(std::move(packets));
  t.mmio_write(hw::regs::sdma_doorbell(engine_.engine()), wptr);
  // amdgpu_fence_schedule_fallback: mod_timer moves the deadline to now + timeout.
  arm_fallback();
  return seq;
}

void SdmaJobs::wait(DriverThread& t, uint32_t seq) {
  const ScopedWait registered("fence", name(), seq);
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  if (cfg_.wait_mode() == config::SdmaJobs::SPIN) {
    // Busy-wait on the fence's memory: the core stays taken.
    const auto done = [this, seq] { return static_cast<int32_t>(signalled_ - seq) >= 0; };
    while (!done()) {
      update_from_memory();
      if (!done()) t.compute_ns(cfg_.spin_poll_ns());
    }
    wait_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
    return;
  }
  t.sleep_until(signal_, [this, seq] { return static_cast<int32_t>(signalled_ - seq) >= 0; },
                cfg_.wakeup_ns(), nullptr);
  wait_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
}

void SdmaJobs::process_trap(DriverThread& t) {
  ++traps_;
  t.compute_ns(cfg_.fence_process_ns());
  update_from_memory();
}

}  // namespace fl::driver
