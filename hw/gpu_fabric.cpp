#include "hw/gpu_fabric.h"

#include <cstring>

#include "sim/core/errors.h"
#include "sim/core/txn.h"

namespace fl::hw {

GpuFabric::GpuFabric(sc_core::sc_module_name name, const config::GpuFabric& cfg,
                     const Clock& clock, const std::vector<std::string>& agents)
    : sc_module(name),
      to_vram("to_vram", [this](Payload& gp) { back(gp); }),
      to_host("to_host", [this](Payload& gp) { back(gp); }),
      latency_(clock.cycles(cfg.latency_cycles())),
      agent_names_(agents) {
  for (size_t i = 0; i < agents.size(); ++i) {
    ins_.push_back(std::make_unique<AtTargetPort>(
        ("in_" + agents[i]).c_str(), [this, i](Payload& gp) { route(gp, i); }));
  }
}

AtTargetPort& GpuFabric::in(const std::string& agent) {
  for (size_t i = 0; i < agent_names_.size(); ++i) {
    if (agent_names_[i] == agent) return *ins_[i];
  }
  SC_REPORT_FATAL(name(), ("no fabric port for agent " + agent).c_str());
  return *ins_.front();
}

void GpuFabric::route(Payload& gp, size_t from) {
  origin_[&gp] = from;
  if (txn_ext(gp).system) {
    ++host_requests_;
    host_bytes_ += gp.get_data_length();
    to_host.send(gp, latency_);
  } else {
    ++vram_requests_;
    vram_bytes_ += gp.get_data_length();
    to_vram.send(gp, latency_);
  }
}

void GpuFabric::back(Payload& gp) {
  const auto it = origin_.find(&gp);
  if (it == origin_.end()) {
    SC_REPORT_ERROR(name(), "response for a request the fabric did not route");
    return;
  }
  const size_t from = it->second;
  origin_.erase(it);
  ins_[from]->respond(gp, latency_);
}

RegisterBus::RegisterBus(sc_core::sc_module_name name)
    : sc_module(name), in("in", [this](Payload& gp) { route(gp); }) {}

AtInitiatorPort& RegisterBus::window(uint64_t base, uint64_t size, const std::string& block) {
  windows_.push_back(Window{base, size, nullptr});
  windows_.back().port = std::make_unique<AtInitiatorPort>(
      ("to_" + block).c_str(), [this](Payload& gp) { in.respond(gp); });
  return *windows_.back().port;
}

void RegisterBus::route(Payload& gp) {
  ++accesses_;
  const uint64_t a = gp.get_address();
  for (auto& w : windows_) {
    if (a >= w.base && a - w.base < w.size) {
      w.port->send(gp);
      return;
    }
  }
  ++unmapped_;
  // An unclaimed register reads as zero and ignores writes, as on a real bus.
  if (gp.is_read() && gp.get_data_ptr() != nullptr) {
    std::memset(gp.get_data_ptr(), 0, gp.get_data_length());
  }
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  in.respond(gp);
}

}  // namespace fl::hw
