// GPUVM page-table walkers, with a page-walk cache per directory level.
//
// Models: up to `walkers` walks at once; further walks wait in arrival order (queue_ns).
// A walk first probes the page-walk caches (PWC) of PDB0, PDB1 and PDB2 in parallel
// (pwc_latency): the deepest hit gives the table of the next level, so a PDB0 hit leaves
// one read (the PTE) and a miss everywhere leaves four. Every remaining level is one
// 8-byte read of the page tables in memory, preceded by the walker's per-level overhead,
// starting at the VMID's page-table base (VM_CONTEXTn_PAGE_TABLE_BASE_ADDR, a PDE value
// whose SYSTEM bit says where the root is). A read goes to VRAM or, when the PDE above it
// has SYSTEM set, across the host link to system memory, so walk latency comes from the
// actual reads. A walk ends at the first invalid entry, at a PDE with PDE_PTE set (a 2 MiB
// or 1 GiB page) or at the PTE; its result carries the block the translation covers (the
// PTE's fragment or the huge page). Each directory entry read on the way (a pointer to a
// table) is installed in its level's PWC, unless an invalidation of the VMID overtook the
// walk (generation check): a walk in flight never refills a cache with a stale PDE.
// Abstracts away: the PDE's block-fragment-size and translate-further bits, speculative
// (prefetching) walks, and walker arbitration beyond FIFO.
//
// Ports: mem (AT initiator, page-table reads through the fabric).
// Timeline (set_timeline): each walk from a free walker starting it to its result, on
// lanes "soc.gpu.walker N" (at most `walkers` lanes: a lane is a walker).
#pragma once

#include <deque>
#include <memory>
#include <vector>
#include <systemc>

#include "mmu/gpuvm_pte.h"
#include "mmu/tlb_array.h"
#include "sim/core/event_queue.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/time.h"
#include "sim/core/timeline.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/txn.h"

namespace fl::mmu {

constexpr int kVmids = 16;

struct WalkResult {
  bool valid = false;     // a valid leaf was found
  int level = 0;          // level of the last entry read
  uint64_t entry = 0;     // that entry's raw value
  uint64_t pa = 0;        // physical address of the walked 4 KiB page (valid only)
  uint32_t log2_pages = 0;  // the naturally aligned block the translation covers
  bool system = false;
  bool writeable = false;
  bool readable = false;
};

// Who is told when a walk ends (UTCL2). An interface and a tag rather than a
// std::function: a walk is one per translation that misses UTCL2, and the state UTCL2
// needs back does not fit std::function's inline buffer (it allocated once per walk).
class WalkClient {
 public:
  virtual ~WalkClient() = default;
  // The walk of page `va` of `vmid`, started with `tag`, has ended with `r`.
  virtual void walk_done(uint8_t vmid, uint64_t va, uint64_t tag, const WalkResult& r) = 0;
};

class PageWalker : public sc_core::sc_module {
 public:
  static constexpr int kVmids = mmu::kVmids;

  PageWalker(sc_core::sc_module_name name, const config::PageWalker& cfg, const Clock& clock);

  AtInitiatorPort mem;

  // The VMID's page-table base register: a PDE value (address of PDB2, VALID, SYSTEM).
  void set_root(uint8_t vmid, uint64_t root_pde);
  void walk(uint8_t vmid, uint64_t va, WalkClient* client, uint64_t tag);
  // Draws each walk on `t` (sim/core/timeline.h).
  void set_timeline(Timeline* t) { tl_ = std::make_unique<TimelineLanes>(*t, name(), timeline_sort::kWalker); }
  // Drops the page-walk-cache entries of the VMIDs in `vmid_mask` at the directory levels
  // in `level_mask` (bit kPdb2, kPdb1, kPdb0); walks of those VMIDs in flight will not
  // install what they read. Optionally only entries covering [first_va, last_va].
  void invalidate(uint32_t vmid_mask, uint32_t level_mask);
  void invalidate_range(uint8_t vmid, uint32_t level_mask, uint64_t first_va, uint64_t last_va);

  // Walks of `vmid` queued or in progress.
  uint32_t walks_of(uint8_t vmid) const { return per_vmid_[vmid % kVmids]; }

 private:
  struct Walk {
    uint8_t vmid;
    uint64_t va;
    WalkClient* client;
    uint64_t tag;
    int level = 0;
    uint32_t generation = 0;
    uint32_t reads = 0;
    uint64_t start_ps = 0;
    uint64_t queued_ps = 0;
    size_t tl_lane = 0;  // timeline only
  };
  struct Root {
    bool set = false;
    uint64_t addr = 0;
    bool system = false;
  };
  void start(Walk* w);
  void read_level(Walk* w, uint64_t table, bool system, const sc_core::sc_time& delay);
  void on_read(Payload& gp);
  void finish(Walk* w, const WalkResult& r);
  double rate(int l) const {
    return pwc_lookups_[l].value() ? static_cast<double>(pwc_hits_[l].value()) / static_cast<double>(pwc_lookups_[l].value()) : 0.0;
  }

  config::PageWalker cfg_;
  sc_core::sc_time step_;
  sc_core::sc_time pwc_latency_;
  EventQueue queue_;
  TxnPool pool_;
  Root roots_[kVmids];
  uint32_t generation_[kVmids] = {};
  uint32_t per_vmid_[kVmids] = {};
  uint32_t active_ = 0;
  std::deque<Walk*> waiting_;
  std::vector<std::unique_ptr<Walk>> walks_;  // owns every walk object (recycled)
  std::vector<Walk*> free_walks_;
  std::unique_ptr<TlbArray> pwc_[kPtb];  // PDB2, PDB1, PDB0; null: no cache at that level
  std::unique_ptr<TimelineLanes> tl_;    // null: no timeline

  stats::Group stats_;
  stats::Counter walks_started_{stats_, "walks", "count", "Walks performed"};
  stats::Counter reads_{stats_, "pt_reads", "count", "Page-table entries read from memory"};
  stats::Counter system_reads_{stats_, "pt_reads_system", "count", "Page-table entries read from system memory (across the host link)"};
  stats::Counter faults_{stats_, "invalid", "count", "Walks that ended at an invalid entry"};
  stats::Counter huge_{stats_, "huge_leaves", "count", "Walks that ended at a PDE-as-PTE (2 MiB or 1 GiB page)"};
  stats::Counter stale_{stats_, "pwc_stale_fills_dropped", "count", "Directory entries not cached because an invalidation overtook the walk"};
  stats::Counter pwc_inval_{stats_, "pwc_invalidated", "count", "Page-walk-cache entries dropped by invalidations"};
  stats::Counter pwc_lookups_[3] = {{stats_, "pwc_pdb2_lookups", "count", "PDB2 page-walk-cache probes"},
                                    {stats_, "pwc_pdb1_lookups", "count", "PDB1 page-walk-cache probes"},
                                    {stats_, "pwc_pdb0_lookups", "count", "PDB0 page-walk-cache probes"}};
  stats::Counter pwc_hits_[3] = {{stats_, "pwc_pdb2_hits", "count", "PDB2 page-walk-cache hits (the deepest hit of a walk)"},
                                 {stats_, "pwc_pdb1_hits", "count", "PDB1 page-walk-cache hits (the deepest hit of a walk)"},
                                 {stats_, "pwc_pdb0_hits", "count", "PDB0 page-walk-cache hits"}};
  stats::Formula pwc_rate_[3] = {
      {stats_, "pwc_pdb2_hit_rate", "ratio", "PDB2 page-walk-cache hits over probes", [this] { return rate(0); }},
      {stats_, "pwc_pdb1_hit_rate", "ratio", "PDB1 page-walk-cache hits over probes", [this] { return rate(1); }},
      {stats_, "pwc_pdb0_hit_rate", "ratio", "PDB0 page-walk-cache hits over probes", [this] { return rate(2); }}};
  stats::Histogram walk_ns_{stats_, "walk_ns", "ns", "Walk duration from start (a free walker) to result"};
  stats::Histogram queue_ns_{stats_, "queue_ns", "ns", "Time a walk waited for a free walker"};
  stats::Histogram reads_per_walk_{stats_, "reads_per_walk", "reads", "Page-table reads a walk needed after its page-walk-cache probe"};
};

}  // namespace fl::mmu
