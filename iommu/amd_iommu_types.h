// In-memory formats of the AMD IOMMU that faultline reads and writes bit for bit: device
// table entries, IO page-table entries (host page table, "v1" format), command-buffer
// entries, event-log entries and PPR-log entries.
//
// Source: AMD I/O Virtualization Technology (IOMMU) Specification, rev 3.x (48882), sections
// 2.2.2 (device table entry), 2.2.3 (I/O page tables), 2.4 (commands), 2.5 (event log),
// 2.6 (PPR log); and their Linux definitions in drivers/iommu/amd/amd_iommu_types.h
// (DEV_ENTRY_*, IOMMU_PTE_*, PM_LEVEL_*, CMD_*, EVENT_*, PPR_*) and the builders in
// drivers/iommu/amd/iommu.c (build_completion_wait, build_inv_iommu_pages,
// build_inv_iotlb_pages, build_complete_ppr, iommu_print_event). Sizes and field positions
// are asserted in tests/unit/iommu_formats_test.cpp.
#pragma once

#include <array>
#include <cstdint>

namespace fl::iommu {

// ------------------------------------------------------------------ device table entry

// struct dev_table_entry { u64 data[4]; } (amd_iommu_types.h): 256 bits per requester id.
struct Dte {
  // Bit numbers within the 256-bit entry (DEV_ENTRY_*).
  static constexpr int kValid = 0;         // DEV_ENTRY_VALID
  static constexpr int kTranslation = 1;   // DEV_ENTRY_TRANSLATION (TV)
  static constexpr int kModeShift = 9;     // DEV_ENTRY_MODE_SHIFT, 3 bits (paging mode)
  static constexpr uint64_t kRootMask = 0x000FFFFFFFFFF000ULL;  // bits 51:12, page-table root
  static constexpr int kPpr = 0x34;        // DEV_ENTRY_PPR (bit 52)
  static constexpr int kIr = 0x3d;         // DEV_ENTRY_IR (read permission, bit 61)
  static constexpr int kIw = 0x3e;         // DEV_ENTRY_IW (write permission, bit 62)
  static constexpr uint64_t kDomainMask = 0xFFFF;  // data[1] bits 15:0 (DEV_DOMID_MASK)
  static constexpr uint64_t kIotlb = 1ULL << 32;   // data[1] bit 32 (DTE_FLAG_IOTLB): ATS allowed

  std::array<uint64_t, 4> data{};

  bool valid() const { return (data[0] >> kValid) & 1; }
  bool translation_valid() const { return (data[0] >> kTranslation) & 1; }
  uint32_t mode() const { return static_cast<uint32_t>((data[0] >> kModeShift) & 7); }
  uint64_t root() const { return data[0] & kRootMask; }
  bool ppr() const { return (data[0] >> kPpr) & 1; }
  bool ir() const { return (data[0] >> kIr) & 1; }
  bool iw() const { return (data[0] >> kIw) & 1; }
  uint16_t domain() const { return static_cast<uint16_t>(data[1] & kDomainMask); }
  bool iotlb() const { return (data[1] & kIotlb) != 0; }

  // A translating entry for `domain` with a `mode`-level table at `root` (set_dte_entry).
  static Dte translated(uint16_t domain, uint64_t root, uint32_t mode, bool ats, bool ppr);
  // Pass-through: valid, TV set, paging mode 0 (DMA addresses are physical addresses).
  static Dte passthrough(uint16_t domain);
};
static_assert(sizeof(Dte) == 32, "a device table entry is 256 bits");

constexpr uint32_t kDteBytes = 32;

// ------------------------------------------------------------------ IO page tables

// PTE and PDE bits (IOMMU_PTE_*, PM_LEVEL_*).
namespace pte {
constexpr uint64_t kPresent = 1ULL << 0;        // IOMMU_PTE_PR
constexpr int kNextLevelShift = 9;               // PM_PTE_LEVEL: bits 11:9
constexpr uint64_t kAddrMask = 0x000FFFFFFFFFF000ULL;  // IOMMU_PAGE_MASK (bits 51:12)
constexpr uint64_t kU = 1ULL << 59;              // IOMMU_PTE_U
constexpr uint64_t kFc = 1ULL << 60;             // IOMMU_PTE_FC (force coherent)
constexpr uint64_t kIr = 1ULL << 61;             // IOMMU_PTE_IR (read)
constexpr uint64_t kIw = 1ULL << 62;             // IOMMU_PTE_IW (write)
}  // namespace pte

constexpr uint32_t kPageMode4Level = 4;  // PAGE_MODE_4_LEVEL: 48-bit IOVA

// Tables are numbered by level as in the AMD spec, 1 (entries map 4 KiB) to 4 (the root
// of a 4-level table); Linux counts the same tables 0..3 (PM_LEVEL_SHIFT(x) = 12 + 9x).
// A PDE's NextLevel field is the level of the table it points to (PM_LEVEL_PDE); a leaf
// has NextLevel 0 and maps 4 KiB in a level-1 table, 2 MiB in level 2, 1 GiB in level 3.
constexpr int level_shift(int level) { return 12 + 9 * (level - 1); }
constexpr uint64_t level_index(int level, uint64_t iova) { return (iova >> level_shift(level)) & 0x1FF; }

struct IoPte {
  bool present = false;
  uint32_t next_level = 0;  // 0: a leaf; else the level of the table `addr` points to
  uint64_t addr = 0;        // next table or page frame
  bool read = false;
  bool write = false;

  uint64_t encode() const;
  static IoPte decode(uint64_t v);
};

// ------------------------------------------------------------------ command buffer

// struct iommu_cmd { u32 data[4]; }: 128 bits; the opcode is data[1] bits 31:28
// (CMD_SET_TYPE).
struct Command {
  std::array<uint32_t, 4> data{};
  uint32_t opcode() const { return data[1] >> 28; }
};
static_assert(sizeof(Command) == 16, "a command is 128 bits");

namespace cmd {
constexpr uint32_t kCompletionWait = 0x01;      // CMD_COMPL_WAIT
constexpr uint32_t kInvDevEntry = 0x02;         // CMD_INV_DEV_ENTRY
constexpr uint32_t kInvIommuPages = 0x03;       // CMD_INV_IOMMU_PAGES
constexpr uint32_t kInvIotlbPages = 0x04;       // CMD_INV_IOTLB_PAGES
constexpr uint32_t kCompletePpr = 0x07;         // CMD_COMPLETE_PPR
constexpr uint32_t kInvAll = 0x08;              // CMD_INV_ALL
constexpr uint32_t kStoreMask = 0x01;           // CMD_COMPL_WAIT_STORE_MASK
constexpr uint32_t kInterruptMask = 0x02;       // CMD_COMPL_WAIT_INT_MASK
constexpr uint32_t kSizeMask = 0x01;            // CMD_INV_IOMMU_PAGES_SIZE_MASK (S)
constexpr uint32_t kPdeMask = 0x02;             // CMD_INV_IOMMU_PAGES_PDE_MASK
constexpr uint32_t kPprStatusShift = 12;        // PPR_STATUS_SHIFT
constexpr uint32_t kPprSuccess = 0;             // PPR_SUCCESS
constexpr uint32_t kPprInvalid = 1;             // PPR_INVALID

Command completion_wait(uint64_t store_addr, uint64_t store_data);
// Invalidate the IOTLB (and cached PDEs) of `domain` for [addr, addr + bytes); bytes a
// power of two >= 4096 with addr aligned to it (build_inv_address encoding with S).
Command inv_iommu_pages(uint16_t domain, uint64_t addr, uint64_t bytes);
// Ask device `devid`'s ATC to invalidate [addr, addr + bytes) (same address encoding).
Command inv_iotlb_pages(uint16_t devid, uint64_t addr, uint64_t bytes);
Command complete_ppr(uint16_t devid, uint32_t pasid, uint16_t tag, uint32_t status);
Command inv_dev_entry(uint16_t devid);

// The range an invalidation's address field encodes: S clear is one 4 KiB page; S set
// extends the range by the low one-bits above bit 12 (AMD IOMMU spec 2.4.3). A range of
// 2^52 or more (all bits set) is everything.
struct Range {
  uint64_t addr;
  uint64_t bytes;
};
uint64_t encode_range(uint64_t addr, uint64_t bytes);  // the 64-bit address field, S in bit 0
Range decode_range(uint64_t field);

// Fields of the commands faultline's IOMMU executes.
uint64_t completion_wait_addr(const Command& c);
uint64_t completion_wait_data(const Command& c);
uint16_t command_domain(const Command& c);  // INVALIDATE_IOMMU_PAGES
uint16_t command_devid(const Command& c);   // INVALIDATE_IOTLB_PAGES, COMPLETE_PPR, INV_DEV_ENTRY
uint64_t command_range_field(const Command& c);  // INVALIDATE_*_PAGES data[3]:data[2]
uint16_t ppr_tag(const Command& c);
uint32_t ppr_status(const Command& c);
}  // namespace cmd

// ------------------------------------------------------------------ event log

namespace event {
constexpr uint32_t kTypeShift = 28;             // EVENT_TYPE_SHIFT
constexpr uint32_t kIllegalDevEntry = 0x1;      // EVENT_TYPE_ILL_DEV
constexpr uint32_t kIoPageFault = 0x2;          // EVENT_TYPE_IO_FAULT
constexpr uint32_t kInvalidPprRequest = 0x9;    // EVENT_TYPE_INV_PPR_REQ
constexpr uint32_t kFlagsShift = 16;            // EVENT_FLAGS_SHIFT
constexpr uint32_t kFlagInterrupt = 0x008;      // EVENT_FLAG_I
constexpr uint32_t kFlagPresent = 0x010;        // PR: the PTE was present (a permission fault)
constexpr uint32_t kFlagWrite = 0x020;          // EVENT_FLAG_RW
constexpr uint32_t kFlagTranslation = 0x100;    // TR: the fault was on a translation request
}  // namespace event

// A 128-bit event-log entry as iommu_print_event reads it: u32 event[4].
struct Event {
  std::array<uint32_t, 4> data{};

  uint32_t type() const { return data[1] >> event::kTypeShift; }
  uint16_t devid() const { return static_cast<uint16_t>(data[0] & 0xFFFF); }
  uint16_t domain() const { return static_cast<uint16_t>(data[1] & 0xFFFF); }
  uint32_t flags() const { return (data[1] >> event::kFlagsShift) & 0xFFF; }
  uint64_t address() const { return (uint64_t{data[3]} << 32) | data[2]; }

  static Event io_page_fault(uint16_t devid, uint16_t domain, uint64_t addr, uint32_t flags);
};
static_assert(sizeof(Event) == 16, "an event-log entry is 128 bits");

// ------------------------------------------------------------------ PPR log

namespace ppr {
constexpr uint32_t kRequestFault = 0x01;  // PPR_REQ_FAULT
constexpr uint32_t kFlagRead = 0x004;     // PPR_FLAG_READ
constexpr uint32_t kFlagWrite = 0x008;    // PPR_FLAG_WRITE
constexpr uint32_t kFlagGn = 0x100;       // PPR_FLAG_GN: the PASID field is valid
}  // namespace ppr

// A 128-bit PPR-log entry: u64 raw[2], decoded by PPR_DEVID, PPR_PASID, PPR_TAG, PPR_FLAGS,
// PPR_REQ_TYPE; raw[1] is the faulting address.
struct PprEntry {
  std::array<uint64_t, 2> raw{};

  uint16_t devid() const { return static_cast<uint16_t>(raw[0] & 0xFFFF); }
  uint32_t pasid() const {
    return static_cast<uint32_t>((((raw[0] >> 42) & 0xF) << 16) | ((raw[0] >> 16) & 0xFFFF));
  }
  uint16_t tag() const { return static_cast<uint16_t>((raw[0] >> 32) & 0x3FF); }
  uint32_t flags() const { return static_cast<uint32_t>((raw[0] >> 48) & 0xFFF); }
  uint32_t type() const { return static_cast<uint32_t>(raw[0] >> 60); }
  uint64_t address() const { return raw[1]; }

  static PprEntry fault(uint16_t devid, uint32_t pasid, uint16_t tag, uint32_t flags, uint64_t addr);
};
static_assert(sizeof(PprEntry) == 16, "a PPR-log entry is 128 bits");

constexpr uint32_t kLogEntryBytes = 16;  // EVENT_ENTRY_SIZE, PPR_ENTRY_SIZE
constexpr uint32_t kCommandBytes = 16;   // CMD_BUFFER_ENTRY_SIZE

}  // namespace fl::iommu
