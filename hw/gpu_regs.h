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

// VM L2 invalidation engine 17 (the engine gmc_v9_0_flush_gpu_tlb uses).
constexpr uint64_t kVmBase = 0x3000;
constexpr uint64_t kVmInvalidateEng17Req = kVmBase + 0x0;  // VM_INVALIDATE_ENG17_REQ
constexpr uint64_t kVmInvalidateEng17Ack = kVmBase + 0x4;  // VM_INVALIDATE_ENG17_ACK

// VM_INVALIDATE_ENG*_REQ fields (gc_9_0 sh_mask): a VMID bit mask in bits 15:0 and the
// flush type in bits 18:16 (0 legacy, 1 lightweight, 2 heavyweight).
constexpr uint32_t kInvReqVmidMask = 0xffff;
constexpr uint32_t kInvReqFlushTypeShift = 16;
constexpr uint32_t kInvReqFlushTypeMask = 0x7;

}  // namespace fl::hw::regs
