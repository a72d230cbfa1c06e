// UTCL2: the GPU's shared L2 translation cache, in the VM L2 block.
//
// Models: one lookup port (a lookup every lookup_interval); a hit answers hit_latency after
// the lookup starts. A miss allocates a miss-status register (MSHR) per page; later misses
// to that page merge into it; with every MSHR busy, misses wait in order. The MSHR's walk
// (PageWalker) either fills the TLB and answers every merged request, or finds no valid
// translation: then, with retry faults enabled (noretry=0, the only mode so far), every
// merged request gets a NACK to replay later and one fault interrupt goes to the IH
// fault_report_latency later (client UTCL2, src_data per gmc_v9_0.c). A write to a page
// mapped read-only faults the same way.
// Invalidation: VM_INVALIDATE_ENG17_REQ names VMIDs; invalidate_latency later their entries
// are gone and VM_INVALIDATE_ENG17_ACK has their bits set. A walk that was in flight across
// an invalidation of its VMID answers its requests but does not fill the TLB.
// Abstracts away: UTCL1, fragment-aware entries, the retry CAM, non-retry (fatal) faults,
// range and lightweight invalidation, and flush-type differences (all flush the VMID).
//
// Ports: in (AT target, translation requests, mmu::TranslationExt), ih_out (AT initiator,
// fault interrupts), regs (invalidation engine on the register bus).
#pragma once

#include <deque>
#include <map>
#include <vector>
#include <systemc>

#include "mmu/page_walker.h"
#include "mmu/tlb_array.h"
#include "mmu/translation.h"
#include "sim/core/event_queue.h"
#include "sim/core/fault_trace.h"
#include "sim/core/register_file.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/time.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/txn.h"

namespace fl::mmu {

class Utcl2 : public sc_core::sc_module {
 public:
  Utcl2(sc_core::sc_module_name name, const config::Utcl2& cfg, const Clock& clock,
        PageWalker& walker, FaultTrace* trace);

  AtTargetPort in;
  AtInitiatorPort ih_out;
  RegisterFile regs;

  const TlbArray& tlb() const { return tlb_; }

 private:
  struct Key {
    uint8_t vmid;
    uint64_t vpn;
    bool operator<(const Key& o) const { return vmid != o.vmid ? vmid < o.vmid : vpn < o.vpn; }
  };
  struct Mshr {
    std::vector<Payload*> waiters;
    uint32_t generation;
  };

  void on_request(Payload& gp);
  void lookup(Payload& gp);
  void miss(Payload& gp);
  void walk_done(Key key, uint64_t va, const WalkResult& r);
  void answer_ok(Payload& gp, uint64_t pa, bool system);
  void answer_nack(Payload& gp, uint64_t report, uint64_t detect_ps);
  void report_fault(uint8_t vmid, uint16_t pasid, uint64_t va, bool write, uint64_t report);
  uint32_t read_reg(uint64_t offset);
  void write_reg(uint64_t offset, uint32_t value);

  config::Utcl2 cfg_;
  Clock clock_;
  PageWalker& walker_;
  FaultTrace* trace_;
  TlbArray tlb_;
  EventQueue queue_;
  TxnPool pool_;
  sc_core::sc_time hit_latency_;
  sc_core::sc_time lookup_interval_;
  uint64_t port_free_ps_ = 0;
  std::map<Key, Mshr> mshrs_;
  std::deque<Payload*> stalled_;
  uint32_t generation_[PageWalker::kVmids] = {};
  uint32_t inv_ack_ = 0;

  stats::Group stats_;
  stats::Counter lookups_{stats_, "lookups", "count", "Translation requests looked up"};
  stats::Counter hits_{stats_, "hits", "count", "Lookups that hit"};
  stats::Counter misses_{stats_, "misses", "count", "Lookups that missed"};
  stats::Counter merges_{stats_, "mshr_merges", "count", "Misses merged into a walk already in progress for their page"};
  stats::Counter stalls_{stats_, "mshr_stalls", "count", "Misses that waited for a free MSHR"};
  stats::Counter fills_{stats_, "fills", "count", "Translations installed"};
  stats::Counter evictions_{stats_, "evictions", "count", "Valid entries replaced by a fill"};
  stats::Counter faults_{stats_, "faults", "count", "Walks that raised a retry fault"};
  stats::Counter nacks_{stats_, "nacks", "count", "Requests answered with a retry NACK"};
  stats::Counter invalidations_{stats_, "invalidations", "count", "Invalidation requests completed"};
  stats::Counter invalidated_{stats_, "invalidated_entries", "count", "Entries dropped by invalidations"};
  stats::Counter stale_fills_{stats_, "stale_fills_dropped", "count", "Walk results not installed because an invalidation overtook the walk"};
  stats::Formula hit_rate_{stats_, "hit_rate", "ratio", "Hits over lookups", [this] {
                             return lookups_.value() ? static_cast<double>(hits_.value()) / static_cast<double>(lookups_.value()) : 0.0;
                           }};
};

}  // namespace fl::mmu
