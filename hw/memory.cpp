#include "hw/memory.h"

#include <algorithm>
#include <string>

#include "sim/core/time.h"
#include "sim/core/txn.h"

namespace fl::hw {

double Memory::to_ns_now() { return to_ns(sc_core::sc_time_stamp()); }

Memory::Memory(sc_core::sc_module_name name, const MemoryParams& p)
    : sc_module(name),
      port("port", [this](Payload& gp) { on_request(gp); },
           [this](Payload& gp) { return on_debug(gp); }),
      params_(p),
      storage_(p.bytes),
      latency_(from_ns(p.latency_ns)) {}

void Memory::on_request(Payload& gp) {
  const uint64_t addr = gp.get_address();
  const uint64_t len = gp.get_data_length();
  if (!storage_.contains(addr, len)) {
    SC_REPORT_ERROR(name(), ("access beyond capacity at 0x" + std::to_string(addr)).c_str());
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    port.respond(gp);
    return;
  }
  const bool functional = !txn_ext(gp).timing_only && gp.get_data_ptr() != nullptr;
  if (gp.is_read()) {
    if (functional) storage_.read(addr, gp.get_data_ptr(), len);
    ++reads_;
    read_bytes_ += len;
  } else if (gp.is_write()) {
    if (functional) storage_.write(addr, gp.get_data_ptr(), len);
    ++writes_;
    write_bytes_ += len;
  }
  const uint64_t granules = std::max<uint64_t>(1, (len + params_.access_bytes - 1) / params_.access_bytes);
  const sc_core::sc_time service = transfer_time(granules * params_.access_bytes, params_.bandwidth_gb_per_s);
  const uint64_t now = sc_core::sc_time_stamp().value();
  const uint64_t start = std::max<uint64_t>(now, busy_until_ps_);
  busy_until_ps_ = start + service.value();
  queue_ns_.sample(static_cast<double>(start - now) / 1000.0);
  busy_ns_.add(to_ns(service));
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  port.respond(gp, ps(busy_until_ps_ - now) + latency_);
}

unsigned Memory::on_debug(Payload& gp) {
  const uint64_t addr = gp.get_address();
  const uint64_t len = gp.get_data_length();
  if (!storage_.contains(addr, len)) return 0;
  if (gp.is_read()) {
    storage_.read(addr, gp.get_data_ptr(), len);
  } else if (gp.is_write()) {
    storage_.write(addr, gp.get_data_ptr(), len);
  }
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  return static_cast<unsigned>(len);
}

}  // namespace fl::hw
