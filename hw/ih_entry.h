// The soc15 interrupt-handler ring entry ("IV"), as the driver decodes it.
//
// Layout (amdgpu_ih.c, amdgpu_ih_decode_iv_helper; vega10_ih.c / vega20_ih.c), 8 dwords:
//   dw0  7:0 client_id  15:8 src_id  23:16 ring_id  27:24 vmid  31 vmid_src
//   dw1  timestamp bits 31:0
//   dw2  15:0 timestamp bits 47:32  31 timestamp_src
//   dw3  15:0 pasid  23:16 node_id
//   dw4-7 src_data[0..3]
// The meaning of src_data depends on the client (GPUVM faults: mmu/fault_report.h).
#pragma once

#include <array>
#include <cstdint>

#include "sim/core/interrupt.h"

namespace fl::hw {

constexpr uint32_t kIhEntryBytes = 32;

struct IhEntry {
  uint8_t client_id = 0;
  uint8_t src_id = 0;
  uint8_t ring_id = 0;
  uint8_t vmid = 0;
  bool vmid_src = false;
  uint64_t timestamp = 0;  // 48 bits
  bool timestamp_src = false;
  uint16_t pasid = 0;
  uint8_t node_id = 0;
  std::array<uint32_t, 4> src_data{};

  using Words = std::array<uint32_t, 8>;
  Words encode() const;
  static IhEntry decode(const Words& dw);
};

static_assert(sizeof(IhEntry::Words) == kIhEntryBytes, "an IH ring entry is 32 bytes");

}  // namespace fl::hw
