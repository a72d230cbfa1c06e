// GPU register offsets in faultline's MMIO aperture, as written by the driver model.
//
// The names are the amdgpu register names; the offsets are faultline's own (a real ASIC
// finds each IP block's registers through its IP-discovery table, and they move between
// generations). Each block owns a 4 KiB window on the register bus.
#pragma once

#include <cstdint>

namespace fl::hw::regs {

constexpr uint64_t kWindowBytes = 0x1000;

// Interrupt handler (OSSSYS): ring-0 read pointer and ring control.
constexpr uint64_t kIhBase = 0x1000;
constexpr uint64_t kIhRbRptr = kIhBase + 0x0;        // IH_RB_RPTR, byte offset in the ring
constexpr uint64_t kIhRbCntl = kIhBase + 0x4;        // IH_RB_CNTL
constexpr uint64_t kIhRbRptrRing1 = kIhBase + 0x8;   // IH_RB_RPTR_RING1
constexpr uint64_t kIhRbWptrRing1 = kIhBase + 0x10;  // IH_RB_WPTR_RING1 (read: where the IH writes next)
constexpr uint32_t kIhRbCntlWptrOverflowClear = 1u << 31;  // IH_RB_CNTL.WPTR_OVERFLOW_CLEAR
// The retry CAM's doorbell: writing a CAM index frees that entry (gmc_v9_0.c writes
// src_data[2] & 0x3ff to adev->irq.retry_cam_doorbell_index).
constexpr uint64_t kIhRetryCamDoorbell = kIhBase + 0xC;
constexpr uint32_t kIhCamIndexMask = 0x3ff;

// Copy engine: the ring's write-pointer doorbell (byte offset in the ring). SDMA0 at
// kSdmaBase, further engines from kSdmaMoreBase, a window each.
constexpr uint64_t kSdmaBase = 0x2000;
constexpr uint64_t kSdmaDoorbell = kSdmaBase + 0x0;
constexpr uint64_t kSdmaMoreBase = 0x10000;
constexpr uint64_t sdma_base(uint32_t engine) {
  return engine == 0 ? kSdmaBase : kSdmaMoreBase + (engine - 1) * kWindowBytes;
}
constexpr uint64_t sdma_doorbell(uint32_t engine) { return sdma_base(engine) + 0x0; }

// VM L2 block (GCVM_L2 / VM_CONTEXT / invalidation engines).
constexpr uint64_t kVmBase = 0x3000;
// Invalidation engine 17 (the engine gmc_v9_0_flush_gpu_tlb uses for KFD VMIDs).
constexpr uint64_t kVmInvalidateEng17Req = kVmBase + 0x0;  // VM_INVALIDATE_ENG17_REQ
constexpr uint64_t kVmInvalidateEng17Ack = kVmBase + 0x4;  // VM_INVALIDATE_ENG17_ACK
// Range invalidation: first and last 4 KiB page of the range (faultline's own layout;
// gfx9 has VM_INVALIDATE_ENG*_ADDR_RANGE_LO32/HI32 for this, which amdgpu leaves unused).
constexpr uint64_t kVmInvalidateEng17RangeStartLo = kVmBase + 0x8;
constexpr uint64_t kVmInvalidateEng17RangeStartHi = kVmBase + 0xc;
constexpr uint64_t kVmInvalidateEng17RangeEndLo = kVmBase + 0x10;
constexpr uint64_t kVmInvalidateEng17RangeEndHi = kVmBase + 0x14;
// Fault replay (faultline's own register): writing kVmFaultReplayStart makes every access
// parked by a replayable fault replay its translation, as NVIDIA's replay method
// (REPLAY_TYPE_START) does; GPUs that replay on a timer (AMD XNACK) ignore it.
constexpr uint64_t kVmFaultReplay = kVmBase + 0x18;
constexpr uint32_t kVmFaultReplayStart = 1;

// VM_INVALIDATE_ENG*_REQ fields (gc_9_0_sh_mask.h; set by gmc_v9_0_get_invalidate_req):
// PER_VMID_INVALIDATE_REQ 15:0, FLUSH_TYPE 18:16 (0 legacy, 1 lightweight, 2 heavyweight),
// INVALIDATE_L2_PTES 19, INVALIDATE_L2_PDE0 20, _PDE1 21, _PDE2 22, INVALIDATE_L1_PTES 23.
// Bit 31 is faultline's: use the range registers instead of flushing whole VMIDs.
constexpr uint32_t kInvReqVmidMask = 0xffff;
constexpr uint32_t kInvReqFlushTypeShift = 16;
constexpr uint32_t kInvReqFlushTypeMask = 0x7;
constexpr uint32_t kInvReqL2Ptes = 1u << 19;
constexpr uint32_t kInvReqL2Pde0 = 1u << 20;
constexpr uint32_t kInvReqL2Pde1 = 1u << 21;
constexpr uint32_t kInvReqL2Pde2 = 1u << 22;
constexpr uint32_t kInvReqL1Ptes = 1u << 23;
constexpr uint32_t kInvReqAllCaches = kInvReqL2Ptes | kInvReqL2Pde0 | kInvReqL2Pde1 | kInvReqL2Pde2 | kInvReqL1Ptes;
constexpr uint32_t kInvReqRange = 1u << 31;

// Per-VMID context registers (gfxhub_v1_0.c gfxhub_v1_0_setup_vmid_config and
// amdgpu_gmc_pd_addr; faultline's offsets).
// VM_CONTEXTn_CNTL: ENABLE_CONTEXT bit 0, PAGE_TABLE_DEPTH 2:1 (3 = four levels),
// RETRY_PERMISSION_OR_INVALID_PAGE_FAULT bit 24 (set unless amdgpu.noretry).
constexpr uint64_t kVmContextCntl = kVmBase + 0x100;  // + 4 * vmid
constexpr uint32_t kVmCntlEnable = 1u << 0;
constexpr uint32_t kVmCntlDepthShift = 1;
constexpr uint32_t kVmCntlDepthMask = 0x3;
constexpr uint32_t kVmCntlRetryFault = 1u << 24;
// VM_CONTEXTn_PAGE_TABLE_BASE_ADDR_LO32 / _HI32: the root PDE (address | SYSTEM | VALID).
constexpr uint64_t kVmContextPtBaseLo = kVmBase + 0x200;  // + 8 * vmid
constexpr uint64_t kVmContextPtBaseHi = kVmBase + 0x204;  // + 8 * vmid
// ATC_VMIDn_PASID_MAPPING (set by kfd_set_pasid_vmid_mapping): PASID 15:0, VALID bit 31.
constexpr uint64_t kAtcVmidPasidMapping = kVmBase + 0x300;  // + 4 * vmid
constexpr uint32_t kAtcPasidValid = 1u << 31;

}  // namespace fl::hw::regs
