#include "iommu/amd_iommu_types.h"

namespace fl::iommu {

Dte Dte::translated(uint16_t domain, uint64_t root, uint32_t mode, bool ats, bool ppr) {
  Dte d;
  d.data[0] = (1ULL << kValid) | (1ULL << kTranslation) | ((uint64_t{mode} & 7) << kModeShift) |
              (root & kRootMask) | (1ULL << kIr) | (1ULL << kIw);
  if (ppr) d.data[0] |= 1ULL << kPpr;
  d.data[1] = domain;
  if (ats) d.data[1] |= kIotlb;
  return d;
}

Dte Dte::passthrough(uint16_t domain) {
  Dte d;
  d.data[0] = (1ULL << kValid) | (1ULL << kTranslation) | (1ULL << kIr) | (1ULL << kIw);
  d.data[1] = domain;
  return d;
}

uint64_t IoPte::encode() const {
  if (!present) return 0;
  uint64_t v = pte::kPresent | ((uint64_t{next_level} & 7) << pte::kNextLevelShift) | (addr & pte::kAddrMask);
  if (next_level == 0) {
    v |= pte::kFc;  // Linux sets FC on leaves (iommu_v1_map_pages)
    if (read) v |= pte::kIr;
    if (write) v |= pte::kIw;
  } else {
    v |= pte::kIr | pte::kIw;  // PM_LEVEL_PDE
  }
  return v;
}

IoPte IoPte::decode(uint64_t v) {
  IoPte p;
  p.present = (v & pte::kPresent) != 0;
  p.next_level = static_cast<uint32_t>((v >> pte::kNextLevelShift) & 7);
  p.addr = v & pte::kAddrMask;
  p.read = (v & pte::kIr) != 0;
  p.write = (v & pte::kIw) != 0;
  return p;
}

namespace cmd {

namespace {
Command typed(uint32_t opcode) {
  Command c;
  c.data[1] = opcode << 28;  // CMD_SET_TYPE
  return c;
}
uint32_t lo(uint64_t v) { return static_cast<uint32_t>(v); }
uint32_t hi(uint64_t v) { return static_cast<uint32_t>(v >> 32); }
}  // namespace

Command completion_wait(uint64_t store_addr, uint64_t store_data) {
  // build_completion_wait: data[0] = lower address | STORE, data[1] = upper address.
  Command c = typed(kCompletionWait);
  c.data[0] = (lo(store_addr) & ~7u) | kStoreMask;
  c.data[1] |= hi(store_addr) & 0xFFFFF;
  c.data[2] = lo(store_data);
  c.data[3] = hi(store_data);
  return c;
}

uint64_t encode_range(uint64_t addr, uint64_t bytes) {
  if (bytes <= 4096) return addr & ~0xFFFULL;
  if (bytes >= (1ULL << 52)) return 0x7FFFFFFFFFFFF000ULL | kSizeMask;  // CMD_INV_IOMMU_ALL_PAGES_ADDRESS
  // build_inv_address: the bits below the range's size set, from bit 12 up, and S.
  return (((addr & ~(bytes - 1)) | ((bytes - 1) >> 1)) & ~0xFFFULL) | kSizeMask;
}

Range decode_range(uint64_t field) {
  const uint64_t a = field & ~0xFFFULL;
  if ((field & kSizeMask) == 0) return Range{a, 4096};
  // The range covers 2^(13 + n) bytes where n is the number of one-bits from bit 12 up.
  int n = 0;
  while (n < 52 && ((a >> (12 + n)) & 1)) ++n;
  if (12 + n >= 51) return Range{0, ~0ULL};
  const uint64_t bytes = 1ULL << (13 + n);
  return Range{a & ~(bytes - 1), bytes};
}

Command inv_iommu_pages(uint16_t domain, uint64_t addr, uint64_t bytes) {
  Command c = typed(kInvIommuPages);
  const uint64_t f = encode_range(addr, bytes);
  c.data[1] |= domain;
  c.data[2] = lo(f) | kPdeMask;  // also drop cached PDEs (Linux always sets PDE)
  c.data[3] = hi(f);
  return c;
}

Command inv_iotlb_pages(uint16_t devid, uint64_t addr, uint64_t bytes) {
  Command c = typed(kInvIotlbPages);
  const uint64_t f = encode_range(addr, bytes);
  c.data[0] = devid;
  c.data[2] = lo(f);
  c.data[3] = hi(f);
  return c;
}

Command complete_ppr(uint16_t devid, uint32_t pasid, uint16_t tag, uint32_t status) {
  Command c = typed(kCompletePpr);
  c.data[0] = devid;
  c.data[1] |= pasid & 0xFFFFF;
  c.data[2] = 0x04;  // CMD_INV_IOMMU_PAGES_GN_MASK: the PASID is valid
  c.data[3] = (tag & 0x1FFu) | ((status & 0xFu) << kPprStatusShift);
  return c;
}

Command inv_dev_entry(uint16_t devid) {
  Command c = typed(kInvDevEntry);
  c.data[0] = devid;
  return c;
}

uint64_t completion_wait_addr(const Command& c) {
  return (uint64_t{c.data[1] & 0xFFFFF} << 32) | (c.data[0] & ~7u);
}
uint64_t completion_wait_data(const Command& c) { return (uint64_t{c.data[3]} << 32) | c.data[2]; }
uint16_t command_domain(const Command& c) { return static_cast<uint16_t>(c.data[1] & 0xFFFF); }
uint16_t command_devid(const Command& c) { return static_cast<uint16_t>(c.data[0] & 0xFFFF); }
uint64_t command_range_field(const Command& c) { return (uint64_t{c.data[3]} << 32) | c.data[2]; }
uint16_t ppr_tag(const Command& c) { return static_cast<uint16_t>(c.data[3] & 0x1FF); }
uint32_t ppr_status(const Command& c) { return (c.data[3] >> kPprStatusShift) & 0xF; }

}  // namespace cmd

Event Event::io_page_fault(uint16_t devid, uint16_t domain, uint64_t addr, uint32_t flags) {
  Event e;
  e.data[0] = devid;
  e.data[1] = domain | ((flags & 0xFFF) << event::kFlagsShift) | (event::kIoPageFault << event::kTypeShift);
  e.data[2] = static_cast<uint32_t>(addr);
  e.data[3] = static_cast<uint32_t>(addr >> 32);
  return e;
}

PprEntry PprEntry::fault(uint16_t devid, uint32_t pasid, uint16_t tag, uint32_t flags, uint64_t addr) {
  PprEntry p;
  p.raw[0] = uint64_t{devid} | (uint64_t{pasid & 0xFFFF} << 16) |
             (static_cast<uint64_t>(tag & 0x3FF) << 32) | (uint64_t{(pasid >> 16) & 0xF} << 42) |
             (uint64_t{flags & 0xFFF} << 48) | (uint64_t{ppr::kRequestFault} << 60);
  p.raw[1] = addr;
  return p;
}

}  // namespace fl::iommu
