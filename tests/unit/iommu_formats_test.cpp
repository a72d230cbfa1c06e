// The AMD IOMMU in-memory formats (iommu/amd_iommu_types.h) against the definitions in
// drivers/iommu/amd/amd_iommu_types.h and the builders in drivers/iommu/amd/iommu.c: device
// table entries, IO PTEs, commands (COMPLETION_WAIT, INVALIDATE_IOMMU_PAGES,
// INVALIDATE_IOTLB_PAGES, COMPLETE_PPR_REQUEST), event-log and PPR-log entries.
#include <cstdint>
#include <type_traits>

#include <gtest/gtest.h>

#include "iommu/amd_iommu_types.h"

namespace {

using namespace fl::iommu;

TEST(IommuFormats, SizesAreTheHardwareEntrySizes) {
  EXPECT_EQ(sizeof(Dte), 32u);        // struct dev_table_entry { u64 data[4]; }
  EXPECT_EQ(sizeof(Command), 16u);    // struct iommu_cmd { u32 data[4]; }
  EXPECT_EQ(sizeof(Event), 16u);      // EVENT_ENTRY_SIZE
  EXPECT_EQ(sizeof(PprEntry), 16u);   // PPR_ENTRY_SIZE
  EXPECT_TRUE(std::is_standard_layout<Dte>::value);
  EXPECT_EQ(kCommandBytes, 16u);
  EXPECT_EQ(kLogEntryBytes, 16u);
}

TEST(DeviceTableEntry, TranslatedEntryHasTheLinuxBitPositions) {
  const uint64_t root = 0x0000123456789000ULL;
  const Dte d = Dte::translated(0x0042, root, kPageMode4Level, /*ats=*/true, /*ppr=*/true);
  EXPECT_EQ(d.data[0] & 1, 1u);                          // DTE_FLAG_V (bit 0)
  EXPECT_EQ((d.data[0] >> 1) & 1, 1u);                   // DTE_FLAG_TV (bit 1)
  EXPECT_EQ((d.data[0] >> 9) & 7, 4u);                   // DEV_ENTRY_MODE_SHIFT 9, PAGE_MODE_4_LEVEL
  EXPECT_EQ(d.data[0] & 0x000FFFFFFFFFF000ULL, root);    // page-table root, bits 51:12
  EXPECT_EQ((d.data[0] >> 0x34) & 1, 1u);                // DEV_ENTRY_PPR
  EXPECT_EQ((d.data[0] >> 61) & 1, 1u);                  // DTE_FLAG_IR
  EXPECT_EQ((d.data[0] >> 62) & 1, 1u);                  // DTE_FLAG_IW
  EXPECT_EQ(d.data[1] & 0xFFFF, 0x42u);                  // DEV_DOMID_MASK
  EXPECT_EQ(d.data[1] & (1ULL << 32), 1ULL << 32);       // DTE_FLAG_IOTLB
  EXPECT_TRUE(d.valid() && d.translation_valid() && d.ppr() && d.ir() && d.iw() && d.iotlb());
  EXPECT_EQ(d.mode(), 4u);
  EXPECT_EQ(d.root(), root);
  EXPECT_EQ(d.domain(), 0x42);
}

TEST(DeviceTableEntry, WithoutAtsOrPprThoseBitsAreClear) {
  const Dte d = Dte::translated(1, 0x1000, kPageMode4Level, false, false);
  EXPECT_FALSE(d.iotlb());
  EXPECT_FALSE(d.ppr());
  EXPECT_EQ(d.data[2], 0u);
  EXPECT_EQ(d.data[3], 0u);
}

TEST(DeviceTableEntry, PassThroughIsValidWithPagingModeZero) {
  const Dte d = Dte::passthrough(7);
  EXPECT_TRUE(d.valid());
  EXPECT_TRUE(d.translation_valid());
  EXPECT_EQ(d.mode(), 0u);  // PAGE_MODE_NONE: no translation
  EXPECT_EQ(d.domain(), 7);
  EXPECT_FALSE(Dte{}.valid());  // an all-zero entry is not valid: DMA passes untranslated
}

TEST(IoPte, LeafAndDirectoryEncodings) {
  const IoPte leaf{true, 0, 0xABCDE000, true, false};
  const uint64_t v = leaf.encode();
  EXPECT_EQ(v & 1, 1u);                           // IOMMU_PTE_PR
  EXPECT_EQ((v >> 9) & 7, 0u);                    // PM_PTE_LEVEL: a leaf
  EXPECT_EQ(v & 0x000FFFFFFFFFF000ULL, 0xABCDE000u);
  EXPECT_EQ(v & (1ULL << 61), 1ULL << 61);        // IOMMU_PTE_IR
  EXPECT_EQ(v & (1ULL << 62), 0u);                // IOMMU_PTE_IW clear
  EXPECT_EQ(v & (1ULL << 60), 1ULL << 60);        // IOMMU_PTE_FC, as iommu_v1_map_pages sets
  // PM_LEVEL_PDE(2, addr) = addr | PM_LEVEL_ENC(2) | PR | IR | IW
  const IoPte pde{true, 2, 0x5000, true, true};
  EXPECT_EQ(pde.encode(), 0x5000ULL | (2ULL << 9) | 1ULL | (1ULL << 61) | (1ULL << 62));
  const IoPte back = IoPte::decode(pde.encode());
  EXPECT_TRUE(back.present);
  EXPECT_EQ(back.next_level, 2u);
  EXPECT_EQ(back.addr, 0x5000u);
  EXPECT_EQ(IoPte{}.encode(), 0u);
  EXPECT_FALSE(IoPte::decode(0).present);
}

TEST(IoPte, LevelShiftsMatchPmLevelShift) {
  // PM_LEVEL_SHIFT(x) = 12 + 9x for Linux's 0-based levels; tables here are 1-based.
  EXPECT_EQ(level_shift(1), 12);
  EXPECT_EQ(level_shift(2), 21);
  EXPECT_EQ(level_shift(3), 30);
  EXPECT_EQ(level_shift(4), 39);
  EXPECT_EQ(level_index(4, 0x0000FF8000000000ULL), 0x1FFu);
  EXPECT_EQ(level_index(1, 0x3000), 3u);
}

TEST(Commands, CompletionWaitStoresAddressAndData) {
  const Command c = cmd::completion_wait(0x0000001234567008ULL, 0x1122334455667788ULL);
  EXPECT_EQ(c.opcode(), cmd::kCompletionWait);          // CMD_COMPL_WAIT 0x01 in data[1] 31:28
  EXPECT_EQ(c.data[1] >> 28, 0x1u);
  EXPECT_EQ(c.data[0] & cmd::kStoreMask, 1u);           // CMD_COMPL_WAIT_STORE_MASK
  EXPECT_EQ(c.data[0] & ~7u, 0x34567008u);              // lower address
  EXPECT_EQ(c.data[1] & 0xFFFFF, 0x12u);                // upper address
  EXPECT_EQ(c.data[2], 0x55667788u);
  EXPECT_EQ(c.data[3], 0x11223344u);
  EXPECT_EQ(cmd::completion_wait_addr(c), 0x0000001234567008ULL);
  EXPECT_EQ(cmd::completion_wait_data(c), 0x1122334455667788ULL);
}

TEST(Commands, InvalidateIommuPagesOnePage) {
  const Command c = cmd::inv_iommu_pages(0x0009, 0x7F0000123000ULL, 4096);
  EXPECT_EQ(c.opcode(), cmd::kInvIommuPages);
  EXPECT_EQ(cmd::command_domain(c), 9);
  EXPECT_EQ(c.data[2] & cmd::kSizeMask, 0u);   // S clear: one page
  EXPECT_EQ(c.data[2] & cmd::kPdeMask, cmd::kPdeMask);
  const cmd::Range r = cmd::decode_range(cmd::command_range_field(c));
  EXPECT_EQ(r.addr, 0x7F0000123000ULL);
  EXPECT_EQ(r.bytes, 4096u);
}

TEST(Commands, InvalidateRangeUsesTheSizeEncodingOfBuildInvAddress) {
  // build_inv_address: 2 MiB at 0x40000000 sets address bits 12..19 and S.
  const uint64_t f = cmd::encode_range(0x40000000, 2ULL << 20);
  EXPECT_EQ(f, 0x40000000ULL | 0xFF000ULL | cmd::kSizeMask);
  for (uint64_t size = 8192; size <= (1ULL << 40); size <<= 1) {
    const uint64_t a = 0x0000100000000000ULL;  // aligned to every size tried
    const cmd::Range r = cmd::decode_range(cmd::encode_range(a, size));
    EXPECT_EQ(r.addr, a) << size;
    EXPECT_EQ(r.bytes, size) << size;
  }
  const cmd::Range all = cmd::decode_range(cmd::encode_range(0, 1ULL << 52));
  EXPECT_EQ(all.addr, 0u);
  EXPECT_EQ(all.bytes, ~0ULL);
}

TEST(Commands, InvalidateIotlbPagesNamesTheDevice) {
  const Command c = cmd::inv_iotlb_pages(0x0300, 0x200000, 2ULL << 20);
  EXPECT_EQ(c.opcode(), cmd::kInvIotlbPages);
  EXPECT_EQ(cmd::command_devid(c), 0x0300);
  const cmd::Range r = cmd::decode_range(cmd::command_range_field(c));
  EXPECT_EQ(r.addr, 0x200000u);
  EXPECT_EQ(r.bytes, 2ULL << 20);
}

TEST(Commands, CompletePprCarriesTagAndStatus) {
  const Command c = cmd::complete_ppr(0x0300, 0x8000, 0x1AB, cmd::kPprInvalid);
  EXPECT_EQ(c.opcode(), cmd::kCompletePpr);
  EXPECT_EQ(c.data[0], 0x0300u);
  EXPECT_EQ(c.data[1] & 0xFFFFF, 0x8000u);
  EXPECT_EQ(c.data[3] & 0x1FF, 0x1ABu);
  EXPECT_EQ((c.data[3] >> 12) & 0xF, 1u);  // PPR_STATUS_SHIFT 12
  EXPECT_EQ(cmd::ppr_tag(c), 0x1AB);
  EXPECT_EQ(cmd::ppr_status(c), cmd::kPprInvalid);
}

TEST(EventLog, IoPageFaultAsIommuPrintEventDecodesIt) {
  const Event e = Event::io_page_fault(0x0300, 0x0001, 0x0000123456789ABCULL,
                                       event::kFlagWrite | event::kFlagPresent);
  // iommu_print_event: devid = event[0] & 0xffff; type = event[1] >> 28;
  // flags = (event[1] >> 16) & 0xfff; address = event[3]:event[2].
  EXPECT_EQ(e.data[0] & 0xFFFF, 0x0300u);
  EXPECT_EQ(e.data[1] >> 28, 0x2u);  // EVENT_TYPE_IO_FAULT
  EXPECT_EQ((e.data[1] >> 16) & 0xFFF, 0x030u);
  EXPECT_EQ(e.data[1] & 0xFFFF, 0x0001u);
  EXPECT_EQ((uint64_t{e.data[3]} << 32) | e.data[2], 0x0000123456789ABCULL);
  EXPECT_EQ(e.type(), event::kIoPageFault);
  EXPECT_EQ(e.address(), 0x0000123456789ABCULL);
  EXPECT_EQ(e.flags(), 0x030u);
}

TEST(PprLog, EntryDecodesWithThePprMacros) {
  const PprEntry p = PprEntry::fault(0x0300, 0x5ABCD, 0x2F1, ppr::kFlagWrite, 0x7F0000001000ULL);
  EXPECT_EQ(p.raw[0] & 0xFFFF, 0x0300u);                   // PPR_DEVID
  EXPECT_EQ((p.raw[0] >> 16) & 0xFFFF, 0xABCDu);           // PPR_PASID1
  EXPECT_EQ((p.raw[0] >> 42) & 0xF, 0x5u);                 // PPR_PASID2
  EXPECT_EQ((p.raw[0] >> 32) & 0x3FF, 0x2F1u);             // PPR_TAG
  EXPECT_EQ((p.raw[0] >> 48) & 0xFFF, ppr::kFlagWrite);    // PPR_FLAGS
  EXPECT_EQ(p.raw[0] >> 60, ppr::kRequestFault);           // PPR_REQ_TYPE
  EXPECT_EQ(p.raw[1], 0x7F0000001000ULL);
  EXPECT_EQ(p.pasid(), 0x5ABCDu);
  EXPECT_EQ(p.tag(), 0x2F1);
  EXPECT_EQ(p.devid(), 0x0300);
}

}  // namespace
