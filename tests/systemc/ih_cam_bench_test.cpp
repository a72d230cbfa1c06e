// The interrupt handler's retry CAM and interrupt moderation on a bench (the same bench as
// ih_rings_bench_test.cpp): a retry fault already in the CAM is suppressed before the ring;
// a new one takes the lowest free index, carried in src_data[2] bits 9:0; a full CAM drops;
// the doorbell frees an index; with moderation the MSI waits for the coalescing timer.
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

  std::vector<IhEntry> ih1;
  uint64_t first_entry_ps = 0;
  uint64_t msi_ps = 0;
};

constexpr uint64_t kPageA = 0x100000, kPageB = 0x200000, kPageC = 0x300000;

void Bench::run() {
  const auto fault = [this](uint64_t page) { post(ih_client::kUtcl2, ih_src::kUtcl2Fault, mmu::encode_fault(page, true, false)); };
  fault(kPageA);
  fault(kPageA);
  fault(kPageA);  // both suppressed: A is pending in the CAM
  fault(kPageB);
  fault(kPageC);  // the 2-entry CAM is full: dropped
  // The moderated MSI: the first IH0 entry (the self-interrupt) is written after the first
  // fault; its MSI must wait moderation_ns.
  while (first_entry_ps == 0 || msi_ps == 0) {
    if (first_entry_ps == 0 && read32(kRing0) != 0) first_entry_ps = now_ps();
    if (msi_ps == 0 && read32(kMsi) == kMsiData) msi_ps = now_ps();
    sc_core::wait(sc_core::sc_time(1, sc_core::SC_NS));
  }
  settle();
  // The driver handled A: the doorbell frees index 0, and A may fault again.
  reg_write(regs::kIhRetryCamDoorbell, 0);
  settle();
  fault(kPageA);
  settle();
  for (uint32_t i = 0; i < 3; ++i) ih1.push_back(entry(kRing1 + i * kIhEntryBytes));
  sc_core::sc_stop();
}

TEST(IhCamBench, SuppressesPendingFaultsDropsWhenFullAndFreesOnDoorbell) {
  config::InterruptHandler cfg;
  cfg.set_dedup(config::InterruptHandler::HARDWARE_CAM);
  cfg.set_cam_entries(2);
  cfg.set_moderation_ns(500);
  Bench b("bench", cfg);
  sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_MS));

  ASSERT_EQ(b.ih1.size(), 3u);
  EXPECT_EQ(mmu::fault_address(b.ih1[0].src_data), kPageA);
  EXPECT_EQ(b.ih1[0].src_data[2] & regs::kIhCamIndexMask, 0u);
  EXPECT_EQ(mmu::fault_address(b.ih1[1].src_data), kPageB);
  EXPECT_EQ(b.ih1[1].src_data[2] & regs::kIhCamIndexMask, 1u);
  EXPECT_EQ(mmu::fault_address(b.ih1[2].src_data), kPageA);  // again, after the ack
  EXPECT_EQ(b.ih1[2].src_data[2] & regs::kIhCamIndexMask, 0u);
  EXPECT_EQ(ih_stat("cam_suppressed"), 2);
  EXPECT_EQ(ih_stat("cam_full_drops"), 1);
  EXPECT_EQ(ih_stat("cam_acks"), 1);
  EXPECT_EQ(ih_stat("cam_max_entries"), 2);
  EXPECT_EQ(ih_stat("ring1_entries"), 3);
  EXPECT_EQ(ih_stat("dropped_entries"), 1);
  // Moderation: the MSI is written moderation_ns after the entry that asked for it (the
  // entry and the MSI take the same path to memory).
  ASSERT_GT(b.msi_ps, b.first_entry_ps);
  EXPECT_NEAR(static_cast<double>(b.msi_ps - b.first_entry_ps) / 1000.0, 500.0, 2.0);
  EXPECT_EQ(ih_stat("moderated_msis"), 1);
}

}  // namespace
}  // namespace fl::hw
