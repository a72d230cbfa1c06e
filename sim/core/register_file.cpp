#include "sim/core/register_file.h"

#include <cstring>

namespace fl {

RegisterFile::RegisterFile(const char* name, ReadFn read, WriteFn write)
    : port(name, [this](Payload& gp) { access(gp); }),
      read_(std::move(read)),
      write_(std::move(write)) {}

void RegisterFile::access(Payload& gp) {
  uint32_t v = 0;
  if (gp.is_read()) {
    v = read_(gp.get_address());
    if (gp.get_data_ptr() != nullptr) std::memcpy(gp.get_data_ptr(), &v, 4);
  } else if (gp.is_write()) {
    if (gp.get_data_ptr() != nullptr) std::memcpy(&v, gp.get_data_ptr(), 4);
    write_(gp.get_address(), v);
  }
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  port.respond(gp);
}

}  // namespace fl
