// A kernel's resource descriptor and the wave state it leaves resident on the CUs.
//
// Models: the resources a dispatch asks for per workgroup (waves, and per wave VGPRs and
// SGPRs; LDS per workgroup), as in the code object's kernel descriptor (amd_kernel_code_t /
// llvm AMDGPU kernel descriptor), and how many workgroups the CUs hold at once: a CU takes
// workgroups while its wave slots, vector and scalar register files and LDS all have room
// (the SPI's resource check). The resident state is what CWSR saves per queue: per wave its
// VGPRs (lanes x 4 bytes each), SGPRs (4 bytes each) and hardware registers; per workgroup
// its LDS (kfd_priv.h / kfd_queue.c CWSR area sizing; driver-facts.md section 4).
// Abstracts away: register allocation granularity, per-SIMD placement and scratch; a
// dispatch whose workgroups do not all fit at once is rejected rather than dispatched in
// rounds.
#pragma once

#include <cstdint>
#include <string>

namespace fl::hw {

struct KernelDescriptor {
  uint32_t workgroups = 1;
  uint32_t waves_per_workgroup = 1;
  uint32_t vgprs_per_wave = 0;
  uint32_t sgprs_per_wave = 0;
  uint32_t lds_bytes_per_workgroup = 0;
};

// What one CU offers a dispatch.
struct CuResources {
  uint32_t cus = 1;
  uint32_t max_waves_per_cu = 1;
  uint32_t wave_lanes = 64;
  uint64_t vgpr_bytes_per_cu = 0;
  uint64_t sgpr_bytes_per_cu = 0;
  uint64_t lds_bytes_per_cu = 0;
  uint32_t hwreg_bytes_per_wave = 0;
};

struct Residency {
  uint32_t workgroups_per_cu = 0;  // the most one CU holds
  uint32_t cus_used = 0;           // CUs holding at least one workgroup
  uint64_t workgroups = 0;
  uint64_t waves = 0;
  uint64_t vgpr_bytes = 0;
  uint64_t sgpr_bytes = 0;
  uint64_t hwreg_bytes = 0;
  uint64_t lds_bytes = 0;

  uint64_t register_bytes() const { return vgpr_bytes + sgpr_bytes + hwreg_bytes; }
  uint64_t state_bytes() const { return register_bytes() + lds_bytes; }
  Residency& operator+=(const Residency& o);
};

uint64_t vgpr_bytes_per_wave(const KernelDescriptor& d, const CuResources& r);
// Why `d` cannot be dispatched whole on `r`, or empty.
std::string check_descriptor(const KernelDescriptor& d, const CuResources& r);
// The state `d` leaves resident (check_descriptor(d, r) must be empty).
Residency residency(const KernelDescriptor& d, const CuResources& r);

}  // namespace fl::hw
