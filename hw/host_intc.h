// The host interrupt controller (local APIC) as seen by MSI writes.
//
// Models: an MSI is a 4-byte write to the MSI window whose data is the vector; on arrival
// it invokes the handler the driver registered for that vector. The handler's own costs
// (interrupt entry, ISR work) are charged by the driver on the host CPU.
// Abstracts away: APIC delivery modes, priorities, IRQ affinity and masking.
//
// Ports: msi_in (AT target).
#pragma once

#include <functional>
#include <map>
#include <systemc>

#include "sim/core/stats.h"
#include "sim/core/tlm_ports.h"

namespace fl::hw {

class HostIntc : public sc_core::sc_module {
 public:
  using Handler = std::function<void(uint32_t vector)>;

  explicit HostIntc(sc_core::sc_module_name name);

  AtTargetPort msi_in;

  // Registers the handler of `vector` (driver initialisation).
  void connect(uint32_t vector, Handler handler);

 private:
  void on_msi(Payload& gp);

  std::map<uint32_t, Handler> handlers_;

  stats::Group stats_;
  stats::Counter msis_{stats_, "msis", "count", "MSIs received"};
  stats::Counter spurious_{stats_, "spurious", "count", "MSIs for a vector with no handler"};
};

}  // namespace fl::hw
