// A block's 32-bit registers behind an AT target port on the register bus: reads and
// writes are handled on arrival and answered at once (register access time is part of
// the bus and link latency).
#pragma once

#include <cstdint>
#include <functional>

#include "sim/core/tlm_ports.h"

namespace fl {

class RegisterFile {
 public:
  using ReadFn = std::function<uint32_t(uint64_t offset)>;
  using WriteFn = std::function<void(uint64_t offset, uint32_t value)>;

  RegisterFile(const char* name, ReadFn read, WriteFn write);

  AtTargetPort port;

 private:
  void access(Payload& gp);

  ReadFn read_;
  WriteFn write_;
};

}  // namespace fl
