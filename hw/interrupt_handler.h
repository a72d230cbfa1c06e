// The GPU interrupt handler (IH, OSSSYS block) with rings IH0 and IH1.
//
// Models: interrupt sources (UTCL2 faults, copy-engine traps) post entries; the IH handles
// them one at a time (entry_latency each), stamping a 48-bit timestamp (timestamp_mhz
// ticks), and writes each 32-byte entry into a ring in host memory:
// - IH0 takes every interrupt except retry faults when IH1 exists. After each entry the IH
//   writes WPTR back to host memory (bit 0: overflow) and raises an MSI unless one is
//   pending; the host's IH_RB_RPTR write clears it and, if WPTR has moved past the new RPTR,
//   raises another. A full IH0 keeps writing over its oldest unread entries and flags the
//   overflow until IH_RB_CNTL.WPTR_OVERFLOW_CLEAR is written (vega10_ih.c).
// - IH1 (soc.gpu.ih.ring1_bytes > 0) takes retry faults. A full IH1 drops new entries
//   (RB_FULL_DRAIN_ENABLE); retry faults come back on the access's next replay. New IH1
//   entries are announced by a self-interrupt entry on IH0 (client IH, src_id 0, ring_id 1,
//   src_data[0] = IH1 WPTR; vega10_ih_self_irq), at most one until the host writes IH1's
//   RPTR.
// - Retry CAM (dedup = HARDWARE_CAM, gfx 9.4.3): a retry fault whose (page, PASID) is
//   already in the CAM is suppressed before any ring; otherwise it takes a free CAM entry,
//   whose index goes in src_data[2] bits 9:0, and is written. The driver frees the entry
//   by writing the index to the CAM doorbell. A fault finding the CAM full is dropped (the
//   access faults again on replay). An entry the IH itself loses (IH1 full, or an unread
//   IH0 entry overwritten) frees its CAM index, since no driver will acknowledge it (the
//   hardware's behaviour here is not documented; without this the page would stay
//   suppressed forever). With SOFTWARE_FILTER every retry fault is written.
// - Interrupt moderation (moderation_ns > 0): an entry that needs an MSI arms a coalescing
//   timer instead, and the MSI is raised when it expires if entries are still unread.
// Abstracts away: IH2, per-client routing registers beyond "retry faults to IH1", the
// CAM's lookup latency (inside entry_latency), doorbell RPTR writes.
//
// Ports: source(name) (AT targets, one per interrupt source; InterruptExt), out (AT
// initiator, host-memory writes and MSIs through the fabric), regs (register bus).
// Timeline (set_timeline): each ring entry from the IH writing it to the host's RPTR write
// that consumes it reaching the IH, on lanes "soc.gpu.ih.ring0 N" / "soc.gpu.ih.ring1 N"
// (named by the entry's kind; an IH0 entry overwritten unread ends there as
// "overwritten"); entries the IH drops (IH1 full, retry CAM) as zero-length slices.
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
#include "sim/core/timeline.h"
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

  // Driver initialisation (amdgpu_ih_ring_init + *_ih_irq_init): ring addresses in host
  // memory, IH0's WPTR write-back, and the MSI address/data of the host's vector.
  void program(uint64_t ring0_base, uint64_t ring0_wptr_wb, uint64_t ring1_base, uint64_t msi_addr,
               uint32_t msi_data);

  uint32_t ring_bytes(int ring) const { return rings_[ring].bytes; }
  bool has_ring1() const { return rings_[1].bytes > 0; }
  bool retry_cam() const { return cfg_.dedup() == config::InterruptHandler::HARDWARE_CAM; }
  // The IH timestamp counter at simulated time `t`.
  uint64_t timestamp_at(const sc_core::sc_time& t) const;
  // No entry waiting to be written and every written entry acknowledged by the host.
  bool idle() const;
  // Draws ring entries on `t` (sim/core/timeline.h).
  void set_timeline(Timeline* t);

 private:
  struct Ring {
    uint32_t bytes = 0;
    uint64_t base = 0;
    uint32_t wptr = 0;          // byte offset of the next entry
    uint32_t rptr = 0;          // last RPTR the host wrote
    uint64_t unread = 0;        // entries written and not yet acknowledged
    bool overflow = false;      // IH0 only
    bool notify_pending = false;  // IH0: an MSI; IH1: a self-interrupt
  };
  struct Pending {
    IhEntry entry;
    uint64_t trace_id;
  };
  void accept(Payload& gp, AtTargetPort& from);
  void process_next();
  void write_ring0(const IhEntry& e, uint64_t trace_id);
  void write_ring1(const IhEntry& e, uint64_t trace_id);
  void announce_ring1();
  void write_host(uint64_t addr, const void* data, uint32_t len);
  void raise_msi();
  void request_msi();
  void cam_ack(uint32_t index);
  void cam_free(uint32_t index);
  // The CAM index an entry holds, or -1.
  int32_t cam_index(const IhEntry& e) const;
  // False if the retry fault in `e` must not be written (suppressed or CAM full); else
  // records it in the CAM and puts the index in src_data[2].
  bool cam_admit(IhEntry& e, uint64_t trace_id);
  void acknowledge(int ring, uint32_t rptr);
  uint32_t read_reg(uint64_t offset);
  void write_reg(uint64_t offset, uint32_t value);
  // Timeline: an entry written at ring offset `offset`; entries in [from, to) consumed by
  // an RPTR write; an entry dropped before any ring.
  void tl_written(int ring, uint32_t offset, const IhEntry& e);
  void tl_consumed(int ring, uint32_t from, uint32_t to);
  void tl_dropped(const char* why, const IhEntry& e);

  std::vector<std::string> source_names_;
  std::vector<std::unique_ptr<AtTargetPort>> sources_;
  config::InterruptHandler cfg_;
  sc_core::sc_time entry_latency_;
  FaultTrace* trace_;
  EventQueue queue_;
  TxnPool pool_;

  std::deque<Pending> pending_;
  bool busy_ = false;
  Ring rings_[2];
  uint64_t wptr_wb_addr_ = 0;
  uint64_t msi_addr_ = 0;
  uint32_t msi_data_ = 0;
  bool programmed_ = false;
  sc_core::sc_time moderation_;
  bool msi_timer_armed_ = false;
  // Retry CAM: (page << 4 | pasid) of each busy entry, and its index.
  std::vector<uint64_t> cam_keys_;
  std::vector<bool> cam_busy_;
  uint32_t cam_used_ = 0;
  std::vector<int32_t> ring0_slot_cam_;  // per IH0 slot: CAM index of the entry there, or -1
  // Timeline (null: none): per ring slot, the unread entry drawn there.
  struct TlSlot {
    bool open = false;
    size_t lane = 0;
    uint64_t written_ps = 0;
    const char* kind = "";
    uint64_t va = 0;  // GPUVM faults
  };
  std::unique_ptr<TimelineLanes> tl_ring_[2];
  std::vector<TlSlot> tl_slots_[2];

  stats::Group stats_;
  stats::Counter entries_{stats_, "entries", "count", "Entries written to IH0"};
  stats::Counter ring1_entries_{stats_, "ring1_entries", "count", "Entries written to IH1"};
  stats::Counter fault_entries_{stats_, "fault_entries", "count", "Entries carrying GPUVM faults (either ring)"};
  stats::Counter self_interrupts_{stats_, "self_interrupts", "count", "Self-interrupts announcing IH1 entries on IH0"};
  stats::Counter msis_{stats_, "msis", "count", "MSIs raised"};
  stats::Counter overflows_{stats_, "overflows", "count", "Times IH0 overflowed"};
  stats::Counter overwritten_{stats_, "overwritten", "count", "Unread IH0 entries overwritten by newer ones"};
  stats::Counter ring1_drops_{stats_, "ring1_drops", "count", "Entries dropped because IH1 was full"};
  stats::Histogram occupancy_{stats_, "occupancy_entries", "entries", "Unread entries in IH0 when an entry is written"};
  stats::Histogram ring1_occupancy_{stats_, "ring1_occupancy_entries", "entries", "Unread entries in IH1 when a retry fault arrives"};
  stats::Counter cam_suppressed_{stats_, "cam_suppressed", "count", "Retry faults de-duplicated by the retry CAM (already pending)"};
  stats::Counter cam_full_drops_{stats_, "cam_full_drops", "count", "Retry faults dropped because the retry CAM was full"};
  stats::Counter cam_acks_{stats_, "cam_acks", "count", "Retry CAM entries freed by the driver's doorbell write"};
  stats::Counter cam_lost_{stats_, "cam_freed_lost", "count", "Retry CAM entries freed because the IH dropped or overwrote their entry"};
  stats::Value cam_max_used_{stats_, "cam_max_entries", "entries", "Most retry CAM entries in use at once"};
  stats::Counter moderated_{stats_, "moderated_msis", "count", "MSIs delayed by the moderation timer"};
  stats::Formula dropped_{stats_, "dropped_entries", "count", "Entries lost in the IH: IH1 drops, IH0 entries overwritten, CAM-full drops",
                          [this] {
                            return static_cast<double>(ring1_drops_.value() + overwritten_.value() +
                                                       cam_full_drops_.value());
                          }};
  stats::Formula msi_rate_{stats_, "msi_rate_per_s", "1/s", "MSIs raised per second of simulated time",
                           [this] {
                             const double t = sc_core::sc_time_stamp().to_seconds();
                             return t > 0 ? static_cast<double>(msis_.value()) / t : 0.0;
                           }};
  stats::Formula unread0_{stats_, "unread_entries", "entries", "Unread IH0 entries when stats are collected",
                          [this] { return static_cast<double>(rings_[0].unread); }};
  stats::Formula unread1_{stats_, "ring1_unread_entries", "entries", "Unread IH1 entries when stats are collected",
                          [this] { return static_cast<double>(rings_[1].unread); }};
};

}  // namespace fl::hw
