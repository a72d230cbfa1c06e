// Building and reading GPUVM page tables (the format of mmu/gpuvm_pte.h), as
// amdgpu_vm_pt.c (amdgpu_vm_ptes_update, amdgpu_vm_pte_fragment) lays them out.
//
// PageTableBuilder turns "map these contiguous pages" into page-table writes. It chooses,
// like amdgpu on gfx9, the largest fragment the VA and PA alignment, the run length and
// max_fragment allow (log2 of 4 KiB pages); a fragment of 9 or more whose 2 MiB block is
// covered is written as one PDE-as-PTE in PDB0 (a 2 MiB page) and 18 or more as one in
// PDB1 (a 1 GiB page); smaller fragments are written into the PTEs' fragment field. Tables
// are allocated on demand (zeroed by the allocator) in VRAM or system memory and linked by
// PDE writes. Mapping part of a huge page splits it into a table of equivalent smaller
// entries first; a huge page replaces the tables below it (they are freed).
// Abstracts away: the PDE's block-fragment-size field and translate-further (PTB
// coalescing), which amdgpu leaves at their defaults on gfx9 compute VMs.
//
// The builder emits writes; it does not touch memory, so the same writes can go through
// the copy engine (driver model) or be applied directly (tests).
//
// walk_functional() reads a page-table tree through a callback and returns the
// translation the hardware walk would find: the reference for tests and the decode logic
// the timed walker shares (walk_step).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "mmu/gpuvm_pte.h"

namespace fl::mmu {

// `count` consecutive 8-byte entries from `addr`; entry i holds value + i * incr (the
// semantics of an SDMA PTEPDE packet; incr 0 writes the same value count times).
struct PtWrite {
  uint64_t addr = 0;
  bool system = false;  // the table is in system memory
  uint64_t value = 0;
  uint64_t count = 1;
  uint64_t incr = 0;
  int level = kPtb;     // level of the table written
};

// Applies `writes` functionally: write64(address, value) for every entry they write (tests,
// benches and untimed set-up; the driver model sends them through the copy engine instead).
template <typename Write64>
void apply_writes(const std::vector<PtWrite>& writes, Write64 write64) {
  for (const PtWrite& w : writes) {
    for (uint64_t i = 0; i < w.count; ++i) write64(w.addr + i * 8, w.value + i * w.incr);
  }
}

class PageTableBuilder {
 public:
  // Returns the address of a new zeroed 4 KiB table; free_table releases one.
  using AllocTable = std::function<uint64_t()>;
  using FreeTable = std::function<void(uint64_t)>;

  PageTableBuilder(bool tables_in_system, uint32_t max_fragment, AllocTable alloc,
                   FreeTable free = {});

  uint64_t root() const { return root_; }
  bool tables_in_system() const { return system_; }
  // The value of a VMID's page-table base register for this tree (amdgpu_gmc_pd_addr: the
  // root's address with the PDE's valid and system bits).
  uint64_t root_pde() const;

  // Appends the writes mapping `pages` pages from `va` to physically contiguous pages from
  // `pa`. `flags` are the PTE bits other than address, fragment and PDE_PTE (VALID,
  // SYSTEM, SNOOPED, READABLE, WRITEABLE, EXECUTABLE, MTYPE).
  // `max_fragment` further caps the fragment (amdgpu uses 0 for system pages, whose
  // physical contiguity it does not track).
  void map(uint64_t va, uint64_t pa, uint64_t pages, uint64_t flags, std::vector<PtWrite>& out,
           uint32_t max_fragment = 31);
  // Appends the writes clearing the PTEs (or huge PDEs) of `pages` pages from `va`.
  void unmap(uint64_t va, uint64_t pages, std::vector<PtWrite>& out);

  uint64_t tables_allocated() const { return allocated_; }
  uint64_t tables_freed() const { return freed_; }
  uint64_t huge_entries() const { return huge_.size(); }

  // The fragment amdgpu_vm_pte_fragment would pick for a run of `pages` pages at va/pa
  // (page numbers), capped at max_fragment.
  static uint32_t fragment_for(uint64_t vpn, uint64_t ppn, uint64_t pages, uint32_t max_fragment);

 private:
  using Key = std::pair<int, uint64_t>;  // (level, va >> level_shift(level))
  // Table of `level` (PDB1, PDB0 or PTB) covering `va`, allocating and linking it (and
  // splitting a huge entry above it) if missing.
  uint64_t table_for(uint64_t va, int level, std::vector<PtWrite>& out);
  void write_huge(uint64_t va, int level, uint64_t value, std::vector<PtWrite>& out);
  // Drops the tables (and huge entries) below the entry of `level` covering `va`.
  void drop_below(uint64_t va, int level);
  const uint64_t* huge_at(uint64_t va, int level) const;

  bool system_;
  uint32_t max_fragment_;
  AllocTable alloc_;
  FreeTable free_;
  uint64_t root_;
  std::map<Key, uint64_t> tables_;  // (level, va >> level_shift(level - 1)) -> table address
  std::map<Key, uint64_t> huge_;    // PDE-as-PTE entries: (level, va >> level_shift(level)) -> value
  uint64_t allocated_ = 0;
  uint64_t freed_ = 0;
};

// One step of a walk: the entry of `level` read while translating `va`.
struct WalkStep {
  enum Kind { kInvalid, kNext, kLeaf } kind = kInvalid;
  uint64_t next_table = 0;  // kNext: the next level's table
  bool next_system = false;
  // kLeaf: the translation.
  uint64_t pa = 0;          // physical address of va's 4 KiB page
  uint32_t log2_pages = 0;  // block the translation covers (fragment or huge page), aligned
  bool system = false;
  bool writeable = false;
  bool readable = false;
};
WalkStep walk_step(int level, uint64_t raw, uint64_t va);

// A complete functional walk of the tree at `root`.
struct FunctionalTranslation {
  bool valid = false;
  int level = 0;  // level of the last entry read
  uint64_t pa = 0;
  uint32_t log2_pages = 0;
  bool system = false;
  bool writeable = false;
};
using Read64 = std::function<uint64_t(uint64_t addr, bool system)>;
FunctionalTranslation walk_functional(const Read64& read, uint64_t root, bool root_system,
                                      uint64_t va);

}  // namespace fl::mmu
