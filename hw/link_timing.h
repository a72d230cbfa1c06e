// How a link technology turns a transfer into packets on the wire: the policy behind
// HostLink. One class per technology (PCIe, on-die fabric), chosen by soc.host_link.
//
// A transfer becomes a list of Tlp records: each with its flow-control class (posted,
// non-posted, completion), payload, the credits it needs at the receiver and the bytes it
// occupies on the wire. LinkDirection serialises them one by one, waiting for credits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include <systemc>

#include "sim/core/schema.h"

namespace fl::hw {

// PCIe flow-control classes (PCIe Base section 2.6.1).
enum class FcClass : uint8_t { kPosted = 0, kNonPosted = 1, kCompletion = 2 };
constexpr int kFcClasses = 3;

struct Tlp {
  FcClass fc = FcClass::kPosted;
  uint32_t payload = 0;     // data bytes carried
  double wire_bytes = 0;    // bytes serialised, headers, framing and FLIT overhead included
  uint32_t data_credits() const { return (payload + 15) / 16; }  // 4-DW units (2.6.1)
};

using TlpList = std::vector<Tlp>;

class LinkTiming {
 public:
  virtual ~LinkTiming() = default;
  // A posted memory write of `len` bytes at `addr` (split at max payload size).
  virtual void write(uint64_t addr, uint64_t len, TlpList& out) const = 0;
  // The read requests for `len` bytes at `addr` (split at max read request size).
  virtual void read_request(uint64_t addr, uint64_t len, TlpList& out) const = 0;
  // The completions with data answering a read of `len` bytes at `addr`.
  virtual void completions(uint64_t addr, uint64_t len, TlpList& out) const = 0;
  // A message (ATS invalidation, page request, PRG response): posted, 4DW header,
  // `payload` data bytes (0 for Msg, 8 for the invalidation request's MsgD).
  virtual void message(uint32_t payload, TlpList& out) const = 0;
  // An ATS translation request (non-posted, no data) and its completion (8 data bytes).
  virtual void translation_request(TlpList& out) const = 0;
  virtual void translation_completion(TlpList& out) const = 0;
  // Raw rate per direction after line encoding, in GB/s (bytes per ns).
  virtual double wire_gb_per_s() const = 0;
  // Bytes the receiver of `tlps` TLPs sends back as Ack and UpdateFC DLLPs (0 when DLLPs
  // do not cost link bandwidth).
  virtual double dllp_bytes(uint64_t tlps) const = 0;
  // DLLP bytes a receiver sends at once (an Ack with its UpdateFC); until that much is owed,
  // DLLPs wait for idle time instead of delaying TLPs (Ack coalescing). 0: no DLLP cost.
  virtual double dllp_batch_bytes() const = 0;
  // One-way latency after serialisation (link plus root complex).
  virtual sc_core::sc_time latency() const = 0;
  // The part of it before the receiver's buffers (the link itself): where flow-control
  // credits are freed, so the credit loop does not include the root complex.
  virtual sc_core::sc_time link_latency() const = 0;
  // Whether the link has flow control (PCIe) at all.
  virtual bool flow_controlled() const = 0;
  virtual std::string describe() const = 0;
};

// PCIe generations 1-6.
//   Gen1-2: 8b/10b; each TLP framed by STP + sequence number (2) ... LCRC (4) + END: 8 bytes.
//   Gen3-5: 128b/130b; STP token with sequence number (4) + LCRC (4): 8 bytes per TLP.
//   Gen6:   FLIT mode, PAM4 at 64 GT/s with no line code; 256-byte flits carry 236 TLP
//           bytes, 6 DLLP bytes, 8 CRC and 6 FEC bytes, so TLPs have no per-TLP framing
//           or LCRC, and DLLPs ride in the flits (PCIe Base 6.0 section 4.2.3).
// Headers (PCIe Base 2.2.1): memory requests with 64-bit addresses and messages 4 DW,
// completions 3 DW. Completions of a read end on RCB-aligned addresses and carry at most
// min(max_completion_bytes, max_payload_bytes) (2.3.1.1). `key` prefixes error messages.
class PcieTiming : public LinkTiming {
 public:
  static constexpr uint32_t kRequestHeaderBytes = 16;    // 4 DW
  static constexpr uint32_t kCompletionHeaderBytes = 12; // 3 DW
  static constexpr uint32_t kFramingBytes = 8;           // non-FLIT: token/seq + LCRC
  static constexpr uint32_t kDllpBytes = 8;              // 6-byte DLLP + 2 bytes framing
  static constexpr double kFlitEfficiency = 236.0 / 256.0;

  PcieTiming(const config::PcieLink& cfg, const std::string& key);
  void write(uint64_t addr, uint64_t len, TlpList& out) const override;
  void read_request(uint64_t addr, uint64_t len, TlpList& out) const override;
  void completions(uint64_t addr, uint64_t len, TlpList& out) const override;
  void message(uint32_t payload, TlpList& out) const override;
  void translation_request(TlpList& out) const override;
  void translation_completion(TlpList& out) const override;
  double wire_gb_per_s() const override { return wire_gb_per_s_; }
  double dllp_bytes(uint64_t tlps) const override;
  double dllp_batch_bytes() const override { return flit_mode() ? 0 : 2.0 * kDllpBytes; }
  sc_core::sc_time latency() const override { return latency_; }
  sc_core::sc_time link_latency() const override { return link_latency_; }
  bool flow_controlled() const override { return true; }
  std::string describe() const override;

  bool flit_mode() const { return cfg_.gen() >= 6; }
  // Bytes on the wire of a TLP with `header` + `payload` bytes.
  double tlp_wire_bytes(uint32_t header, uint32_t payload) const;

  // GT/s per lane and line-encoding efficiency of a PCIe generation.
  static double transfer_rate_gt_per_s(uint32_t gen);
  static double encoding_efficiency(uint32_t gen);
  // Payload sizes of the completions for a read of `len` bytes at `addr`: each ends on an
  // `rcb`-aligned address (but the last) and carries at most `max_bytes` (a multiple of rcb).
  static std::vector<uint32_t> split_completions(uint64_t addr, uint64_t len, uint32_t rcb,
                                                 uint32_t max_bytes);

 private:
  config::PcieLink cfg_;
  double wire_gb_per_s_;
  uint32_t max_completion_;
  sc_core::sc_time latency_;
  sc_core::sc_time link_latency_;
};

// On-package fabric: a fixed bandwidth and latency, no packet overhead, no flow control.
class OnDieTiming : public LinkTiming {
 public:
  explicit OnDieTiming(const config::OnDieLink& cfg);
  void write(uint64_t, uint64_t len, TlpList& out) const override;
  void read_request(uint64_t, uint64_t, TlpList& out) const override;
  void completions(uint64_t, uint64_t len, TlpList& out) const override;
  void message(uint32_t payload, TlpList& out) const override;
  void translation_request(TlpList& out) const override;
  void translation_completion(TlpList& out) const override;
  double wire_gb_per_s() const override { return cfg_.bandwidth_gb_per_s(); }
  double dllp_bytes(uint64_t) const override { return 0; }
  double dllp_batch_bytes() const override { return 0; }
  sc_core::sc_time latency() const override { return latency_; }
  sc_core::sc_time link_latency() const override { return latency_; }
  bool flow_controlled() const override { return false; }
  std::string describe() const override;

 private:
  config::OnDieLink cfg_;
  sc_core::sc_time latency_;
};

}  // namespace fl::hw
