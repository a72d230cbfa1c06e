#include "hw/kernel_descriptor.h"

#include <algorithm>
#include <limits>

namespace fl::hw {

namespace {
// Workgroups of `d` one CU can hold (0: not even one).
uint64_t per_cu(const KernelDescriptor& d, const CuResources& r) {
  uint64_t n = r.max_waves_per_cu / std::max<uint32_t>(d.waves_per_workgroup, 1);
  const auto limit = [&n](uint64_t have, uint64_t need) {
    if (need > 0) n = std::min(n, have / need);
  };
  limit(r.vgpr_bytes_per_cu, uint64_t{d.waves_per_workgroup} * vgpr_bytes_per_wave(d, r));
  limit(r.sgpr_bytes_per_cu, uint64_t{d.waves_per_workgroup} * d.sgprs_per_wave * 4);
  limit(r.lds_bytes_per_cu, d.lds_bytes_per_workgroup);
  return n;
}
}  // namespace

Residency& Residency::operator+=(const Residency& o) {
  workgroups_per_cu = std::max(workgroups_per_cu, o.workgroups_per_cu);
  cus_used = std::max(cus_used, o.cus_used);
  workgroups += o.workgroups;
  waves += o.waves;
  vgpr_bytes += o.vgpr_bytes;
  sgpr_bytes += o.sgpr_bytes;
  hwreg_bytes += o.hwreg_bytes;
  lds_bytes += o.lds_bytes;
  return *this;
}

uint64_t vgpr_bytes_per_wave(const KernelDescriptor& d, const CuResources& r) {
  return uint64_t{d.vgprs_per_wave} * r.wave_lanes * 4;
}

std::string check_descriptor(const KernelDescriptor& d, const CuResources& r) {
  if (d.workgroups == 0) return "workgroups must be positive";
  if (d.waves_per_workgroup == 0) return "waves_per_workgroup must be positive";
  const uint64_t n = per_cu(d, r);
  if (n == 0) {
    return "one workgroup (" + std::to_string(d.waves_per_workgroup) + " waves, " +
           std::to_string(uint64_t{d.waves_per_workgroup} * vgpr_bytes_per_wave(d, r)) +
           " bytes of VGPRs, " + std::to_string(uint64_t{d.waves_per_workgroup} * d.sgprs_per_wave * 4) +
           " of SGPRs, " + std::to_string(d.lds_bytes_per_workgroup) +
           " of LDS) does not fit on a CU (soc.gpu.cu.max_waves_per_cu, soc.gpu.cp.cu_*_bytes)";
  }
  const uint64_t capacity = n * r.cus;
  if (d.workgroups > capacity) {
    return "workgroups = " + std::to_string(d.workgroups) + " but the CUs hold at most " +
           std::to_string(capacity) + " at once (" + std::to_string(n) +
           " a CU); dispatch in rounds is not modelled";
  }
  return "";
}

Residency residency(const KernelDescriptor& d, const CuResources& r) {
  Residency s;
  const uint64_t n = per_cu(d, r);
  s.workgroups = d.workgroups;
  s.cus_used = static_cast<uint32_t>(std::min<uint64_t>(r.cus, d.workgroups));
  s.workgroups_per_cu = static_cast<uint32_t>(
      std::min<uint64_t>(n, (d.workgroups + s.cus_used - 1) / std::max<uint32_t>(s.cus_used, 1)));
  s.waves = uint64_t{d.workgroups} * d.waves_per_workgroup;
  s.vgpr_bytes = s.waves * vgpr_bytes_per_wave(d, r);
  s.sgpr_bytes = s.waves * d.sgprs_per_wave * 4;
  s.hwreg_bytes = s.waves * r.hwreg_bytes_per_wave;
  s.lds_bytes = uint64_t{d.workgroups} * d.lds_bytes_per_workgroup;
  return s;
}

}  // namespace fl::hw
