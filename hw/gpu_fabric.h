// The GPU's on-chip path between its L2-side agents and memory.
//
// Models: a crossbar from the agents (compute units, page walkers, copy engine, IH) to
// VRAM or to the host link, chosen per request by the PTE SYSTEM bit it carries (TxnExt);
// a fixed latency each way. Contention is modelled at VRAM and on the link, not here.
// Abstracts away: the GL2 cache, the data fabric's topology and its arbitration.
//
// Ports: in[i] (AT targets, one per agent), to_vram and to_host (AT initiators).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
#include <systemc>

#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/time.h"
#include "sim/core/tlm_ports.h"

namespace fl::hw {

class GpuFabric : public sc_core::sc_module {
 public:
  GpuFabric(sc_core::sc_module_name name, const config::GpuFabric& cfg, const Clock& clock,
            const std::vector<std::string>& agents);

  // The target port agent `name` (one of the names given at construction) connects to.
  AtTargetPort& in(const std::string& agent);

  AtInitiatorPort to_vram;
  AtInitiatorPort to_host;

 private:
  void route(Payload& gp, size_t from);
  void back(Payload& gp);

  sc_core::sc_time latency_;
  std::vector<std::string> agent_names_;
  std::vector<std::unique_ptr<AtTargetPort>> ins_;
  std::unordered_map<Payload*, size_t> origin_;

  stats::Group stats_;
  stats::Counter vram_requests_{stats_, "vram_requests", "count", "Requests routed to VRAM"};
  stats::Counter host_requests_{stats_, "host_requests", "count", "Requests routed to the host link"};
  stats::Counter vram_bytes_{stats_, "vram_bytes", "bytes", "Bytes requested from or written to VRAM"};
  stats::Counter host_bytes_{stats_, "host_bytes", "bytes", "Bytes requested from or written to host memory"};
};

// A register bus: one AT target, routed by address window to the block that owns it.
class RegisterBus : public sc_core::sc_module {
 public:
  explicit RegisterBus(sc_core::sc_module_name name);

  AtTargetPort in;
  // An initiator port for the window [base, base + size), to bind to its block.
  AtInitiatorPort& window(uint64_t base, uint64_t size, const std::string& block);

 private:
  struct Window {
    uint64_t base;
    uint64_t size;
    std::unique_ptr<AtInitiatorPort> port;
  };
  void route(Payload& gp);

  std::vector<Window> windows_;

  stats::Group stats_;
  stats::Counter accesses_{stats_, "accesses", "count", "Register accesses routed"};
  stats::Counter unmapped_{stats_, "unmapped", "count", "Register accesses to no block"};
};

}  // namespace fl::hw
