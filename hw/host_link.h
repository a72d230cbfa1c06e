// The link between the GPU and the host (soc.pcie on a discrete GPU, soc.ondie on an APU).
//
// Models: two independent directions ("up": GPU to host, "down": host to GPU). A transfer
// becomes TLPs (LinkTiming: PCIe headers, framing, MPS/MRRS splitting, completions split
// at the read completion boundary, Gen6 FLITs); each direction serialises its TLPs in
// order at the wire rate, each TLP first waiting for flow-control credits of its class at
// the receiver (the root port for "up", the GPU for "down"); credits come back
// update_fc_latency_ns after the TLP arrives. Every TLP received makes the receiver owe Ack
// and UpdateFC DLLPs on the reverse direction, sent in that direction's idle time first and
// otherwise ahead of its next TLP. A TLP arrives one latency (link plus root complex) after
// its last byte left. GPU DMA reads send read requests up and their completions come back
// down; host MMIO reads do the reverse. Writes are posted: the sender is done once the
// write has left it, and the link carries its own copy on. ATS and PRI messages (and
// translation requests) travel as TLPs through send().
// Abstracts away: replay (NAK, LCRC errors), tags and the completion timeout, switches as
// separate hops, ordering rules beyond per-direction FIFO (no passing of posted writes),
// non-posted data credits (no non-posted writes are modelled), 4 KiB-boundary splitting.
//
// Ports: gpu_in (AT target, from the GPU fabric or its ATC), host_out (AT initiator, to the
// IOMMU), host_in (AT target, host MMIO), gpu_out (AT initiator, to the GPU register bus).
// Timeline (set_timeline): per direction ("soc.pcie.up", "soc.pcie.down"), bursts of TLP
// serialisation: TLPs whose serialisation starts less than kTimelineBurstGapPs after the
// previous one's ended are one slice (a slice per TLP would be millions of events), with
// its TLP count, payload and wire bytes and the time actually spent serialising.
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <systemc>

#include "hw/link_timing.h"
#include "sim/core/event_queue.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/timeline.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/txn.h"

namespace fl::hw {

// The Address Type field of a memory request TLP header (PCIe Base 2.2.4.1): a request an
// ATS device sends with an address its ATC translated is marked translated, and the IOMMU
// passes it without translating. Requests without this extension are untranslated.
struct AddressTypeExt : tlm::tlm_extension<AddressTypeExt> {
  bool translated = false;
  tlm::tlm_extension_base* clone() const override { return new AddressTypeExt(*this); }
  void copy_from(const tlm::tlm_extension_base& o) override {
    *this = static_cast<const AddressTypeExt&>(o);
  }
};

inline bool is_translated(const tlm::tlm_generic_payload& gp) {
  const auto* e = gp.get_extension<AddressTypeExt>();
  return e != nullptr && e->translated;
}

// The credits of one kind (header or data of one class) a receiver advertises, as the
// transmitter's gate sees them: consumed when a TLP is sent, returned at a later time.
class CreditPool {
 public:
  // `limit` 0: infinite.
  explicit CreditPool(uint32_t limit) : limit_(limit), free_(limit) {}

  // Takes `n` credits at the earliest time from `t_ps` on when they are free; returns that
  // time. `n` must not exceed the limit.
  uint64_t acquire(uint64_t t_ps, uint32_t n);
  // `n` credits become free again at `t_ps` (times must not decrease between calls).
  void release_at(uint64_t t_ps, uint32_t n);

  bool infinite() const { return limit_ == 0; }
  uint32_t limit() const { return limit_; }
  // Free credits at `t_ps`, counting returns due by then (no side effect on timing).
  uint64_t free_at(uint64_t t_ps) const;

 private:
  uint32_t limit_;
  uint64_t free_;
  std::deque<std::pair<uint64_t, uint32_t>> returns_;  // (time, credits), in time order
};

// One direction of the link.
class LinkDirection : public sc_core::sc_module {
 public:
  // `credits` are the receiver's; null for a link without flow control.
  LinkDirection(sc_core::sc_module_name name, const LinkTiming& timing,
                const config::FlowControlCredits* credits, double update_fc_ns);

  struct Slot {
    uint64_t end_ps;      // the last byte has left the sender
    uint64_t arrive_ps;   // the last byte has arrived at the receiver
  };
  // Queues `tlps` behind earlier transfers; `reverse` owes DLLPs for them.
  Slot transmit(const TlpList& tlps, LinkDirection* reverse);
  // The receiver of this direction's TLPs will send `bytes` of DLLPs back on this
  // direction from `from_ps` on.
  void owe_dllp(uint64_t from_ps, double bytes);

  // Idle time shorter than this between TLPs does not end a timeline burst.
  static constexpr uint64_t kTimelineBurstGapPs = 500000;
  // Draws bursts on `t` (sim/core/timeline.h).
  void set_timeline(Timeline* t, int sort);

 private:
  struct TlBurst {
    uint64_t begin_ps = 0, end_ps = 0, busy_ps = 0;
    uint64_t tlps = 0, payload_bytes = 0;
    double wire_bytes = 0;
  };
  void tl_add(uint64_t start_ps, uint64_t end_ps, const Tlp& tlp);
  void tl_flush();
  std::unique_ptr<TimelineTrack> tl_;  // null: no timeline
  TlBurst tl_burst_;

  const LinkTiming& timing_;
  std::array<CreditPool, kFcClasses> header_;
  std::array<CreditPool, kFcClasses> data_;
  uint64_t update_fc_ps_;
  uint64_t busy_until_ps_ = 0;
  double dllp_debt_bytes_ = 0;
  uint64_t dllp_since_ps_ = 0;

  stats::Group stats_;
  stats::Counter packets_{stats_, "packets", "count", "TLPs sent"};
  stats::Counter payload_bytes_{stats_, "payload_bytes", "bytes", "Payload bytes carried"};
  stats::Value wire_bytes_{stats_, "wire_bytes", "bytes", "Bytes serialised for TLPs: payload, headers, framing, LCRC (FLIT overhead in Gen6)"};
  stats::Value dllp_bytes_{stats_, "dllp_bytes", "bytes", "Ack and UpdateFC DLLP bytes sent in this direction"};
  stats::Value dllp_delay_ns_{stats_, "dllp_delay_ns", "ns", "Time TLPs waited behind DLLPs that found no idle time"};
  stats::Value busy_ns_{stats_, "busy_ns", "ns", "Time spent serialising TLPs and DLLPs"};
  stats::Histogram queue_ns_{stats_, "queue_ns", "ns", "Time a transfer's first TLP waited behind earlier ones"};
  stats::Counter credit_stalls_{stats_, "credit_stalls", "count", "TLPs that waited for flow-control credits at the receiver"};
  stats::Value credit_stall_ns_{stats_, "credit_stall_ns", "ns", "Total time TLPs waited for credits"};
  stats::Formula utilisation_;
  stats::Formula payload_gb_per_s_;
};

class HostLink : public sc_core::sc_module {
 public:
  enum class Dir { kUp, kDown };

  // `pcie` gives the flow-control settings (null: no flow control, on-die).
  HostLink(sc_core::sc_module_name name, std::unique_ptr<LinkTiming> timing,
           const config::PcieLink* pcie = nullptr);

  AtTargetPort gpu_in;
  AtInitiatorPort host_out;
  AtTargetPort host_in;
  AtInitiatorPort gpu_out;

  const LinkTiming& timing() const { return *timing_; }
  // Draws each direction's bursts on `t` (sim/core/timeline.h).
  void set_timeline(Timeline* t) {
    up_.set_timeline(t, timeline_sort::kLink);
    down_.set_timeline(t, timeline_sort::kLink + 1);
  }

  // Sends `tlps` (messages, translation requests and completions) in direction `d`;
  // `on_arrival` runs when the last has arrived.
  void send(Dir d, const TlpList& tlps, std::function<void()> on_arrival);

 private:
  // A request entering at one side and leaving at the other.
  void forward(Payload& gp, LinkDirection& dir, LinkDirection& back, AtTargetPort& from,
               AtInitiatorPort& to);
  // A response to a forwarded read, returning along `back`.
  void complete(Payload& gp, LinkDirection& back, LinkDirection& fwd, AtTargetPort& to);
  Txn& clone(Payload& gp);

  std::unique_ptr<LinkTiming> timing_;
  LinkDirection up_;
  LinkDirection down_;
  TxnPool pool_;  // copies of posted writes in flight
  TlpList scratch_;
  EventQueue queue_;

  stats::Group stats_;
  stats::Counter dma_reads_{stats_, "dma_reads", "count", "GPU reads of host memory"};
  stats::Counter dma_writes_{stats_, "dma_writes", "count", "GPU writes to host memory (including MSIs)"};
  stats::Counter mmio_reads_{stats_, "mmio_reads", "count", "Host reads of GPU registers"};
  stats::Counter mmio_writes_{stats_, "mmio_writes", "count", "Host writes to GPU registers and doorbells"};
  stats::Counter messages_{stats_, "ats_tlps", "count", "ATS/PRI TLPs: translation requests and completions, invalidations, page requests and responses"};
};

}  // namespace fl::hw
