// The GPU interrupt handler (IH, OSSSYS block) with its ring 0.
//
// Models: interrupt sources (UTCL2 faults, copy-engine traps) post 32-byte entries; the IH
// handles them one at a time (entry_latency each), stamps ring id and a 48-bit timestamp
// (timestamp_mhz ticks), writes the entry into the ring in host memory at WPTR, writes the
// new WPTR back to host memory (bit 0: overflow), and raises an MSI unless one is already
// pending. The host's IH_RB_RPTR write acknowledges: it clears the pending MSI and, if
// WPTR has moved past it, raises another. When the ring is full the IH keeps writing,
// overwriting the oldest unread entries, and flags the overflow in the WPTR write-back
// until IH_RB_CNTL.WPTR_OVERFLOW_CLEAR is written (vega10_ih.c behaviour).
// Abstracts away: IH1/IH2 and client routing to them, the retry CAM, interrupt moderation
// timers, and the doorbell-based RPTR write of newer parts.
//
// Ports: source(name) (AT targets, one per interrupt source; InterruptExt), out (AT initiator, host-memory writes and
// MSIs through the fabric), regs (AT target on the register bus).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>
#include <systemc>

#include "hw/ih_entry.h"
#include "sim/core/event_queue.h"
#include "sim/core/fault_trace.h"
#include "sim/core/register_file.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/time.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/txn.h"

namespace fl::hw {

class InterruptHandler : public sc_core::sc_module {
 public:
  InterruptHandler(sc_core::sc_module_name name, const config::InterruptHandler& cfg,
                   const Clock& clock, const std::vector<std::string>& sources, FaultTrace* trace);

  // The port interrupt source `name` (one given at construction) connects to.
  AtTargetPort& source(const std::string& name);
  AtInitiatorPort out;
  RegisterFile regs;

  // Driver initialisation (amdgpu_ih_ring_init + *_ih_irq_init): ring and write-back
  // addresses in host memory, and the MSI address/data of the host's vector.
  void program(uint64_t ring_base, uint64_t wptr_wb_addr, uint64_t msi_addr, uint32_t msi_data);

  uint32_t ring_bytes() const { return cfg_.ring_bytes(); }
  // The IH timestamp counter at simulated time `t`.
  uint64_t timestamp_at(const sc_core::sc_time& t) const;

 private:
  void accept(Payload& gp, AtTargetPort& from);
  void process_next();
  void write_host(uint64_t addr, const void* data, uint32_t len);
  void raise_msi();
  uint32_t read_reg(uint64_t offset);
  void write_reg(uint64_t offset, uint32_t value);

  std::vector<std::string> source_names_;
  std::vector<std::unique_ptr<AtTargetPort>> sources_;
  config::InterruptHandler cfg_;
  sc_core::sc_time entry_latency_;
  FaultTrace* trace_;
  EventQueue queue_;
  TxnPool pool_;

  struct Pending {
    IhEntry entry;
    uint64_t trace_id;
  };
  std::deque<Pending> pending_;
  bool busy_ = false;

  uint64_t ring_base_ = 0;
  uint64_t wptr_wb_addr_ = 0;
  uint64_t msi_addr_ = 0;
  uint32_t msi_data_ = 0;
  bool programmed_ = false;

  uint32_t wptr_ = 0;            // byte offset of the next entry
  uint32_t rptr_ = 0;            // last RPTR the host wrote
  uint64_t unread_ = 0;          // entries written and not yet acknowledged
  bool overflow_ = false;
  bool msi_pending_ = false;

  stats::Group stats_;
  stats::Counter entries_{stats_, "entries", "count", "Entries written to ring 0"};
  stats::Counter fault_entries_{stats_, "fault_entries", "count", "Entries carrying GPUVM faults"};
  stats::Counter msis_{stats_, "msis", "count", "MSIs raised"};
  stats::Counter overflows_{stats_, "overflows", "count", "Times the ring overflowed"};
  stats::Counter overwritten_{stats_, "overwritten", "count", "Unread entries overwritten by newer ones"};
  stats::Histogram occupancy_{stats_, "occupancy_entries", "entries",
                              "Unread entries in the ring when an entry is written"};
};

}  // namespace fl::hw
