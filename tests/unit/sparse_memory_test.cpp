// Sparse functional memory (hw/sparse_memory.h): zero-fill of untouched bytes, accesses that
// cross pages, copies between memories that zero-fill untouched source pages, bounds.
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "hw/sparse_memory.h"

namespace {

using fl::hw::SparseMemory;

constexpr uint64_t kPage = SparseMemory::kPageBytes;
constexpr uint64_t kCapacity = 1ULL << 40;

// A recognisable pattern: byte i of a buffer starting at `seed`.
std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return v;
}

std::vector<uint8_t> read_bytes(const SparseMemory& m, uint64_t addr, size_t n) {
  std::vector<uint8_t> v(n, 0xEE);
  m.read(addr, v.data(), n);
  return v;
}

}  // namespace

TEST(SparseMemory, UntouchedBytesReadZero) {
  SparseMemory m(kCapacity);
  EXPECT_EQ(read_bytes(m, 12345, 3 * kPage), std::vector<uint8_t>(3 * kPage, 0));
  EXPECT_EQ(m.read32(kCapacity - 4), 0u);
  EXPECT_EQ(m.read64(0x7000), 0u);
}

TEST(SparseMemory, ReadsDoNotAllocatePages) {
  SparseMemory m(kCapacity);
  read_bytes(m, 0, 4 * kPage);
  EXPECT_EQ(m.pages_allocated(), 0u);
}

TEST(SparseMemory, UnwrittenBytesOfAWrittenPageReadZero) {
  SparseMemory m(kCapacity);
  m.write32(kPage + 100, 0xDEADBEEF);
  EXPECT_EQ(read_bytes(m, kPage, 100), std::vector<uint8_t>(100, 0));
  EXPECT_EQ(read_bytes(m, kPage + 104, kPage - 104), std::vector<uint8_t>(kPage - 104, 0));
}

TEST(SparseMemory, WordAccessesRoundTrip) {
  SparseMemory m(kCapacity);
  m.write32(0x1000, 0x12345678u);
  m.write64(0x2008, 0x0123456789ABCDEFULL);
  EXPECT_EQ(m.read32(0x1000), 0x12345678u);
  EXPECT_EQ(m.read64(0x2008), 0x0123456789ABCDEFULL);
  // Little-endian byte order.
  EXPECT_EQ(read_bytes(m, 0x1000, 4), (std::vector<uint8_t>{0x78, 0x56, 0x34, 0x12}));
}

TEST(SparseMemory, WordWriteAcrossAPageBoundary) {
  SparseMemory m(kCapacity);
  m.write64(3 * kPage - 3, 0x1122334455667788ULL);
  EXPECT_EQ(m.read64(3 * kPage - 3), 0x1122334455667788ULL);
  EXPECT_EQ(m.pages_allocated(), 2u);
  // Little-endian: bytes 88 77 66 end page 2, bytes 55 44 33 22 11 start page 3.
  EXPECT_EQ(read_bytes(m, 3 * kPage - 3, 3), (std::vector<uint8_t>{0x88, 0x77, 0x66}));
  EXPECT_EQ(m.read32(3 * kPage), 0x22334455u);
  EXPECT_EQ(read_bytes(m, 3 * kPage + 4, 2), (std::vector<uint8_t>{0x11, 0x00}));
}

TEST(SparseMemory, LargeWriteAcrossSeveralPages) {
  SparseMemory m(kCapacity);
  const uint64_t addr = 5 * kPage + 1000;
  const std::vector<uint8_t> data = pattern(3 * kPage, 1);
  m.write(addr, data.data(), data.size());
  EXPECT_EQ(m.pages_allocated(), 4u);  // pages 5, 6, 7, 8
  EXPECT_EQ(read_bytes(m, addr, data.size()), data);
  // The bytes just outside the write stay zero.
  EXPECT_EQ(read_bytes(m, addr - 1, 1), std::vector<uint8_t>{0});
  EXPECT_EQ(read_bytes(m, addr + data.size(), 1), std::vector<uint8_t>{0});
}

TEST(SparseMemory, OverwriteReplacesBytes) {
  SparseMemory m(kCapacity);
  m.write32(64, 0xAAAAAAAAu);
  m.write32(66, 0xBBBBBBBBu);
  EXPECT_EQ(m.read32(64), 0xBBBBAAAAu);
}

TEST(SparseMemory, WritesNearTheTopOfTheAddressSpace) {
  SparseMemory m(kCapacity);
  m.write64(kCapacity - 8, 0xFEEDFACECAFEBEEFULL);
  EXPECT_EQ(m.read64(kCapacity - 8), 0xFEEDFACECAFEBEEFULL);
}

TEST(SparseMemory, FillSetsBytesAcrossPages) {
  SparseMemory m(kCapacity);
  m.fill(kPage - 10, 0x5A, 20);
  EXPECT_EQ(read_bytes(m, kPage - 10, 20), std::vector<uint8_t>(20, 0x5A));
  EXPECT_EQ(read_bytes(m, kPage - 11, 1), std::vector<uint8_t>{0});
  EXPECT_EQ(read_bytes(m, kPage + 10, 1), std::vector<uint8_t>{0});
}

TEST(SparseMemory, ZeroFillOfUntouchedPagesAllocatesNothing) {
  SparseMemory m(kCapacity);
  m.fill(0, 0, 16 * kPage);
  EXPECT_EQ(m.pages_allocated(), 0u);
}

TEST(SparseMemory, ZeroFillClearsWrittenBytes) {
  SparseMemory m(kCapacity);
  m.write64(kPage + 8, ~0ULL);
  m.fill(kPage, 0, kPage);
  EXPECT_EQ(m.read64(kPage + 8), 0u);
}

TEST(SparseMemory, CopyBetweenMemoriesCopiesData) {
  SparseMemory src(kCapacity), dst(kCapacity);
  const std::vector<uint8_t> data = pattern(2 * kPage + 300, 9);
  src.write(0x10000 + 123, data.data(), data.size());
  SparseMemory::copy(src, 0x10000 + 123, dst, 0x80000 + 4000, data.size());
  EXPECT_EQ(read_bytes(dst, 0x80000 + 4000, data.size()), data);
  EXPECT_EQ(read_bytes(dst, 0x80000 + 3999, 1), std::vector<uint8_t>{0});
  // The source is unchanged.
  EXPECT_EQ(read_bytes(src, 0x10000 + 123, data.size()), data);
}

TEST(SparseMemory, CopyOfUntouchedSourcePagesZeroFillsDestination) {
  SparseMemory src(kCapacity), dst(kCapacity);
  // Source: page 0 written, page 1 untouched, page 2 written.
  const std::vector<uint8_t> p0 = pattern(kPage, 3), p2 = pattern(kPage, 4);
  src.write(0, p0.data(), kPage);
  src.write(2 * kPage, p2.data(), kPage);
  // Destination holds stale data everywhere the copy lands.
  dst.fill(0x100000, 0xCC, 3 * kPage);
  SparseMemory::copy(src, 0, dst, 0x100000, 3 * kPage);
  EXPECT_EQ(read_bytes(dst, 0x100000, kPage), p0);
  EXPECT_EQ(read_bytes(dst, 0x100000 + kPage, kPage), std::vector<uint8_t>(kPage, 0));
  EXPECT_EQ(read_bytes(dst, 0x100000 + 2 * kPage, kPage), p2);
}

TEST(SparseMemory, UnalignedCopyFromUntouchedSourceZeroFills) {
  SparseMemory src(kCapacity), dst(kCapacity);
  dst.fill(5000, 0xCC, 3 * kPage);
  SparseMemory::copy(src, 777, dst, 5000, 3 * kPage);
  EXPECT_EQ(read_bytes(dst, 5000, 3 * kPage), std::vector<uint8_t>(3 * kPage, 0));
}

TEST(SparseMemory, CopyOfUntouchedSourceToUntouchedDestinationAllocatesNothing) {
  SparseMemory src(kCapacity), dst(kCapacity);
  SparseMemory::copy(src, 0, dst, 0, 64 * kPage);
  EXPECT_EQ(dst.pages_allocated(), 0u);
}

TEST(SparseMemory, CopyWithinOneMemory) {
  SparseMemory m(kCapacity);
  const std::vector<uint8_t> data = pattern(kPage + 17, 5);
  m.write(100, data.data(), data.size());
  SparseMemory::copy(m, 100, m, 10 * kPage + 50, data.size());
  EXPECT_EQ(read_bytes(m, 10 * kPage + 50, data.size()), data);
  EXPECT_EQ(read_bytes(m, 100, data.size()), data);
}

TEST(SparseMemory, ContainsBounds) {
  SparseMemory m(kCapacity);
  EXPECT_EQ(m.capacity(), kCapacity);
  EXPECT_TRUE(m.contains(0, kCapacity));
  EXPECT_TRUE(m.contains(kCapacity - 1, 1));
  EXPECT_TRUE(m.contains(kCapacity, 0));
  EXPECT_FALSE(m.contains(kCapacity, 1));
  EXPECT_FALSE(m.contains(kCapacity - 1, 2));
  EXPECT_FALSE(m.contains(0, kCapacity + 1));
  EXPECT_FALSE(m.contains(kCapacity + 1, 0));
}

TEST(SparseMemory, ContainsDoesNotWrapAround) {
  SparseMemory m(kCapacity);
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  EXPECT_FALSE(m.contains(max, 2));
  EXPECT_FALSE(m.contains(16, max));
  EXPECT_FALSE(m.contains(max - 10, 20));
}

TEST(SparseMemory, ZerosWrittenToUntouchedPagesAllocateNothing) {
  SparseMemory m(kCapacity);
  const std::vector<uint8_t> zeros(3 * kPage, 0);
  m.write(kPage, zeros.data(), zeros.size());
  EXPECT_EQ(m.pages_allocated(), 0u);
  EXPECT_EQ(m.read64(kPage + 8), 0u);
  // Over data already there, zeros are written.
  m.write64(2 * kPage, 0xFFFFFFFFFFFFFFFFULL);
  m.write(2 * kPage, zeros.data(), 8);
  EXPECT_EQ(m.read64(2 * kPage), 0u);
  EXPECT_EQ(m.pages_allocated(), 1u);
}

// The page index grows (rehashes) many times over; every page keeps its own bytes, pages
// never written stay zero, and alternating between pages defeats the last-page cache.
TEST(SparseMemory, ThousandsOfScatteredPagesKeepTheirOwnBytes) {
  SparseMemory m(kCapacity);
  constexpr uint64_t kPages = 5000;
  // Scattered over the address space, with neighbours (page + 1) left untouched.
  auto page_of = [](uint64_t i) { return (i * 2654435761ULL) % (kCapacity / kPage / 2) * 2; };
  for (uint64_t i = 0; i < kPages; ++i) m.write64(page_of(i) * kPage + 8 * (i % 512), i + 1);
  EXPECT_EQ(m.pages_allocated(), kPages);
  for (uint64_t i = 0; i < kPages; ++i) {
    ASSERT_EQ(m.read64(page_of(i) * kPage + 8 * (i % 512)), i + 1) << "page " << i;
    ASSERT_EQ(m.read64((page_of(i) + 1) * kPage + 8 * (i % 512)), 0u) << "neighbour of page " << i;
    ASSERT_EQ(m.read64(page_of(kPages - 1 - i) * kPage + 8 * ((kPages - 1 - i) % 512)), kPages - i);
  }
  // Writing again to an existing page does not allocate another.
  m.write64(page_of(17) * kPage, 99);
  EXPECT_EQ(m.pages_allocated(), kPages);
  EXPECT_EQ(m.read64(page_of(17) * kPage), 99u);
}
