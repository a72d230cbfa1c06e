// The interrupt bus between GPU blocks and the interrupt handler: a source posts a
// transaction carrying an InterruptExt; the IH turns it into a ring entry (hw/ih_entry.h).
// The client and source ids are the kernel's (soc15_ih_clientid.h, ivsrcid/*.h).
#pragma once

#include <array>
#include <cstdint>
#include <tlm>

namespace fl {

namespace ih_client {
constexpr uint8_t kIh = 0x00;      // SOC15_IH_CLIENTID_IH (self-interrupts)
constexpr uint8_t kSdma0 = 0x08;   // SOC15_IH_CLIENTID_SDMA0
constexpr uint8_t kVmc = 0x12;     // SOC15_IH_CLIENTID_VMC (MMHUB faults)
constexpr uint8_t kUtcl2 = 0x1b;   // SOC15_IH_CLIENTID_UTCL2 (GFXHUB faults)
// SOC15_IH_CLIENTID_SDMA0..7: SDMA2-7 reuse the ids of ACP, DCE, ISP, VCE0, XDMA, VCE1.
constexpr uint8_t kSdma[8] = {0x08, 0x09, 0x01, 0x04, 0x05, 0x11, 0x13, 0x18};
// The engine whose trap client id is `client`, or -1.
constexpr int sdma_engine(uint8_t client) {
  for (int i = 0; i < 8; ++i) {
    if (kSdma[i] == client) return i;
  }
  return -1;
}
}  // namespace ih_client

namespace ih_src {
constexpr uint8_t kIhSelf = 0;       // the IH's self-interrupt (vega10_ih.c sw_init)
constexpr uint8_t kUtcl2Fault = 0;   // UTCL2_1_0__SRCID__FAULT
constexpr uint8_t kVmFault = 0;      // VMC_1_0__SRCID__VM_FAULT
constexpr uint8_t kSdmaTrap = 224;   // SDMA0_4_0__SRCID__SDMA_TRAP
}  // namespace ih_src

struct InterruptExt : tlm::tlm_extension<InterruptExt> {
  uint8_t client_id = 0;
  uint8_t src_id = 0;
  uint8_t vmid = 0;
  uint16_t pasid = 0;
  std::array<uint32_t, 4> src_data{};

  tlm::tlm_extension_base* clone() const override { return new InterruptExt(*this); }
  void copy_from(const tlm::tlm_extension_base& o) override {
    *this = static_cast<const InterruptExt&>(o);
  }
};

}  // namespace fl
