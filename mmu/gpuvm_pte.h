// The GPUVM page-table format of gfx9-class GPUs (Vega, MI100, MI200).
//
// Bits (amdgpu_vm.h; gmc_v9_0.c): 0 VALID, 1 SYSTEM, 2 SNOOPED, 3 TMZ, 4 EXECUTABLE,
// 5 READABLE, 6 WRITEABLE, 11:7 FRAGMENT (log2 of a naturally aligned contiguous run, in
// 4 KiB pages), 47:12 address (PTE), 51 PRT, 54 PDE_PTE (a PDE used as a PTE), 55 LOG,
// 56 TF, 58:57 MTYPE. A PDE holds the next level's address in bits 47:6 with VALID and
// SYSTEM; AMDGPU_VM_NORETRY_FLAGS (EXECUTABLE | PDE_PTE | TF) marks a PTE whose fault
// must not be retried.
// Tree (amdgpu_vm_adjust_size with 48-bit VA, block size 9): PDB2 indexes VA bits 47:39,
// PDB1 38:30, PDB0 29:21, PTB 20:12; 512 entries of 8 bytes a level, 4 KiB pages.
#pragma once

#include <cstdint>

namespace fl::mmu {

namespace pte {
constexpr uint64_t kValid = 1ULL << 0;
constexpr uint64_t kSystem = 1ULL << 1;
constexpr uint64_t kSnooped = 1ULL << 2;
constexpr uint64_t kTmz = 1ULL << 3;
constexpr uint64_t kExecutable = 1ULL << 4;
constexpr uint64_t kReadable = 1ULL << 5;
constexpr uint64_t kWriteable = 1ULL << 6;
constexpr int kFragShift = 7;
constexpr uint64_t kFragMask = 0x1FULL << kFragShift;
constexpr uint64_t kPrt = 1ULL << 51;
constexpr uint64_t kPdePte = 1ULL << 54;
constexpr uint64_t kLog = 1ULL << 55;
constexpr uint64_t kTf = 1ULL << 56;
constexpr int kMtypeShift = 57;
constexpr uint64_t kMtypeMask = 0x3ULL << kMtypeShift;
constexpr uint64_t kAddrMask = 0x0000FFFFFFFFF000ULL;     // PTE: bits 47:12
constexpr uint64_t kPdeAddrMask = 0x0000FFFFFFFFFFC0ULL;  // PDE: bits 47:6
constexpr uint64_t kNoRetryFlags = kExecutable | kPdePte | kTf;

constexpr uint64_t frag(uint32_t log2_pages) {
  return (static_cast<uint64_t>(log2_pages) << kFragShift) & kFragMask;
}
constexpr uint64_t mtype(uint32_t m) { return (static_cast<uint64_t>(m) << kMtypeShift) & kMtypeMask; }
}  // namespace pte

constexpr int kLevels = 4;          // PDB2, PDB1, PDB0, PTB
constexpr int kBitsPerLevel = 9;
constexpr uint64_t kEntriesPerTable = 1ULL << kBitsPerLevel;
constexpr uint64_t kPageShift = 12;
constexpr uint64_t kPageBytes = 1ULL << kPageShift;
constexpr uint64_t kTableBytes = kEntriesPerTable * 8;
constexpr uint64_t kVaBits = 48;

enum Level : int { kPdb2 = 0, kPdb1 = 1, kPdb0 = 2, kPtb = 3 };

// Address bits below the entries of `level`: 39, 30, 21, 12.
constexpr uint64_t level_shift(int level) {
  return kPageShift + static_cast<uint64_t>(kBitsPerLevel) * static_cast<uint64_t>(kLevels - 1 - level);
}
constexpr uint64_t level_index(uint64_t va, int level) {
  return (va >> level_shift(level)) & (kEntriesPerTable - 1);
}
// Bytes one entry of `level` maps: 512 GiB, 1 GiB, 2 MiB, 4 KiB.
constexpr uint64_t level_span(int level) { return 1ULL << level_shift(level); }

// A decoded PTE or PDE.
struct Entry {
  bool valid = false;
  bool system = false;
  bool snooped = false;
  bool executable = false;
  bool readable = false;
  bool writeable = false;
  bool pde_pte = false;
  uint32_t fragment = 0;
  uint32_t mtype = 0;
  uint64_t address = 0;

  static Entry decode_pte(uint64_t v);
  static Entry decode_pde(uint64_t v);
  uint64_t encode_pte() const;
  uint64_t encode_pde() const;
};

inline Entry Entry::decode_pte(uint64_t v) {
  Entry e;
  e.valid = (v & pte::kValid) != 0;
  e.system = (v & pte::kSystem) != 0;
  e.snooped = (v & pte::kSnooped) != 0;
  e.executable = (v & pte::kExecutable) != 0;
  e.readable = (v & pte::kReadable) != 0;
  e.writeable = (v & pte::kWriteable) != 0;
  e.pde_pte = (v & pte::kPdePte) != 0;
  e.fragment = static_cast<uint32_t>((v & pte::kFragMask) >> pte::kFragShift);
  e.mtype = static_cast<uint32_t>((v & pte::kMtypeMask) >> pte::kMtypeShift);
  e.address = v & pte::kAddrMask;
  return e;
}

inline Entry Entry::decode_pde(uint64_t v) {
  Entry e = decode_pte(v);
  e.address = v & pte::kPdeAddrMask;
  return e;
}

inline uint64_t Entry::encode_pte() const {
  return (address & pte::kAddrMask) | (valid ? pte::kValid : 0) | (system ? pte::kSystem : 0) |
         (snooped ? pte::kSnooped : 0) | (executable ? pte::kExecutable : 0) |
         (readable ? pte::kReadable : 0) | (writeable ? pte::kWriteable : 0) |
         (pde_pte ? pte::kPdePte : 0) | pte::frag(fragment) | pte::mtype(mtype);
}

inline uint64_t Entry::encode_pde() const {
  return (address & pte::kPdeAddrMask) | (valid ? pte::kValid : 0) | (system ? pte::kSystem : 0);
}

}  // namespace fl::mmu
