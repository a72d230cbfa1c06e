// How a link technology turns a transfer into bytes on the wire: the policy behind
// HostLink. One class per technology (PCIe, on-die fabric), chosen by soc.host_link.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <systemc>

#include "sim/core/schema.h"

namespace fl::hw {

struct Wire {
  uint64_t bytes;    // bytes serialised on the link, payload and overhead
  uint64_t packets;  // TLPs (or fabric packets)
};

class LinkTiming {
 public:
  virtual ~LinkTiming() = default;
  // Carrying `payload` bytes of write data or read-completion data.
  virtual Wire data(uint64_t payload) const = 0;
  // A read request for `len` bytes (no payload).
  virtual Wire read_request(uint64_t len) const = 0;
  // Raw rate per direction after line encoding, in GB/s (bytes per ns).
  virtual double wire_gb_per_s() const = 0;
  // One-way latency after serialisation.
  virtual sc_core::sc_time latency() const = 0;
  virtual std::string describe() const = 0;
};

// PCIe: lanes x transfer rate x encoding efficiency; payload split into TLPs of at most
// max_payload_bytes, reads into requests of at most max_read_request_bytes; every TLP adds
// tlp_overhead_bytes. `key` is the config prefix used in error messages.
class PcieTiming : public LinkTiming {
 public:
  PcieTiming(const config::PcieLink& cfg, const std::string& key);
  Wire data(uint64_t payload) const override;
  Wire read_request(uint64_t len) const override;
  double wire_gb_per_s() const override { return wire_gb_per_s_; }
  sc_core::sc_time latency() const override { return latency_; }
  std::string describe() const override;

  // GT/s per lane and encoding efficiency of a PCIe generation.
  static double transfer_rate_gt_per_s(uint32_t gen);
  static double encoding_efficiency(uint32_t gen);

 private:
  config::PcieLink cfg_;
  double wire_gb_per_s_;
  sc_core::sc_time latency_;
};

// On-package fabric: a fixed bandwidth and latency, no packet overhead.
class OnDieTiming : public LinkTiming {
 public:
  explicit OnDieTiming(const config::OnDieLink& cfg);
  Wire data(uint64_t payload) const override { return Wire{payload, 1}; }
  Wire read_request(uint64_t) const override { return Wire{0, 1}; }
  double wire_gb_per_s() const override { return cfg_.bandwidth_gb_per_s(); }
  sc_core::sc_time latency() const override { return latency_; }
  std::string describe() const override;

 private:
  config::OnDieLink cfg_;
  sc_core::sc_time latency_;
};

}  // namespace fl::hw
