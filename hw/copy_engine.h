// The copy engine (SDMA): one ring queue, packets executed in order.
//
// Models: the driver writes packets into the ring (in host memory) and writes the new
// WPTR to the doorbell. The engine fetches the new bytes from the ring with a DMA read,
// then executes each packet after a fixed decode overhead:
//   COPY_LINEAR  reads the source in bursts (at most max_outstanding_bytes in flight) and
//                writes each burst to the destination as it arrives; done when all writes are;
//   WRITE        writes inline data (PTE values, GART entries) to the destination;
//   PTEPDE       generates `count` PTEs (addr + i * incr | flags) and writes them;
//   FENCE        writes a 32-bit value (the fence sequence number);
//   TRAP         posts an interrupt (client SDMA0, src_id 224) to the IH;
//   POLL_REGMEM  reads a 32-bit memory location until (value & mask) == reference, one
//                read every poll_interval_cycles (used to wait for another agent's write).
// Packet sizes are those of sdma_v4_0 (vega10_sdma_pkt_open.h): COPY_LINEAR 7 dwords,
// WRITE 4 + data dwords, PTEPDE 10, FENCE 4, TRAP 2, POLL_REGMEM 6. Packets are carried decoded beside
// the ring; the fetch is timed by their real sizes.
// Several engines are several CopyEngine modules (soc.gpu.sdma, sdma1, ...), each with its
// own ring, doorbell register window (regs::sdma_base) and trap client (ih_client::kSdma).
// Abstracts away: several queues per engine (page queue, user queues), indirect buffers, the engine's own UTCL1
// (addresses are physical: VRAM, or host DMA addresses with the system flag), tiling,
// POLL_REGMEM on registers (memory only) and its retry count (it polls until it matches).
//
// Ports: mem (AT initiator to the fabric), ih_out (AT initiator to the IH), regs
// (doorbell on the register bus).
// Timeline (set_timeline): each packet from the engine taking it (decode overhead
// included) to its completion, on track "soc.gpu.sdma" ("soc.gpu.sdma1", ...), named by its
// op; copies carry their bytes and direction (h2d, d2h, d2d, h2h).
#pragma once

#include <deque>
#include <vector>
#include <systemc>

#include "sim/core/register_file.h"
#include "sim/core/event_queue.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/time.h"
#include "sim/core/timeline.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/txn.h"

namespace fl::hw {

struct SdmaPacket {
  enum class Op { kCopyLinear, kWrite, kPtePde, kFence, kTrap, kPollRegMem };
  Op op = Op::kTrap;
  // COPY_LINEAR source; destination of every op that writes.
  uint64_t src = 0;
  bool src_system = false;
  uint64_t dst = 0;
  bool dst_system = false;
  uint64_t bytes = 0;              // COPY_LINEAR
  std::vector<uint8_t> data;       // WRITE
  uint64_t pte_addr = 0;           // PTEPDE: first PTE = pte_addr | pte_flags
  uint64_t pte_flags = 0;
  uint64_t pte_incr = 0;
  uint32_t pte_count = 0;
  uint32_t value = 0;              // FENCE value, TRAP context, POLL_REGMEM reference
  uint32_t mask = 0;               // POLL_REGMEM

  uint32_t size_bytes() const;

  static SdmaPacket copy(uint64_t src, bool src_system, uint64_t dst, bool dst_system, uint64_t bytes);
  static SdmaPacket write(uint64_t dst, bool dst_system, std::vector<uint8_t> data);
  static SdmaPacket pte_pde(uint64_t pe, uint64_t addr, uint64_t flags, uint64_t incr, uint32_t count);
  static SdmaPacket fence(uint64_t dst, bool dst_system, uint32_t value);
  static SdmaPacket trap(uint32_t context);
  static SdmaPacket poll_regmem(uint64_t addr, bool system, uint32_t reference, uint32_t mask);
};

class CopyEngine : public sc_core::sc_module {
 public:
  CopyEngine(sc_core::sc_module_name name, const config::CopyEngine& cfg, const Clock& clock,
             uint32_t engine = 0);

  uint32_t engine() const { return engine_; }

  AtInitiatorPort mem;
  AtInitiatorPort ih_out;
  RegisterFile regs;

  // Driver initialisation: the ring buffer in host memory.
  void program_ring(uint64_t base, uint32_t bytes);
  // The CPU's write of packets into the ring (functional; the driver charges the time).
  // Returns the WPTR to write to the doorbell.
  uint32_t write_ring(std::vector<SdmaPacket> packets);
  // Bytes moved so far (COPY_LINEAR, WRITE and PTEPDE); grows while a packet executes.
  uint64_t moved_bytes() const { return copy_bytes_.value() + write_bytes_.value(); }
  // Nothing written to the ring is left to fetch or execute.
  bool idle() const { return !fetching_ && !executing_ && written_.empty() && ready_.empty(); }
  // Draws each packet on `t` (sim/core/timeline.h).
  void set_timeline(Timeline* t) {
    tl_ = std::make_unique<TimelineTrack>(*t, name(), timeline_sort::kCopyEngine + static_cast<int>(engine_));
  }

 private:
  struct Queued {
    SdmaPacket pkt;
    uint32_t end_offset;  // ring offset just past the packet
  };
  void doorbell(uint32_t wptr);
  void fetch();
  void on_fetched();
  void execute_next();
  void start_packet();
  void issue_bursts();
  void on_mem_response(Payload& gp);
  void packet_done();
  void poll();
  Txn& new_txn(tlm::tlm_command cmd, uint64_t addr, bool system, uint32_t len);

  config::CopyEngine cfg_;
  uint32_t engine_;
  sc_core::sc_time overhead_;
  sc_core::sc_time poll_interval_;
  EventQueue queue_;
  TxnPool pool_;

  uint64_t ring_base_ = 0;
  uint32_t ring_bytes_ = 0;
  uint32_t cpu_wptr_ = 0;      // where the CPU writes next
  uint32_t doorbell_wptr_ = 0; // last doorbell value
  uint32_t fetched_ = 0;       // ring offset fetched up to
  uint64_t unfetched_bytes_ = 0;  // written by the CPU, not yet fetched
  std::deque<Queued> written_; // packets written by the CPU, not yet fetched
  std::deque<SdmaPacket> ready_;  // fetched, waiting to execute
  bool fetching_ = false;
  bool executing_ = false;

  // Progress of the packet being executed.
  SdmaPacket cur_;
  uint64_t issued_ = 0;        // bytes whose first transfer has been issued
  uint64_t in_flight_reads_ = 0;
  uint64_t outstanding_ = 0;   // transfers not yet responded
  uint64_t packet_start_ps_ = 0;
  std::unique_ptr<TimelineTrack> tl_;  // null: no timeline
  void tl_packet();

  stats::Group stats_;
  stats::Counter packets_{stats_, "packets", "count", "Packets executed"};
  stats::Value hung_{stats_, "hung", "bool", "1 if the engine hung (fault injection: hang_after_packets)"};
  stats::Counter copies_{stats_, "copy_packets", "count", "COPY_LINEAR packets executed"};
  stats::Counter copy_bytes_{stats_, "copy_bytes", "bytes", "Bytes moved by COPY_LINEAR"};
  stats::Counter write_bytes_{stats_, "write_bytes", "bytes", "Bytes written by WRITE and PTEPDE"};
  stats::Counter fetch_bytes_{stats_, "fetch_bytes", "bytes", "Ring bytes fetched"};
  stats::Counter traps_{stats_, "traps", "count", "TRAP interrupts raised"};
  stats::Counter polls_{stats_, "poll_reads", "count", "Memory reads by POLL_REGMEM packets"};
  stats::Value busy_ns_{stats_, "busy_ns", "ns", "Time spent executing packets"};
  stats::Histogram copy_ns_{stats_, "copy_ns", "ns", "Execution time of a COPY_LINEAR packet"};
  stats::Formula copy_bw_{stats_, "copy_gb_per_s", "GB/s", "Mean bandwidth of COPY_LINEAR execution",
                          [this] {
                            return copy_ns_.sum() > 0
                                       ? static_cast<double>(copy_bytes_.value()) / copy_ns_.sum()
                                       : 0.0;
                          }};
};

}  // namespace fl::hw
