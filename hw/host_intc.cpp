#include "hw/host_intc.h"

#include <cstring>

namespace fl::hw {

HostIntc::HostIntc(sc_core::sc_module_name name)
    : sc_module(name), msi_in("msi_in", [this](Payload& gp) { on_msi(gp); }) {}

void HostIntc::connect(uint32_t vector, Handler handler) { handlers_[vector] = std::move(handler); }

void HostIntc::on_msi(Payload& gp) {
  uint32_t vector = 0;
  if (gp.get_data_ptr() != nullptr && gp.get_data_length() >= 4) {
    std::memcpy(&vector, gp.get_data_ptr(), 4);
  }
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  msi_in.respond(gp);
  ++msis_;
  const auto it = handlers_.find(vector);
  if (it == handlers_.end()) {
    ++spurious_;
    return;
  }
  it->second(vector);
}

}  // namespace fl::hw
