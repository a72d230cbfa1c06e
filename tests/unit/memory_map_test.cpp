// The memory model's address map (hw/memory.h): channel interleaving, banks and rows.
#include <gtest/gtest.h>

#include "hw/memory.h"
#include "sim/core/errors.h"

namespace {

fl::hw::MemoryParams params() {
  fl::hw::MemoryParams p{};
  p.bytes = 1ULL << 30;
  p.latency_ns = 100;
  p.bandwidth_gb_per_s = 100;
  p.access_bytes = 64;
  p.channels = 4;
  p.interleave_bytes = 256;
  p.banks = 2;
  p.row_bytes = 1024;
  return p;
}

TEST(MemoryMap, ConsecutiveInterleaveUnitsGoToConsecutiveChannels) {
  fl::hw::Memory m("mem_a", params());
  EXPECT_EQ(m.place(0).channel, 0u);
  EXPECT_EQ(m.place(255).channel, 0u);
  EXPECT_EQ(m.place(256).channel, 1u);
  EXPECT_EQ(m.place(3 * 256).channel, 3u);
  EXPECT_EQ(m.place(4 * 256).channel, 0u);
}

TEST(MemoryMap, RowsFillInsideAChannelThenMoveToTheNextBank) {
  fl::hw::Memory m("mem_b", params());
  // Channel 0 holds units 0, 4, 8, 12 (one 1 KiB row of bank 0), then 16.. in bank 1.
  EXPECT_EQ(m.place(0).bank, 0u);
  EXPECT_EQ(m.place(0).row, 0u);
  EXPECT_EQ(m.place(12 * 256).row, 0u);
  EXPECT_EQ(m.place(12 * 256).bank, 0u);
  EXPECT_EQ(m.place(16 * 256).bank, 1u);
  EXPECT_EQ(m.place(32 * 256).bank, 0u);
  EXPECT_EQ(m.place(32 * 256).row, 1u);
}

TEST(MemoryMap, RejectsInterleaveOrRowNotAPowerOfTwo) {
  auto p = params();
  p.interleave_bytes = 384;
  EXPECT_THROW(fl::hw::Memory("mem_c", p, "soc.gpu.vram"), fl::InputError);
  p = params();
  p.row_bytes = 1000;
  EXPECT_THROW(fl::hw::Memory("mem_d", p, "soc.gpu.vram"), fl::InputError);
}

}  // namespace
