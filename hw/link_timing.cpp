#include "hw/link_timing.h"

#include <cstdio>

#include "sim/core/errors.h"
#include "sim/core/time.h"

namespace fl::hw {

namespace {
bool power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }
uint64_t div_ceil(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
}  // namespace

double PcieTiming::transfer_rate_gt_per_s(uint32_t gen) {
  // PCI Express Base Specification: 2.5, 5.0, 8.0, 16.0, 32.0 GT/s for Gen1-5.
  static const double kRates[] = {0, 2.5, 5.0, 8.0, 16.0, 32.0};
  return gen >= 1 && gen <= 5 ? kRates[gen] : 0.0;
}

double PcieTiming::encoding_efficiency(uint32_t gen) {
  return gen <= 2 ? 8.0 / 10.0 : 128.0 / 130.0;  // 8b/10b, then 128b/130b from Gen3
}

PcieTiming::PcieTiming(const config::PcieLink& cfg, const std::string& key)
    : cfg_(cfg), latency_(from_ns(cfg.latency_ns())) {
  const uint32_t l = cfg.lanes();
  if (l != 1 && l != 2 && l != 4 && l != 8 && l != 12 && l != 16 && l != 32) {
    throw InputError(key + ".lanes = " + std::to_string(l) +
                     ": a PCIe link has 1, 2, 4, 8, 12, 16 or 32 lanes");
  }
  if (!power_of_two(cfg.max_payload_bytes())) {
    throw InputError(key + ".max_payload_bytes = " + std::to_string(cfg.max_payload_bytes()) +
                     ": must be a power of two (128 to 4096)");
  }
  if (!power_of_two(cfg.max_read_request_bytes())) {
    throw InputError(key + ".max_read_request_bytes = " +
                     std::to_string(cfg.max_read_request_bytes()) +
                     ": must be a power of two (128 to 4096)");
  }
  wire_gb_per_s_ = transfer_rate_gt_per_s(cfg.gen()) * cfg.lanes() *
                   encoding_efficiency(cfg.gen()) / 8.0;
}

Wire PcieTiming::data(uint64_t payload) const {
  const uint64_t tlps = payload == 0 ? 1 : div_ceil(payload, cfg_.max_payload_bytes());
  return Wire{payload + tlps * cfg_.tlp_overhead_bytes(), tlps};
}

Wire PcieTiming::read_request(uint64_t len) const {
  const uint64_t tlps = len == 0 ? 1 : div_ceil(len, cfg_.max_read_request_bytes());
  return Wire{tlps * cfg_.tlp_overhead_bytes(), tlps};
}

std::string PcieTiming::describe() const {
  char buf[160];
  std::snprintf(buf, sizeof buf, "PCIe Gen%u x%u, %.2f GB/s raw per direction",
                cfg_.gen(), cfg_.lanes(), wire_gb_per_s_);
  return buf;
}

OnDieTiming::OnDieTiming(const config::OnDieLink& cfg)
    : cfg_(cfg), latency_(from_ns(cfg.latency_ns())) {}

std::string OnDieTiming::describe() const {
  char buf[120];
  std::snprintf(buf, sizeof buf, "on-die fabric, %.1f GB/s per direction",
                cfg_.bandwidth_gb_per_s());
  return buf;
}

}  // namespace fl::hw
