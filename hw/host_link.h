// The link between the GPU and the host (soc.pcie on a discrete GPU, soc.ondie on an APU).
//
// Models: two independent directions ("up": GPU to host, "down": host to GPU), each a FIFO
// that serialises transfers at the link's wire rate (LinkTiming: PCIe TLP packetisation or
// a plain fabric) and delivers them one latency later. GPU DMA reads send read requests up
// and their completions come back down; host MMIO reads do the reverse. Writes are posted:
// the sender is done once the write has left it, and the link carries its own copy on.
// Abstracts away: flow-control credits, DLLPs (ACK/NAK, credit updates), replay, the read
// completion boundary, switches as separate hops, and ordering rules beyond per-direction FIFO.
//
// Ports: gpu_in (AT target, from the GPU fabric), host_out (AT initiator, to the IOMMU),
// host_in (AT target, host MMIO), gpu_out (AT initiator, to the GPU register bus).
#pragma once

#include <memory>
#include <systemc>

#include "hw/link_timing.h"
#include "sim/core/stats.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/txn.h"

namespace fl::hw {

// One direction of the link.
class LinkDirection : public sc_core::sc_module {
 public:
  LinkDirection(sc_core::sc_module_name name, const LinkTiming& timing);

  struct Slot {
    uint64_t end_ps;      // the last byte has left the sender
    uint64_t arrive_ps;   // the last byte has arrived at the receiver
  };
  // Queues `w` behind earlier transfers.
  Slot transmit(const Wire& w, uint64_t payload_bytes);

 private:
  const LinkTiming& timing_;
  uint64_t busy_until_ps_ = 0;

  stats::Group stats_;
  stats::Counter packets_{stats_, "packets", "count", "Packets (TLPs) sent"};
  stats::Counter payload_bytes_{stats_, "payload_bytes", "bytes", "Payload bytes carried"};
  stats::Counter wire_bytes_{stats_, "wire_bytes", "bytes", "Bytes serialised including packet overhead"};
  stats::Value busy_ns_{stats_, "busy_ns", "ns", "Time spent serialising"};
  stats::Histogram queue_ns_{stats_, "queue_ns", "ns", "Time a transfer waited behind earlier ones"};
  stats::Formula utilisation_;
};

class HostLink : public sc_core::sc_module {
 public:
  HostLink(sc_core::sc_module_name name, std::unique_ptr<LinkTiming> timing);

  AtTargetPort gpu_in;
  AtInitiatorPort host_out;
  AtTargetPort host_in;
  AtInitiatorPort gpu_out;

  const LinkTiming& timing() const { return *timing_; }

 private:
  // A request entering at one side and leaving at the other.
  void forward(Payload& gp, LinkDirection& dir, AtTargetPort& from, AtInitiatorPort& to);
  // A response to a forwarded read, returning along `back`.
  void complete(Payload& gp, LinkDirection& back, AtTargetPort& to);
  Txn& clone(Payload& gp);

  std::unique_ptr<LinkTiming> timing_;
  LinkDirection up_;
  LinkDirection down_;
  TxnPool pool_;  // copies of posted writes in flight

  stats::Group stats_;
  stats::Counter dma_reads_{stats_, "dma_reads", "count", "GPU reads of host memory"};
  stats::Counter dma_writes_{stats_, "dma_writes", "count", "GPU writes to host memory (including MSIs)"};
  stats::Counter mmio_reads_{stats_, "mmio_reads", "count", "Host reads of GPU registers"};
  stats::Counter mmio_writes_{stats_, "mmio_writes", "count", "Host writes to GPU registers and doorbells"};
};

}  // namespace fl::hw
