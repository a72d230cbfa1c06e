// GPUVM PTE/PDE format (mmu/gpuvm_pte.h): bit positions of every field as in amdgpu_vm.h /
// gmc_v9_0.c, encode/decode round trips and the 4-level index split of a 48-bit VA.
#include <cstdint>

#include <gtest/gtest.h>

#include "mmu/gpuvm_pte.h"
#include "sim/core/rng.h"

namespace {

using fl::mmu::Entry;
namespace pte = fl::mmu::pte;

void expect_same_pte_fields(const Entry& a, const Entry& b) {
  EXPECT_EQ(a.valid, b.valid);
  EXPECT_EQ(a.system, b.system);
  EXPECT_EQ(a.snooped, b.snooped);
  EXPECT_EQ(a.executable, b.executable);
  EXPECT_EQ(a.readable, b.readable);
  EXPECT_EQ(a.writeable, b.writeable);
  EXPECT_EQ(a.pde_pte, b.pde_pte);
  EXPECT_EQ(a.fragment, b.fragment);
  EXPECT_EQ(a.mtype, b.mtype);
  EXPECT_EQ(a.address, b.address);
}

struct FlagCase {
  const char* name;
  bool Entry::*field;
  int bit;
};

const FlagCase kFlags[] = {
    {"valid", &Entry::valid, 0},           {"system", &Entry::system, 1},
    {"snooped", &Entry::snooped, 2},       {"executable", &Entry::executable, 4},
    {"readable", &Entry::readable, 5},     {"writeable", &Entry::writeable, 6},
    {"pde_pte", &Entry::pde_pte, 54},
};

}  // namespace

TEST(GpuvmPte, FlagConstantsSitAtDocumentedBits) {
  EXPECT_EQ(pte::kValid, 1ULL << 0);
  EXPECT_EQ(pte::kSystem, 1ULL << 1);
  EXPECT_EQ(pte::kSnooped, 1ULL << 2);
  EXPECT_EQ(pte::kTmz, 1ULL << 3);
  EXPECT_EQ(pte::kExecutable, 1ULL << 4);
  EXPECT_EQ(pte::kReadable, 1ULL << 5);
  EXPECT_EQ(pte::kWriteable, 1ULL << 6);
  EXPECT_EQ(pte::kFragMask, 0x1FULL << 7);  // bits 11:7
  EXPECT_EQ(pte::kPrt, 1ULL << 51);
  EXPECT_EQ(pte::kPdePte, 1ULL << 54);
  EXPECT_EQ(pte::kLog, 1ULL << 55);
  EXPECT_EQ(pte::kTf, 1ULL << 56);
  EXPECT_EQ(pte::kMtypeMask, 0x3ULL << 57);  // bits 58:57
  EXPECT_EQ(pte::kAddrMask, 0x0000FFFFFFFFF000ULL);
  EXPECT_EQ(pte::kPdeAddrMask, 0x0000FFFFFFFFFFC0ULL);
}

TEST(GpuvmPte, EachFlagEncodesToItsOwnBit) {
  for (const FlagCase& c : kFlags) {
    Entry e;
    e.*c.field = true;
    EXPECT_EQ(e.encode_pte(), 1ULL << c.bit) << c.name;
  }
}

TEST(GpuvmPte, EachFlagBitDecodesToOnlyItsField) {
  for (const FlagCase& c : kFlags) {
    Entry expected;
    expected.*c.field = true;
    SCOPED_TRACE(c.name);
    expect_same_pte_fields(Entry::decode_pte(1ULL << c.bit), expected);
  }
}

TEST(GpuvmPte, FragmentOccupiesBits11To7) {
  Entry e;
  e.fragment = 31;
  EXPECT_EQ(e.encode_pte(), 0x1FULL << 7);
  e.fragment = 9;  // 2 MiB run
  EXPECT_EQ(e.encode_pte(), 9ULL << 7);
  EXPECT_EQ(Entry::decode_pte(0x1FULL << 7).fragment, 31u);
  EXPECT_EQ(pte::frag(4), 4ULL << 7);
}

TEST(GpuvmPte, FragmentWiderThanFiveBitsDoesNotSpillIntoAddress) {
  Entry e;
  e.fragment = 32;  // needs 6 bits
  EXPECT_EQ(e.encode_pte() & ~pte::kFragMask, 0u);
}

TEST(GpuvmPte, MtypeOccupiesBits58To57) {
  for (uint32_t m = 0; m < 4; ++m) {
    Entry e;
    e.mtype = m;
    EXPECT_EQ(e.encode_pte(), static_cast<uint64_t>(m) << 57) << "mtype " << m;
    EXPECT_EQ(Entry::decode_pte(static_cast<uint64_t>(m) << 57).mtype, m);
  }
  Entry wide;
  wide.mtype = 7;  // only two bits exist
  EXPECT_EQ(wide.encode_pte(), 3ULL << 57);
}

TEST(GpuvmPte, TfAndNoRetryFlags) {
  EXPECT_EQ(pte::kNoRetryFlags, (1ULL << 4) | (1ULL << 54) | (1ULL << 56));
  EXPECT_EQ(pte::kNoRetryFlags, 0x0140000000000010ULL);
  // A no-retry PTE decodes as executable and PDE_PTE, and is not valid.
  const Entry e = Entry::decode_pte(pte::kNoRetryFlags);
  EXPECT_TRUE(e.executable);
  EXPECT_TRUE(e.pde_pte);
  EXPECT_FALSE(e.valid);
  EXPECT_EQ(e.address, 0u);
}

TEST(GpuvmPte, PteAddressIsBits47To12) {
  Entry e;
  e.address = 0x0000FFFFFFFFF000ULL;
  EXPECT_EQ(e.encode_pte(), 0x0000FFFFFFFFF000ULL);
  // Page offset and bits above 47 are not part of a PTE address.
  e.address = 0xFFFF123456789FFFULL;
  EXPECT_EQ(e.encode_pte(), 0x0000123456789000ULL);
  EXPECT_EQ(Entry::decode_pte(~0ULL).address, 0x0000FFFFFFFFF000ULL);
}

TEST(GpuvmPte, PdeAddressIsBits47To6) {
  Entry e;
  e.address = 0x0000FFFFFFFFFFC0ULL;
  EXPECT_EQ(e.encode_pde(), 0x0000FFFFFFFFFFC0ULL);
  e.address = 0xFFFF00000000103FULL;
  EXPECT_EQ(e.encode_pde(), 0x0000000000001000ULL);
  EXPECT_EQ(Entry::decode_pde(0x0000ABCDEF012340ULL).address, 0x0000ABCDEF012340ULL);
}

TEST(GpuvmPte, PdeEncodesOnlyValidSystemAndAddress) {
  Entry e;
  e.valid = true;
  e.system = true;
  e.snooped = true;
  e.executable = true;
  e.readable = true;
  e.writeable = true;
  e.pde_pte = true;
  e.fragment = 31;
  e.mtype = 3;
  e.address = 0x0000001234567000ULL;
  EXPECT_EQ(e.encode_pde(), 0x0000001234567000ULL | pte::kValid | pte::kSystem);
}

TEST(GpuvmPte, AllBitsSetDecodesEveryField) {
  const Entry e = Entry::decode_pte(~0ULL);
  EXPECT_TRUE(e.valid);
  EXPECT_TRUE(e.system);
  EXPECT_TRUE(e.snooped);
  EXPECT_TRUE(e.executable);
  EXPECT_TRUE(e.readable);
  EXPECT_TRUE(e.writeable);
  EXPECT_TRUE(e.pde_pte);
  EXPECT_EQ(e.fragment, 31u);
  EXPECT_EQ(e.mtype, 3u);
}

TEST(GpuvmPte, PteRoundTripsForRandomEntries) {
  fl::Rng rng(11, 0);
  for (int i = 0; i < 2000; ++i) {
    Entry e;
    e.valid = rng.below(2) != 0;
    e.system = rng.below(2) != 0;
    e.snooped = rng.below(2) != 0;
    e.executable = rng.below(2) != 0;
    e.readable = rng.below(2) != 0;
    e.writeable = rng.below(2) != 0;
    e.pde_pte = rng.below(2) != 0;
    e.fragment = static_cast<uint32_t>(rng.below(32));
    e.mtype = static_cast<uint32_t>(rng.below(4));
    e.address = rng.next() & pte::kAddrMask;
    SCOPED_TRACE(i);
    expect_same_pte_fields(Entry::decode_pte(e.encode_pte()), e);
    // And value -> entry -> value for the bits the entry models.
    const uint64_t v = e.encode_pte();
    EXPECT_EQ(Entry::decode_pte(v).encode_pte(), v);
  }
}

TEST(GpuvmPte, PdeRoundTripsValidSystemAndAddress) {
  fl::Rng rng(12, 0);
  for (int i = 0; i < 2000; ++i) {
    Entry e;
    e.valid = rng.below(2) != 0;
    e.system = rng.below(2) != 0;
    e.address = rng.next() & pte::kPdeAddrMask;
    const Entry d = Entry::decode_pde(e.encode_pde());
    EXPECT_EQ(d.valid, e.valid);
    EXPECT_EQ(d.system, e.system);
    EXPECT_EQ(d.address, e.address);
  }
}

TEST(GpuvmPte, LevelShiftsAndSpansFor48BitVa) {
  using namespace fl::mmu;
  EXPECT_EQ(level_shift(kPdb2), 39u);
  EXPECT_EQ(level_shift(kPdb1), 30u);
  EXPECT_EQ(level_shift(kPdb0), 21u);
  EXPECT_EQ(level_shift(kPtb), 12u);
  EXPECT_EQ(level_span(kPdb2), 512ULL << 30);  // 512 GiB
  EXPECT_EQ(level_span(kPdb1), 1ULL << 30);    // 1 GiB
  EXPECT_EQ(level_span(kPdb0), 2ULL << 20);    // 2 MiB
  EXPECT_EQ(level_span(kPtb), 4096u);
  EXPECT_EQ(kEntriesPerTable, 512u);
  EXPECT_EQ(kTableBytes, 4096u);
  // The four levels and the page offset cover exactly 48 bits.
  EXPECT_EQ(level_span(kPdb2) * kEntriesPerTable, 1ULL << kVaBits);
}

TEST(GpuvmPte, LevelIndexExtractsEachNineBitField) {
  using namespace fl::mmu;
  const uint64_t pdb2 = 0x1A5, pdb1 = 0x0F3, pdb0 = 0x1FF, ptb = 0x001, off = 0xABC;
  const uint64_t va = pdb2 << 39 | pdb1 << 30 | pdb0 << 21 | ptb << 12 | off;
  EXPECT_EQ(level_index(va, kPdb2), pdb2);
  EXPECT_EQ(level_index(va, kPdb1), pdb1);
  EXPECT_EQ(level_index(va, kPdb0), pdb0);
  EXPECT_EQ(level_index(va, kPtb), ptb);
}

TEST(GpuvmPte, LevelIndexBoundaries) {
  using namespace fl::mmu;
  const uint64_t top = (1ULL << 48) - 1;
  for (int level = kPdb2; level <= kPtb; ++level) {
    EXPECT_EQ(level_index(top, level), 511u) << "level " << level;
    EXPECT_EQ(level_index(0, level), 0u) << "level " << level;
    // The lowest VA bit of a level's field is index 1 of that level only.
    const uint64_t va = 1ULL << level_shift(level);
    for (int other = kPdb2; other <= kPtb; ++other) {
      EXPECT_EQ(level_index(va, other), other == level ? 1u : 0u)
          << "bit of level " << level << " read at level " << other;
    }
  }
  // VA bits above 47 do not leak into the PDB2 index.
  EXPECT_EQ(level_index(1ULL << 48, kPdb2), 0u);
}
