// UTCL1: the first-level translation caches next to the compute units' vector memory
// path, one per compute unit or one per shader array (scope), in front of UTCL2.
//
// Models: each instance is a set-associative, fragment-aware TLB (mmu/tlb_array.h) with
// its own lookup port(s) (lookups_per_cycle), hit latency and miss-status registers. A hit
// is answered hit_latency after its lookup starts. A miss allocates an MSHR per (page,
// access kind); misses to the same page merge; with every MSHR busy, misses wait in order.
// The MSHR sends one request to UTCL2 (l2_request_latency on the way) and, when UTCL2
// answers, installs the translation (capped at max_fragment) and answers every merged
// request; NACKs and faults are passed up without a fill. With hit_under_miss off, an
// instance with a miss outstanding looks nothing else up until it resolves (a blocking
// TLB). Invalidations come from UTCL2's engine (InvalidationTarget): the fence makes
// misses in flight across an invalidation's request or completion not install their
// answer, so no stale translation survives the ACK.
// Abstracts away: UTCL0 (per-SIMD), the L1 data cache the lookup runs beside (hit latency
// here is the translation's own), and arbitration between CUs sharing an instance beyond
// first come first served.
//
// Interface: compute units call translate() directly (UTCL1 sits inside the shader array)
// and get the answer through the responder, with the delay after which it is known.
// Ports: l2_out (AT initiator, translation requests to UTCL2).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <vector>
#include <systemc>

#include "mmu/flat_table.h"
#include "mmu/page_walker.h"
#include "mmu/tlb_array.h"
#include "mmu/translation.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/time.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/txn.h"

namespace fl::mmu {

class Utcl1 : public sc_core::sc_module, public InvalidationTarget {
 public:
  // Delivers the answer to a translate() request: `delay` from now it is known.
  using Responder = std::function<void(Payload& gp, const sc_core::sc_time& delay)>;

  Utcl1(sc_core::sc_module_name name, const config::Utcl1& cfg, const Clock& clock,
        uint32_t compute_units, uint64_t seed);

  AtInitiatorPort l2_out;

  void set_responder(Responder r) { respond_ = std::move(r); }
  // Translates the request `gp` (address = VA, TranslationExt attached) from compute unit `cu`.
  void translate(uint32_t cu, Payload& gp);

  uint32_t instances() const { return static_cast<uint32_t>(inst_.size()); }
  uint32_t instance_of(uint32_t cu) const { return cu / cus_per_instance_; }
  const TlbArray& tlb(uint32_t instance) const { return inst_[instance].tlb; }

  void invalidation_fence(uint32_t vmid_mask) override;
  uint32_t invalidate(const InvalidationScope& scope) override;

  static void validate(const config::Utcl1& cfg, const std::string& key);

 private:
  // Per page, access kind and invalidation generation: a miss after an invalidation never
  // merges into a request sent before it (its answer may be stale).
  struct Key {
    uint8_t vmid;
    bool write;
    uint64_t vpn;
    uint32_t generation;
    bool operator==(const Key& o) const {
      return vpn == o.vpn && vmid == o.vmid && write == o.write && generation == o.generation;
    }
    uint64_t hash() const {
      return vpn ^ (uint64_t{vmid} << 52) ^ (uint64_t{write} << 51) ^ (uint64_t{generation} << 56);
    }
  };
  struct Mshr {
    MshrWaiters waiters;
    uint32_t generation = 0;
  };
  struct Instance {
    explicit Instance(const config::Utcl1& cfg, uint64_t seed)
        : tlb(cfg.entries(), cfg.ways(), static_cast<Replacement>(cfg.replacement()), seed) {}
    TlbArray tlb;
    uint64_t port_free_ps = 0;
    FlatTable<Key, Mshr> mshrs;
    std::deque<Payload*> waiting;  // MSHRs full, or blocked behind a miss (no hit-under-miss)
  };

  // Looks `gp` up `start_delay_ps` from now in instance `i`.
  void lookup(uint32_t i, Payload& gp);
  void on_l2_response(Payload& gp);
  void answer(Payload& gp, const TranslationExt& from, uint64_t delay_ps);
  void drain_waiting(uint32_t i);
  bool blocked(const Instance& in) const { return !cfg_.hit_under_miss() && !in.mshrs.empty(); }

  config::Utcl1 cfg_;
  Clock clock_;
  uint32_t cus_per_instance_;
  uint64_t lookup_interval_ps_;
  uint64_t hit_latency_ps_;
  sc_core::sc_time l2_latency_;
  std::vector<Instance> inst_;
  uint32_t generation_[kVmids] = {};
  Responder respond_;
  TxnPool pool_;

  stats::Group stats_;
  stats::Counter lookups_{stats_, "lookups", "count", "Translation requests looked up (all instances)"};
  stats::Counter hits_{stats_, "hits", "count", "Lookups that hit"};
  stats::Counter misses_{stats_, "misses", "count", "Lookups that missed"};
  stats::Counter merges_{stats_, "mshr_merges", "count", "Misses merged into a request already sent to UTCL2 for their page"};
  stats::Counter stalls_{stats_, "mshr_stalls", "count", "Misses that waited for a free MSHR"};
  stats::Counter blocked_{stats_, "blocked_lookups", "count", "Lookups held behind an outstanding miss (hit_under_miss off)"};
  stats::Counter l2_requests_{stats_, "l2_requests", "count", "Requests sent to UTCL2"};
  stats::Counter fills_{stats_, "fills", "count", "Translations installed"};
  stats::Counter evictions_{stats_, "evictions", "count", "Valid entries replaced by a fill"};
  stats::Counter invalidations_{stats_, "invalidations", "count", "Invalidations received from UTCL2's engine"};
  stats::Counter invalidated_{stats_, "invalidated_entries", "count", "Entries dropped by invalidations"};
  stats::Counter stale_fills_{stats_, "stale_fills_dropped", "count", "UTCL2 answers not installed because an invalidation overtook the request"};
  stats::Histogram miss_ns_{stats_, "miss_ns", "ns", "Time from a miss's request to UTCL2 to its answer"};
  stats::Formula hit_rate_{stats_, "hit_rate", "ratio", "Hits over lookups", [this] {
                             return lookups_.value() ? static_cast<double>(hits_.value()) / static_cast<double>(lookups_.value()) : 0.0;
                           }};
};

}  // namespace fl::mmu
