// Kernel descriptors and the state they leave resident (hw/kernel_descriptor.h): each CU
// resource bounds the workgroups a CU holds, and the resident bytes are those CWSR saves
// (driver-facts.md section 4: per wave VGPRs, SGPRs, hardware registers; per workgroup LDS).
#include <gtest/gtest.h>

#include "hw/kernel_descriptor.h"

namespace {

using fl::hw::CuResources;
using fl::hw::KernelDescriptor;

// MI200-like: 104 CUs, 32 wave slots, wave64, 512 KiB VGPRs, 16 KiB SGPRs, 64 KiB LDS.
CuResources mi200() {
  CuResources r;
  r.cus = 104;
  r.max_waves_per_cu = 32;
  r.wave_lanes = 64;
  r.vgpr_bytes_per_cu = 512 * 1024;
  r.sgpr_bytes_per_cu = 16 * 1024;
  r.lds_bytes_per_cu = 64 * 1024;
  r.hwreg_bytes_per_wave = 128;
  return r;
}

KernelDescriptor desc(uint32_t wgs, uint32_t wpw, uint32_t v, uint32_t s, uint32_t lds) {
  KernelDescriptor d;
  d.workgroups = wgs;
  d.waves_per_workgroup = wpw;
  d.vgprs_per_wave = v;
  d.sgprs_per_wave = s;
  d.lds_bytes_per_workgroup = lds;
  return d;
}

// The most workgroups the whole GPU holds: the error message names it.
std::string capacity_error(const KernelDescriptor& d) { return fl::hw::check_descriptor(d, mi200()); }

}  // namespace

TEST(KernelDescriptor, ResidentBytesAreWhatCwsrSaves) {
  const auto r = fl::hw::residency(desc(10, 4, 64, 32, 8192), mi200());
  EXPECT_EQ(r.waves, 40u);
  EXPECT_EQ(r.vgpr_bytes, 40u * 64 * 64 * 4);
  EXPECT_EQ(r.sgpr_bytes, 40u * 32 * 4);
  EXPECT_EQ(r.hwreg_bytes, 40u * 128);
  EXPECT_EQ(r.lds_bytes, 10u * 8192);
  EXPECT_EQ(r.register_bytes(), r.vgpr_bytes + r.sgpr_bytes + r.hwreg_bytes);
  EXPECT_EQ(r.state_bytes(), r.register_bytes() + r.lds_bytes);
  EXPECT_EQ(r.cus_used, 10u);  // one workgroup per CU while CUs are free
  EXPECT_EQ(r.workgroups_per_cu, 1u);
}

TEST(KernelDescriptor, EachResourceBoundsTheWorkgroupsPerCu) {
  // Wave slots: 32 / 4 = 8 workgroups a CU, 832 on the GPU.
  EXPECT_EQ(capacity_error(desc(832, 4, 16, 16, 0)), "");
  EXPECT_NE(capacity_error(desc(833, 4, 16, 16, 0)).find("at most 832 at once (8 a CU)"), std::string::npos);
  // VGPRs: 128 x 64 x 4 = 32 KiB a wave, 16 waves in 512 KiB: 4 workgroups of 4.
  EXPECT_NE(capacity_error(desc(417, 4, 128, 16, 0)).find("at most 416 at once (4 a CU)"), std::string::npos);
  // SGPRs: 4 waves x 512 x 4 B = 8 KiB a workgroup, 2 in 16 KiB.
  EXPECT_NE(capacity_error(desc(209, 4, 16, 512, 0)).find("at most 208 at once (2 a CU)"), std::string::npos);
  // LDS: 3 x 20 KiB in 64 KiB.
  EXPECT_NE(capacity_error(desc(313, 4, 16, 16, 20480)).find("at most 312 at once (3 a CU)"), std::string::npos);
}

TEST(KernelDescriptor, AWorkgroupThatFitsNowhereIsRejected) {
  EXPECT_NE(capacity_error(desc(1, 64, 16, 16, 0)).find("does not fit on a CU"), std::string::npos);      // 64 waves > 32 slots
  EXPECT_NE(capacity_error(desc(1, 1, 16, 16, 65537)).find("does not fit on a CU"), std::string::npos);   // LDS
  EXPECT_NE(capacity_error(desc(0, 1, 16, 16, 0)).find("workgroups must be positive"), std::string::npos);
}

TEST(KernelDescriptor, WorkgroupsSpreadOverCus) {
  const auto r = fl::hw::residency(desc(264, 32, 24, 0, 0), [] {
    CuResources h;  // H200-like: 132 SMs x 64 warps of 32 lanes, 256 KiB registers
    h.cus = 132;
    h.max_waves_per_cu = 64;
    h.wave_lanes = 32;
    h.vgpr_bytes_per_cu = 256 * 1024;
    h.lds_bytes_per_cu = 228 * 1024;
    h.hwreg_bytes_per_wave = 128;
    return h;
  }());
  EXPECT_EQ(r.cus_used, 132u);
  EXPECT_EQ(r.workgroups_per_cu, 2u);
  EXPECT_EQ(r.waves, 8448u);
  EXPECT_EQ(r.register_bytes(), 8448u * (24 * 32 * 4 + 128));
}
