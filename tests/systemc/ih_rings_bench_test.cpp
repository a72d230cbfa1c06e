// The interrupt handler on a bench: sources post interrupts, its ring writes land in one
// Memory (standing for host memory), the host's register writes come from a bench
// initiator. A full IH1 drops new retry faults (one slot stays free) and announces what it
// holds by a self-interrupt on IH0; a full IH0 overwrites its oldest entries and flags the
// overflow in the WPTR write-back; one MSI is raised until the host writes RPTR; the entries
// decode to what was posted (hw/ih_entry.h, amdgpu_ih_decode_iv_helper layout).
#include <cstring>
#include <vector>

#include <gtest/gtest.h>
#include <systemc>

#include "hw/gpu_regs.h"
#include "hw/ih_entry.h"
#include "hw/interrupt_handler.h"
#include "hw/memory.h"
#include "tests/systemc/ih_bench.h"
#include "mmu/fault_report.h"
#include "sim/core/interrupt.h"
#include "sim/core/time.h"

namespace fl::hw {
namespace {

struct Bench : IhBench {
  using IhBench::IhBench;
  void run() override;

  // Observations, checked by the test after the run.
  uint32_t msi_after_first = 0;
  IhEntry self;
  std::vector<IhEntry> ih1;
  uint32_t wb_after_overflow = 0;
  std::vector<IhEntry> ih0;
  uint64_t post_ps = 0;
};

const std::string kNames[] = {"entries", "ring1_entries", "ring1_drops", "self_interrupts", "msis",
                              "overflows", "overwritten", "fault_entries", "dropped_entries"};

void Bench::run() {
  // IH1 is 128 bytes: 3 entries fit (one slot stays free), the 4th and 5th retry faults drop.
  post_ps = now_ps();
  for (uint32_t i = 0; i < 5; ++i) {
    post(ih_client::kUtcl2, ih_src::kUtcl2Fault, mmu::encode_fault(0x7f0000000000ULL + i * 0x1000, true, i % 2 == 1));
  }
  settle();
  msi_after_first = read32(kMsi);
  self = entry(kRing0);
  for (uint32_t i = 0; i < 3; ++i) ih1.push_back(entry(kRing1 + i * kIhEntryBytes));
  // IH0 (128 bytes, 4 entries) already holds the self-interrupt; 6 traps make 7 entries:
  // the last 3 overwrite the oldest unread ones.
  for (uint32_t i = 0; i < 6; ++i) post(ih_client::kSdma0, ih_src::kSdmaTrap, {100 + i, 0, 0, 0});
  settle();
  wb_after_overflow = read32(kWb);
  for (uint32_t i = 0; i < 4; ++i) ih0.push_back(entry(kRing0 + i * kIhEntryBytes));
  // The host clears the overflow and catches up: RPTR = WPTR, no further MSI.
  reg_write(regs::kIhRbCntl, regs::kIhRbCntlWptrOverflowClear);
  reg_write(regs::kIhRbRptr, wb_after_overflow & ~1u);
  reg_write(regs::kIhRbRptrRing1, 3 * kIhEntryBytes);
  settle();
  sc_core::sc_stop();
}

TEST(IhRingsBench, Ih1DropsWhenFullIh0OverwritesAndFlagsOverflow) {
  config::InterruptHandler cfg;
  cfg.set_ring_bytes(128);
  cfg.set_ring1_bytes(128);
  Bench b("bench", cfg);
  sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_MS));

  // IH1: three retry faults in order, decoded as posted (gmc_v9_0 payload).
  ASSERT_EQ(b.ih1.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    const IhEntry& e = b.ih1[i];
    EXPECT_EQ(e.client_id, ih_client::kUtcl2);
    EXPECT_EQ(e.src_id, ih_src::kUtcl2Fault);
    EXPECT_EQ(e.vmid, 8);
    EXPECT_EQ(e.pasid, 0x8000);
    EXPECT_EQ(mmu::fault_address(e.src_data), 0x7f0000000000ULL + i * 0x1000);
    EXPECT_TRUE(mmu::fault_retry(e.src_data));
    EXPECT_EQ(mmu::fault_write(e.src_data), i % 2 == 1);
    // Stamped by the IH's counter after its per-entry latency, in order.
    EXPECT_GT(e.timestamp, b.ih.timestamp_at(ps(b.post_ps)) + 0);
    if (i > 0) {
      EXPECT_GE(e.timestamp, b.ih1[i - 1].timestamp);
    }
  }
  EXPECT_EQ(ih_stat("ring1_entries"), 3);
  EXPECT_EQ(ih_stat("ring1_drops"), 2);
  EXPECT_EQ(ih_stat("fault_entries"), 5);
  // The self-interrupt announcing IH1's first entry (WPTR 32) on IH0; no second one until
  // the host writes IH1's RPTR. One MSI.
  EXPECT_EQ(b.self.client_id, ih_client::kIh);
  EXPECT_EQ(b.self.src_id, ih_src::kIhSelf);
  EXPECT_EQ(b.self.ring_id, 1);
  EXPECT_EQ(b.self.src_data[0], kIhEntryBytes);
  EXPECT_EQ(ih_stat("self_interrupts"), 1);
  EXPECT_EQ(b.msi_after_first, kMsiData);

  // IH0: 7 entries into 4 slots. WPTR = 7 x 32 mod 128 = 96, bit 0 = overflow.
  EXPECT_EQ(b.wb_after_overflow, 96u | 1u);
  EXPECT_EQ(ih_stat("entries"), 7);
  EXPECT_EQ(ih_stat("overflows"), 1);
  EXPECT_EQ(ih_stat("overwritten"), 3);
  EXPECT_EQ(ih_stat("dropped_entries"), 2 + 3);
  // Self-interrupt then traps 100..105 into slots 0,1,2,3,0,1,2: slots 0-2 now hold traps
  // 103-105 (overwriting), slot 3 trap 102, the oldest intact entry (just past WPTR).
  ASSERT_EQ(b.ih0.size(), 4u);
  EXPECT_EQ(b.ih0[0].src_data[0], 103u);
  EXPECT_EQ(b.ih0[1].src_data[0], 104u);
  EXPECT_EQ(b.ih0[2].src_data[0], 105u);
  EXPECT_EQ(b.ih0[3].src_data[0], 102u);
  EXPECT_EQ(b.ih0[3].client_id, ih_client::kSdma0);
  EXPECT_EQ(b.ih0[3].src_id, ih_src::kSdmaTrap);
  // One MSI until the host's RPTR write; catching up to WPTR raises none.
  EXPECT_EQ(ih_stat("msis"), 1);
  EXPECT_TRUE(b.ih.idle());
}

}  // namespace
}  // namespace fl::hw
