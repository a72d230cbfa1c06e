// GPUVM page-table walkers.
//
// Models: up to `walkers` walks at once; further walks wait in arrival order. A walk reads
// one 8-byte entry per level (PDB2, PDB1, PDB0, PTB) from the page tables in memory, each
// read preceded by the walker's per-level overhead, starting at the VMID's page-table base
// (VM_CONTEXTn_PAGE_TABLE_BASE_ADDR, set by the driver). Each read goes to VRAM or, when the
// PDE above it has SYSTEM set, to host memory. A walk ends at the first invalid entry, at a
// PDE with PDE_PTE set (a 2 MiB or 1 GiB page), or at the PTE.
// Abstracts away: page-walk caches and fragment-aware walks (translate_further).
//
// Ports: mem (AT initiator, page-table reads through the fabric).
#pragma once

#include <deque>
#include <functional>
#include <vector>
#include <systemc>

#include "mmu/gpuvm_pte.h"
#include "sim/core/event_queue.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/time.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/txn.h"

namespace fl::mmu {

struct WalkResult {
  bool valid = false;     // a valid leaf was found
  int level = 0;          // level of the last entry read
  uint64_t entry = 0;     // that entry's raw value
  uint64_t pa = 0;        // physical address of the walked page (valid only)
  bool system = false;
  bool writeable = false;
};

class PageWalker : public sc_core::sc_module {
 public:
  static constexpr int kVmids = 16;
  using Done = std::function<void(const WalkResult&)>;

  PageWalker(sc_core::sc_module_name name, const config::PageWalker& cfg, const Clock& clock);

  AtInitiatorPort mem;

  // Driver initialisation: the root page directory (PDB2) of `vmid`.
  void set_root(uint8_t vmid, uint64_t addr, bool system);
  void walk(uint8_t vmid, uint64_t va, Done done);

 private:
  struct Walk {
    uint8_t vmid;
    uint64_t va;
    Done done;
    int level = 0;
    uint64_t start_ps = 0;
    uint64_t queued_ps = 0;
  };
  struct Root {
    bool set = false;
    uint64_t addr = 0;
    bool system = false;
  };
  void start(Walk* w);
  void read_level(Walk* w, uint64_t table, bool system);
  void on_read(Payload& gp);
  void finish(Walk* w, const WalkResult& r);

  config::PageWalker cfg_;
  sc_core::sc_time step_;
  EventQueue queue_;
  TxnPool pool_;
  Root roots_[kVmids];
  uint32_t active_ = 0;
  std::deque<Walk*> waiting_;
  std::vector<std::unique_ptr<Walk>> walks_;  // owns every walk object (recycled)
  std::vector<Walk*> free_walks_;

  stats::Group stats_;
  stats::Counter walks_started_{stats_, "walks", "count", "Walks performed"};
  stats::Counter reads_{stats_, "pt_reads", "count", "Page-table entries read"};
  stats::Counter faults_{stats_, "invalid", "count", "Walks that ended at an invalid entry"};
  stats::Histogram walk_ns_{stats_, "walk_ns", "ns", "Walk duration from start to result"};
  stats::Histogram queue_ns_{stats_, "queue_ns", "ns", "Time a walk waited for a free walker"};
};

}  // namespace fl::mmu
