// UTCL2: the GPU's shared L2 translation cache, in the VM L2 block, with the per-VMID
// context registers and invalidation engine 17.
//
// Models:
// - Lookups: `ports` lookups may start per lookup_interval; a hit answers hit_latency
//   after its lookup starts (the array is consulted then, so a fill in between counts).
//   Entries are fragment-aware (mmu/tlb_array.h): one entry covers a PTE fragment or a
//   huge page, capped at max_fragment; the victim is the named replacement policy's.
// - Misses: a miss allocates a miss-status register (MSHR) per page; later misses to that
//   page merge into it; with every MSHR busy, misses wait in order. The MSHR's walk
//   (PageWalker) either fills the array and answers every merged request (hit-under-miss:
//   other lookups proceed meanwhile), or finds no valid translation (or a write to a
//   read-only page): then, if the VMID's context has RETRY_PERMISSION_OR_INVALID_PAGE_FAULT
//   set, every merged request is NACKed (kRetry, replayed by the requester) and one retry
//   fault goes to the IH fault_report_latency later; otherwise every merged request gets
//   kFault and one no-retry VM-fault interrupt goes to the IH (the driver then kills the
//   process's queues). Faults name the VMID's PASID from its ATC_VMIDn_PASID_MAPPING.
// - Context registers per VMID (16): VM_CONTEXTn_CNTL, the page-table base (given to the
//   walker) and the PASID mapping (hw/gpu_regs.h). A disabled context faults every access.
// - Invalidation: VM_INVALIDATE_ENG17_REQ names VMIDs, a flush type and which caches
//   (L2 PTEs, PDE0/1/2 page-walk caches, L1 PTEs); with the range bit, only the pages in
//   the range registers. Legacy: entries gone and ACK bits set invalidate_latency later.
//   Lightweight: only TLB entries (L2 and L1), never the page-walk caches,
//   lightweight_latency later. Heavyweight: as legacy, and the ACK also waits until every
//   walk of those VMIDs in flight at the request has finished, plus heavyweight_extra.
//   A walk (or an L1 miss) in flight across an invalidation's request or completion does
//   not fill: generation counters, so no stale translation survives an ACK.
// - Fault replay: a write of kVmFaultReplayStart to the fault-replay register is handed to
//   the replay target (the compute units, which replay their parked accesses or, if they
//   replay on a timer, ignore it).
// Abstracts away: the retry CAM (hw/ IH), invalidation engines other than 17 and their
// semaphores, the protection-fault status registers, and the TLB's physical banking.
//
// Ports: in (AT target, translation requests, mmu::TranslationExt), ih_out (AT initiator,
// fault interrupts), regs (context and invalidation registers on the register bus).
// Timeline (set_timeline): each MSHR from its miss to its walk's result on lanes
// "soc.gpu.utcl2 N" (named by the result), each invalidation on "soc.gpu.utcl2.inv_eng17 N".
#pragma once

#include <deque>
#include <functional>
#include <set>
#include <vector>
#include <systemc>

#include "mmu/flat_table.h"
#include "mmu/page_walker.h"
#include "mmu/tlb_array.h"
#include "mmu/translation.h"
#include "sim/core/event_queue.h"
#include "sim/core/fault_trace.h"
#include "sim/core/register_file.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/time.h"
#include "sim/core/timeline.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/txn.h"

namespace fl::mmu {

class Utcl2 : public sc_core::sc_module, private WalkClient {
 public:
  Utcl2(sc_core::sc_module_name name, const config::Utcl2& cfg, const Clock& clock,
        PageWalker& walker, FaultTrace* trace, uint64_t seed);

  AtTargetPort in;
  AtInitiatorPort ih_out;
  RegisterFile regs;

  // Translation caches below this one that invalidations must reach (UTCL1).
  void add_invalidation_target(InvalidationTarget* t) { l1_.push_back(t); }
  // Who receives the driver's fault-replay command (the compute units).
  void set_replay_target(std::function<void()> fn) { replay_target_ = std::move(fn); }
  // A register write without bus timing (the driver's untimed start-up programming).
  void write_register(uint64_t offset, uint32_t value) { write_reg(offset, value); }
  uint32_t read_register(uint64_t offset) { return read_reg(offset); }

  const TlbArray& tlb() const { return tlb_; }
  bool retry_enabled(uint8_t vmid) const;
  // Draws misses in flight and invalidations on `t` (sim/core/timeline.h).
  void set_timeline(Timeline* t);

  // Checks parameter combinations (throws InputError naming `key`).
  static void validate(const config::Utcl2& cfg, const std::string& key);

 private:
  // An MSHR is per page and per invalidation generation: a miss after an invalidation
  // never merges into a walk that started before it (that walk may return the old PTE).
  struct Key {
    uint8_t vmid;
    uint64_t vpn;
    uint32_t generation;
    bool operator<(const Key& o) const {
      if (vmid != o.vmid) return vmid < o.vmid;
      if (vpn != o.vpn) return vpn < o.vpn;
      return generation < o.generation;
    }
    bool operator==(const Key& o) const {
      return vpn == o.vpn && vmid == o.vmid && generation == o.generation;
    }
    uint64_t hash() const { return vpn ^ (uint64_t{vmid} << 52) ^ (uint64_t{generation} << 56); }
  };
  struct Mshr {
    MshrWaiters waiters;
    uint32_t generation = 0;
    size_t tl_lane = 0;  // timeline only
    uint64_t tl_begin_ps = 0;
  };
  struct Context {
    uint32_t cntl = 0;
    uint32_t base_lo = 0;
    uint32_t base_hi = 0;
    uint32_t pasid_mapping = 0;
  };
  struct Invalidation {
    uint32_t vmids;
    uint32_t req;
    InvalidationScope scope;
    uint64_t start_ps = 0;
    bool latency_done = false;
    std::set<Key> walks;  // heavyweight: walks in flight at the request
    size_t tl_lane = 0;   // timeline only
  };

  void on_request(Payload& gp);
  void lookup(Payload& gp);
  void miss(Payload& gp);
  // The walk's tag is the MSHR's generation; vmid and page give the rest of its key.
  void walk_done(uint8_t vmid, uint64_t va, uint64_t tag, const WalkResult& r) override;
  void finish_walk(Key key, const WalkResult& r);
  void answer_ok(Payload& gp, const TlbEntry& e, uint64_t vpn);
  void answer_fault(Payload& gp, bool retry, uint64_t report, uint64_t detect_ps);
  void report_fault(uint8_t vmid, uint16_t pasid, uint64_t va, bool write, bool retry, uint64_t report);
  uint16_t pasid_of(uint8_t vmid) const;
  uint32_t read_reg(uint64_t offset);
  void write_reg(uint64_t offset, uint32_t value);
  void start_invalidation(uint32_t req);
  void try_complete(Invalidation* inv);
  void complete(Invalidation* inv);
  void fence(uint32_t vmids);

  config::Utcl2 cfg_;
  Clock clock_;
  PageWalker& walker_;
  FaultTrace* trace_;
  TlbArray tlb_;
  EventQueue queue_;
  TxnPool pool_;
  sc_core::sc_time hit_latency_;
  uint64_t lookup_interval_ps_;
  std::vector<uint64_t> port_free_ps_;
  FlatTable<Key, Mshr> mshrs_;
  std::deque<Payload*> stalled_;
  uint32_t generation_[kVmids] = {};
  Context ctx_[kVmids];
  uint32_t inv_ack_ = 0;
  uint64_t range_start_ = 0;
  uint64_t range_end_ = 0;
  std::vector<std::unique_ptr<Invalidation>> invalidations_in_flight_;
  std::vector<InvalidationTarget*> l1_;
  std::function<void()> replay_target_;
  std::unique_ptr<TimelineLanes> tl_misses_, tl_inval_;  // null: no timeline

  stats::Group stats_;
  stats::Counter lookups_{stats_, "lookups", "count", "Translation requests looked up"};
  stats::Counter hits_{stats_, "hits", "count", "Lookups that hit"};
  stats::Counter misses_{stats_, "misses", "count", "Lookups that missed"};
  stats::Counter merges_{stats_, "mshr_merges", "count", "Misses merged into a walk already in progress for their page"};
  stats::Counter stalls_{stats_, "mshr_stalls", "count", "Misses that waited for a free MSHR"};
  stats::Counter fills_{stats_, "fills", "count", "Translations installed"};
  stats::Counter evictions_{stats_, "evictions", "count", "Valid entries replaced by a fill"};
  stats::Counter faults_{stats_, "faults", "count", "Walks that raised a retry fault"};
  stats::Counter fatal_{stats_, "fatal_faults", "count", "Walks that raised a no-retry (fatal) VM fault"};
  stats::Counter nacks_{stats_, "nacks", "count", "Requests answered with a retry NACK"};
  stats::Counter invalidations_{stats_, "invalidations", "count", "Invalidation requests completed"};
  stats::Counter inv_legacy_{stats_, "invalidations_legacy", "count", "Legacy invalidations completed"};
  stats::Counter inv_light_{stats_, "invalidations_lightweight", "count", "Lightweight invalidations completed"};
  stats::Counter inv_heavy_{stats_, "invalidations_heavyweight", "count", "Heavyweight invalidations completed"};
  stats::Counter inv_range_{stats_, "invalidations_range", "count", "Range invalidations completed"};
  stats::Counter invalidated_{stats_, "invalidated_entries", "count", "Entries dropped by invalidations"};
  stats::Counter stale_fills_{stats_, "stale_fills_dropped", "count", "Walk results not installed because an invalidation overtook the walk"};
  stats::Counter replays_{stats_, "replay_commands", "count", "Fault-replay commands written by the driver"};
  stats::Histogram inv_ns_{stats_, "invalidation_ns", "ns", "Invalidation from the request register write to the ACK bits set"};
  stats::Histogram mshr_occupancy_{stats_, "mshr_occupancy", "entries", "MSHRs in use when a walk starts"};
  stats::Formula hit_rate_{stats_, "hit_rate", "ratio", "Hits over lookups", [this] {
                             return lookups_.value() ? static_cast<double>(hits_.value()) / static_cast<double>(lookups_.value()) : 0.0;
                           }};
};

}  // namespace fl::mmu
