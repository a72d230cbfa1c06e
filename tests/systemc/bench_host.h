// A host for driver-thread benches: four CPU cores whose MMIO port is bound to a target
// that answers nothing (the benches issue no MMIO, but SystemC requires the binding).
#pragma once

#include <systemc>

#include "hw/host_cpu.h"
#include "sim/core/tlm_ports.h"

namespace fl::driver {

inline config::HostCpu bench_cpu_config() {
  config::HostCpu c;
  c.set_cores(4);
  return c;
}

struct BenchHost {
  BenchHost() { cpu.mmio.socket.bind(regs.socket); }
  hw::HostCpu cpu{"cpu", bench_cpu_config()};
  AtTargetPort regs{"regs", [](Payload& gp) { gp.release(); }};
};

}  // namespace fl::driver
