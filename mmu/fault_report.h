// The src_data payload of a GPUVM fault interrupt, as gmc_v9_0.c (gmc_v9_0_process_interrupt)
// decodes it: the faulting page address is src_data[0] << 12 | (src_data[1] & 0xf) << 44
// (address bits 47:12), the retry flag is src_data[1] bit 7 and the write flag bit 5.
#pragma once

#include <array>
#include <cstdint>

namespace fl::mmu {

using SrcData = std::array<uint32_t, 4>;

constexpr uint32_t kFaultRetryBit = 0x80;
constexpr uint32_t kFaultWriteBit = 0x20;

inline SrcData encode_fault(uint64_t page_addr, bool retry, bool write) {
  SrcData d{};
  d[0] = static_cast<uint32_t>((page_addr >> 12) & 0xffffffffULL);
  d[1] = static_cast<uint32_t>((page_addr >> 44) & 0xf) | (retry ? kFaultRetryBit : 0u) |
         (write ? kFaultWriteBit : 0u);
  return d;
}

inline uint64_t fault_address(const SrcData& d) {
  return (static_cast<uint64_t>(d[0]) << 12) | (static_cast<uint64_t>(d[1] & 0xf) << 44);
}
inline bool fault_retry(const SrcData& d) { return (d[1] & kFaultRetryBit) != 0; }
inline bool fault_write(const SrcData& d) { return (d[1] & kFaultWriteBit) != 0; }

}  // namespace fl::mmu
