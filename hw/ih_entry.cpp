#include "hw/ih_entry.h"

namespace fl::hw {

IhEntry::Words IhEntry::encode() const {
  Words dw{};
  dw[0] = static_cast<uint32_t>(client_id) | static_cast<uint32_t>(src_id) << 8 |
          static_cast<uint32_t>(ring_id) << 16 | static_cast<uint32_t>(vmid & 0xf) << 24 |
          static_cast<uint32_t>(vmid_src) << 31;
  dw[1] = static_cast<uint32_t>(timestamp & 0xffffffffULL);
  dw[2] = static_cast<uint32_t>((timestamp >> 32) & 0xffff) |
          static_cast<uint32_t>(timestamp_src) << 31;
  dw[3] = static_cast<uint32_t>(pasid) | static_cast<uint32_t>(node_id) << 16;
  for (int i = 0; i < 4; ++i) dw[4 + static_cast<size_t>(i)] = src_data[static_cast<size_t>(i)];
  return dw;
}

IhEntry IhEntry::decode(const Words& dw) {
  IhEntry e;
  e.client_id = static_cast<uint8_t>(dw[0] & 0xff);
  e.src_id = static_cast<uint8_t>((dw[0] >> 8) & 0xff);
  e.ring_id = static_cast<uint8_t>((dw[0] >> 16) & 0xff);
  e.vmid = static_cast<uint8_t>((dw[0] >> 24) & 0xf);
  e.vmid_src = ((dw[0] >> 31) & 1) != 0;
  e.timestamp = static_cast<uint64_t>(dw[1]) | static_cast<uint64_t>(dw[2] & 0xffff) << 32;
  e.timestamp_src = ((dw[2] >> 31) & 1) != 0;
  e.pasid = static_cast<uint16_t>(dw[3] & 0xffff);
  e.node_id = static_cast<uint8_t>((dw[3] >> 16) & 0xff);
  for (size_t i = 0; i < 4; ++i) e.src_data[i] = dw[4 + i];
  return e;
}

}  // namespace fl::hw
