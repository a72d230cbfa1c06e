// The soc15 IH ring entry (hw/ih_entry.h, as amdgpu_ih_decode_iv_helper decodes it) and the
// GPUVM fault payload in its src_data (mmu/fault_report.h, as gmc_v9_0_process_interrupt).
#include <array>
#include <cstdint>

#include <gtest/gtest.h>

#include "hw/ih_entry.h"
#include "mmu/fault_report.h"
#include "sim/core/rng.h"

namespace {

using fl::hw::IhEntry;

void expect_same_entry(const IhEntry& a, const IhEntry& b) {
  EXPECT_EQ(a.client_id, b.client_id);
  EXPECT_EQ(a.src_id, b.src_id);
  EXPECT_EQ(a.ring_id, b.ring_id);
  EXPECT_EQ(a.vmid, b.vmid);
  EXPECT_EQ(a.vmid_src, b.vmid_src);
  EXPECT_EQ(a.timestamp, b.timestamp);
  EXPECT_EQ(a.timestamp_src, b.timestamp_src);
  EXPECT_EQ(a.pasid, b.pasid);
  EXPECT_EQ(a.node_id, b.node_id);
  EXPECT_EQ(a.src_data, b.src_data);
}

IhEntry max_entry() {
  IhEntry e;
  e.client_id = 0xff;
  e.src_id = 0xff;
  e.ring_id = 0xff;
  e.vmid = 0xf;
  e.vmid_src = true;
  e.timestamp = 0xFFFFFFFFFFFFULL;
  e.timestamp_src = true;
  e.pasid = 0xffff;
  e.node_id = 0xff;
  e.src_data = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
  return e;
}

// The words of an entry with every field zero except what `set` changes.
template <class F>
IhEntry::Words words_with(F set) {
  IhEntry e;
  set(e);
  return e.encode();
}

constexpr uint64_t kMaxPage = 0x0000FFFFFFFFF000ULL;  // bit 47 down to bit 12

}  // namespace

TEST(IhEntry, IsEightDwordsOf32Bytes) {
  EXPECT_EQ(fl::hw::kIhEntryBytes, 32u);
  EXPECT_EQ(sizeof(IhEntry::Words), 32u);
  EXPECT_EQ(IhEntry::Words{}.size(), 8u);
}

TEST(IhEntry, ZeroEntryEncodesToZeroWords) {
  EXPECT_EQ(IhEntry{}.encode(), IhEntry::Words{});
}

TEST(IhEntry, RoundTripsAllFieldsAtMaximum) {
  const IhEntry e = max_entry();
  expect_same_entry(IhEntry::decode(e.encode()), e);
}

TEST(IhEntry, MaximumEntryLeavesReservedBitsClear) {
  const IhEntry::Words w = max_entry().encode();
  EXPECT_EQ(w[0], 0x8FFFFFFFu);  // bits 30:28 reserved
  EXPECT_EQ(w[1], 0xFFFFFFFFu);
  EXPECT_EQ(w[2], 0x8000FFFFu);  // bits 30:16 reserved
  EXPECT_EQ(w[3], 0x00FFFFFFu);  // bits 31:24 not encoded
}

TEST(IhEntry, RoundTripsRandomEntries) {
  fl::Rng rng(21, 0);
  for (int i = 0; i < 1000; ++i) {
    IhEntry e;
    e.client_id = static_cast<uint8_t>(rng.below(256));
    e.src_id = static_cast<uint8_t>(rng.below(256));
    e.ring_id = static_cast<uint8_t>(rng.below(256));
    e.vmid = static_cast<uint8_t>(rng.below(16));
    e.vmid_src = rng.below(2) != 0;
    e.timestamp = rng.below(1ULL << 48);
    e.timestamp_src = rng.below(2) != 0;
    e.pasid = static_cast<uint16_t>(rng.below(65536));
    e.node_id = static_cast<uint8_t>(rng.below(256));
    for (auto& d : e.src_data) d = static_cast<uint32_t>(rng.next());
    SCOPED_TRACE(i);
    expect_same_entry(IhEntry::decode(e.encode()), e);
  }
}

TEST(IhEntry, Dword0FieldPositions) {
  EXPECT_EQ(words_with([](IhEntry& e) { e.client_id = 0xAB; })[0], 0x000000ABu);
  EXPECT_EQ(words_with([](IhEntry& e) { e.src_id = 0xCD; })[0], 0x0000CD00u);
  EXPECT_EQ(words_with([](IhEntry& e) { e.ring_id = 0xEF; })[0], 0x00EF0000u);
  EXPECT_EQ(words_with([](IhEntry& e) { e.vmid = 0xA; })[0], 0x0A000000u);
  EXPECT_EQ(words_with([](IhEntry& e) { e.vmid_src = true; })[0], 0x80000000u);
}

TEST(IhEntry, VmidKeepsOnlyFourBits) {
  EXPECT_EQ(words_with([](IhEntry& e) { e.vmid = 0x1F; })[0], 0x0F000000u);
}

TEST(IhEntry, TimestampSplitsAcrossDword1AndDword2) {
  const IhEntry::Words w = words_with([](IhEntry& e) { e.timestamp = 0x123456789ABCULL; });
  EXPECT_EQ(w[1], 0x56789ABCu);
  EXPECT_EQ(w[2], 0x00001234u);
  EXPECT_EQ(w[0], 0u);
  EXPECT_EQ(w[3], 0u);
}

TEST(IhEntry, TimestampAbove48BitsIsNotEncoded) {
  const IhEntry::Words w = words_with([](IhEntry& e) { e.timestamp = ~0ULL; });
  EXPECT_EQ(w[1], 0xFFFFFFFFu);
  EXPECT_EQ(w[2], 0x0000FFFFu);
}

TEST(IhEntry, TimestampSrcIsDword2Bit31) {
  EXPECT_EQ(words_with([](IhEntry& e) { e.timestamp_src = true; })[2], 0x80000000u);
}

TEST(IhEntry, Dword3FieldPositions) {
  EXPECT_EQ(words_with([](IhEntry& e) { e.pasid = 0xBEEF; })[3], 0x0000BEEFu);
  EXPECT_EQ(words_with([](IhEntry& e) { e.node_id = 0x5A; })[3], 0x005A0000u);
}

TEST(IhEntry, SrcDataFillsDwords4To7InOrder) {
  const IhEntry::Words w = words_with([](IhEntry& e) {
    e.src_data = {0x11111111u, 0x22222222u, 0x33333333u, 0x44444444u};
  });
  EXPECT_EQ(w[4], 0x11111111u);
  EXPECT_EQ(w[5], 0x22222222u);
  EXPECT_EQ(w[6], 0x33333333u);
  EXPECT_EQ(w[7], 0x44444444u);
}

TEST(IhEntry, DecodeIgnoresReservedBits) {
  IhEntry::Words w{};
  w[0] = 0x70000000u;  // 30:28
  w[2] = 0x7FFF0000u;  // 30:16
  w[3] = 0xFF000000u;  // 31:24
  const IhEntry e = IhEntry::decode(w);
  expect_same_entry(e, IhEntry{});
}

TEST(IhEntry, DecodeReadsDocumentedPositions) {
  IhEntry::Words w{};
  w[0] = 0x8A030201u;
  w[1] = 0xDEADBEEFu;
  w[2] = 0x8000CAFEu;
  w[3] = 0x00420007u;
  w[4] = 4;
  w[5] = 5;
  w[6] = 6;
  w[7] = 7;
  const IhEntry e = IhEntry::decode(w);
  EXPECT_EQ(e.client_id, 0x01);
  EXPECT_EQ(e.src_id, 0x02);
  EXPECT_EQ(e.ring_id, 0x03);
  EXPECT_EQ(e.vmid, 0xA);
  EXPECT_TRUE(e.vmid_src);
  EXPECT_EQ(e.timestamp, 0xCAFEDEADBEEFULL);
  EXPECT_TRUE(e.timestamp_src);
  EXPECT_EQ(e.pasid, 0x0007);
  EXPECT_EQ(e.node_id, 0x42);
  EXPECT_EQ(e.src_data, (std::array<uint32_t, 4>{4, 5, 6, 7}));
}

// ------------------------------------------------------------------ GPUVM fault payload

TEST(FaultReport, FlagBitValues) {
  EXPECT_EQ(fl::mmu::kFaultRetryBit, 0x80u);
  EXPECT_EQ(fl::mmu::kFaultWriteBit, 0x20u);
  EXPECT_EQ(fl::mmu::encode_fault(0, true, false)[1], 0x80u);
  EXPECT_EQ(fl::mmu::encode_fault(0, false, true)[1], 0x20u);
  EXPECT_EQ(fl::mmu::encode_fault(0, false, false)[1], 0u);
}

TEST(FaultReport, AddressSplitsIntoSrcData0And1) {
  // src_data[0] = address bits 43:12, src_data[1] 3:0 = address bits 47:44.
  const fl::mmu::SrcData d = fl::mmu::encode_fault(0x0000ABCDEF012000ULL, false, false);
  EXPECT_EQ(d[0], 0xBCDEF012u);
  EXPECT_EQ(d[1], 0xAu);
  EXPECT_EQ(d[2], 0u);
  EXPECT_EQ(d[3], 0u);
}

TEST(FaultReport, MaximumAddressRoundTripsWithFlags) {
  for (int flags = 0; flags < 4; ++flags) {
    const bool retry = (flags & 1) != 0;
    const bool write = (flags & 2) != 0;
    const fl::mmu::SrcData d = fl::mmu::encode_fault(kMaxPage, retry, write);
    EXPECT_EQ(fl::mmu::fault_address(d), kMaxPage) << flags;
    EXPECT_EQ(fl::mmu::fault_retry(d), retry) << flags;
    EXPECT_EQ(fl::mmu::fault_write(d), write) << flags;
  }
}

TEST(FaultReport, EachAddressBitRoundTrips) {
  for (int bit = 12; bit <= 47; ++bit) {
    const uint64_t addr = 1ULL << bit;
    const fl::mmu::SrcData d = fl::mmu::encode_fault(addr, false, false);
    EXPECT_EQ(fl::mmu::fault_address(d), addr) << "bit " << bit;
    EXPECT_FALSE(fl::mmu::fault_retry(d)) << "bit " << bit;
    EXPECT_FALSE(fl::mmu::fault_write(d)) << "bit " << bit;
  }
}

TEST(FaultReport, RandomAddressesRoundTrip) {
  fl::Rng rng(22, 0);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t addr = rng.next() & kMaxPage;
    const bool retry = rng.below(2) != 0;
    const bool write = rng.below(2) != 0;
    const fl::mmu::SrcData d = fl::mmu::encode_fault(addr, retry, write);
    EXPECT_EQ(fl::mmu::fault_address(d), addr);
    EXPECT_EQ(fl::mmu::fault_retry(d), retry);
    EXPECT_EQ(fl::mmu::fault_write(d), write);
  }
}

TEST(FaultReport, PageOffsetAndBitsAbove47AreDropped) {
  EXPECT_EQ(fl::mmu::fault_address(fl::mmu::encode_fault(0x1234567ULL, false, false)), 0x1234000u);
  const fl::mmu::SrcData d = fl::mmu::encode_fault(0xFFFF000000000000ULL, false, false);
  EXPECT_EQ(fl::mmu::fault_address(d), 0u);
  EXPECT_FALSE(fl::mmu::fault_retry(d));
  EXPECT_FALSE(fl::mmu::fault_write(d));
}

TEST(FaultReport, SurvivesTheIhEntry) {
  IhEntry e;
  e.src_data = fl::mmu::encode_fault(0x00007F1234567000ULL, true, true);
  const IhEntry d = IhEntry::decode(e.encode());
  EXPECT_EQ(fl::mmu::fault_address(d.src_data), 0x00007F1234567000ULL);
  EXPECT_TRUE(fl::mmu::fault_retry(d.src_data));
  EXPECT_TRUE(fl::mmu::fault_write(d.src_data));
}

// The retry CAM index rides in src_data[2] bits 9:0 (gmc_v9_0.c: cam_index = entry->src_data[2]
// & 0x3ff), i.e. bits 9:0 of dword 6, and leaves the fault's address and flags alone.
TEST(FaultReport, CamIndexIsDword6Bits9To0) {
  IhEntry e;
  e.src_data = fl::mmu::encode_fault(kMaxPage, true, true);
  EXPECT_EQ(e.src_data[2], 0u);  // a fault report carries no CAM index until the IH adds one
  e.src_data[2] = 0x3ff;
  const IhEntry::Words w = e.encode();
  EXPECT_EQ(w[6] & 0x3ffu, 0x3ffu);
  const IhEntry d = IhEntry::decode(w);
  EXPECT_EQ(d.src_data[2] & 0x3ffu, 0x3ffu);
  EXPECT_EQ(fl::mmu::fault_address(d.src_data), kMaxPage);
  EXPECT_TRUE(fl::mmu::fault_retry(d.src_data));
  EXPECT_TRUE(fl::mmu::fault_write(d.src_data));
}
