#include "hw/link_timing.h"

#include <algorithm>
#include <cstdio>

#include "sim/core/errors.h"
#include "sim/core/time.h"

namespace fl::hw {

namespace {
bool power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }
}  // namespace

double PcieTiming::transfer_rate_gt_per_s(uint32_t gen) {
  // PCI Express Base Specification: 2.5, 5.0, 8.0, 16.0, 32.0, 64.0 GT/s for Gen1-6.
  static const double kRates[] = {0, 2.5, 5.0, 8.0, 16.0, 32.0, 64.0};
  return gen >= 1 && gen <= 6 ? kRates[gen] : 0.0;
}

double PcieTiming::encoding_efficiency(uint32_t gen) {
  // 8b/10b for Gen1-2, 128b/130b for Gen3-5; Gen6 PAM4 carries bits unencoded (its FLIT
  // overhead is accounted per TLP byte, kFlitEfficiency).
  if (gen <= 2) return 8.0 / 10.0;
  if (gen <= 5) return 128.0 / 130.0;
  return 1.0;
}

namespace {
// Calls fn(payload) for each completion of a read of `len` bytes at `addr`: each ends on
// an `rcb`-aligned address (but the last) and carries at most `max_bytes`.
template <class Fn>
void for_each_completion(uint64_t addr, uint64_t len, uint32_t rcb, uint32_t max_bytes, Fn fn) {
  if (len == 0) {
    fn(0u);
    return;
  }
  const uint64_t end = addr + len;
  for (uint64_t a = addr; a < end;) {
    // The furthest RCB boundary within max_bytes of `a`.
    uint64_t stop = (a + max_bytes) / rcb * rcb;
    if (stop <= a) stop = (a / rcb + 1) * rcb;
    stop = std::min(stop, end);
    fn(static_cast<uint32_t>(stop - a));
    a = stop;
  }
}
}  // namespace

std::vector<uint32_t> PcieTiming::split_completions(uint64_t addr, uint64_t len, uint32_t rcb,
                                                    uint32_t max_bytes) {
  std::vector<uint32_t> out;
  for_each_completion(addr, len, rcb, max_bytes, [&out](uint32_t n) { out.push_back(n); });
  return out;
}

PcieTiming::PcieTiming(const config::PcieLink& cfg, const std::string& key)
    : cfg_(cfg),
      latency_(from_ns(cfg.latency_ns() + cfg.root_complex_latency_ns())),
      link_latency_(from_ns(cfg.latency_ns())) {
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
  const uint32_t rcb = cfg.read_completion_boundary_bytes();
  if (rcb != 64 && rcb != 128) {
    throw InputError(key + ".read_completion_boundary_bytes = " + std::to_string(rcb) +
                     ": the read completion boundary is 64 or 128 bytes");
  }
  if (!power_of_two(cfg.max_completion_bytes()) || cfg.max_completion_bytes() < rcb) {
    throw InputError(key + ".max_completion_bytes = " + std::to_string(cfg.max_completion_bytes()) +
                     ": must be a power of two, at least read_completion_boundary_bytes");
  }
  max_completion_ = std::min(cfg.max_completion_bytes(), cfg.max_payload_bytes());
  wire_gb_per_s_ = transfer_rate_gt_per_s(cfg.gen()) * cfg.lanes() *
                   encoding_efficiency(cfg.gen()) / 8.0;
}

double PcieTiming::tlp_wire_bytes(uint32_t header, uint32_t payload) const {
  if (flit_mode()) return static_cast<double>(header + payload) / kFlitEfficiency;
  return static_cast<double>(header + payload + kFramingBytes);
}

void PcieTiming::write(uint64_t, uint64_t len, TlpList& out) const {
  const uint32_t mps = cfg_.max_payload_bytes();
  uint64_t left = len;
  do {
    const auto n = static_cast<uint32_t>(std::min<uint64_t>(left, mps));
    out.push_back(Tlp{FcClass::kPosted, n, tlp_wire_bytes(kRequestHeaderBytes, n)});
    left -= n;
  } while (left > 0);
}

void PcieTiming::read_request(uint64_t, uint64_t len, TlpList& out) const {
  const uint64_t n = len == 0 ? 1 : (len + cfg_.max_read_request_bytes() - 1) / cfg_.max_read_request_bytes();
  for (uint64_t i = 0; i < n; ++i) {
    out.push_back(Tlp{FcClass::kNonPosted, 0, tlp_wire_bytes(kRequestHeaderBytes, 0)});
  }
}

void PcieTiming::completions(uint64_t addr, uint64_t len, TlpList& out) const {
  // Each read request (at most MRRS) is completed on its own.
  const uint64_t mrrs = cfg_.max_read_request_bytes();
  uint64_t a = addr;
  uint64_t left = len;
  do {
    const uint64_t req = std::min(left, mrrs);
    for_each_completion(a, req, cfg_.read_completion_boundary_bytes(), max_completion_, [&](uint32_t n) {
      out.push_back(Tlp{FcClass::kCompletion, n, tlp_wire_bytes(kCompletionHeaderBytes, n)});
    });
    a += req;
    left -= req;
  } while (left > 0);
}

void PcieTiming::message(uint32_t payload, TlpList& out) const {
  out.push_back(Tlp{FcClass::kPosted, payload, tlp_wire_bytes(kRequestHeaderBytes, payload)});
}

void PcieTiming::translation_request(TlpList& out) const {
  out.push_back(Tlp{FcClass::kNonPosted, 0, tlp_wire_bytes(kRequestHeaderBytes, 0)});
}

void PcieTiming::translation_completion(TlpList& out) const {
  out.push_back(Tlp{FcClass::kCompletion, 8, tlp_wire_bytes(kCompletionHeaderBytes, 8)});
}

double PcieTiming::dllp_bytes(uint64_t tlps) const {
  if (flit_mode()) return 0;  // DLLPs travel in the flits' DLLP bytes
  // One Ack and one UpdateFC per tlps_per_ack TLPs.
  return 2.0 * kDllpBytes * static_cast<double>(tlps) / cfg_.tlps_per_ack();
}

std::string PcieTiming::describe() const {
  char buf[160];
  std::snprintf(buf, sizeof buf, "PCIe Gen%u x%u%s, %.2f GB/s raw per direction", cfg_.gen(),
                cfg_.lanes(), flit_mode() ? " (FLIT mode)" : "", wire_gb_per_s_);
  return buf;
}

OnDieTiming::OnDieTiming(const config::OnDieLink& cfg)
    : cfg_(cfg), latency_(from_ns(cfg.latency_ns())) {}

void OnDieTiming::write(uint64_t, uint64_t len, TlpList& out) const {
  out.push_back(Tlp{FcClass::kPosted, static_cast<uint32_t>(len), static_cast<double>(len)});
}
void OnDieTiming::read_request(uint64_t, uint64_t, TlpList& out) const {
  out.push_back(Tlp{FcClass::kNonPosted, 0, 0});
}
void OnDieTiming::completions(uint64_t, uint64_t len, TlpList& out) const {
  out.push_back(Tlp{FcClass::kCompletion, static_cast<uint32_t>(len), static_cast<double>(len)});
}
void OnDieTiming::message(uint32_t payload, TlpList& out) const {
  out.push_back(Tlp{FcClass::kPosted, payload, static_cast<double>(payload)});
}
void OnDieTiming::translation_request(TlpList& out) const { out.push_back(Tlp{FcClass::kNonPosted, 0, 0}); }
void OnDieTiming::translation_completion(TlpList& out) const {
  out.push_back(Tlp{FcClass::kCompletion, 8, 8});
}

std::string OnDieTiming::describe() const {
  char buf[120];
  std::snprintf(buf, sizeof buf, "on-die fabric, %.1f GB/s per direction",
                cfg_.bandwidth_gb_per_s());
  return buf;
}

}  // namespace fl::hw
