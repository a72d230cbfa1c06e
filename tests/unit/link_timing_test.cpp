// PCIe link timing policy (hw/link_timing.h): per-generation rates and encodings, raw
// bandwidth, TLP splitting of payloads and read requests, and config validation.
#include <cstdint>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/unit_support.h"

#include "hw/link_timing.h"
#include "sim/core/errors.h"
#include "sim/core/schema.h"

namespace {

using fl::test::input_error;
using fl::test::TempDir;

using fl::hw::PcieTiming;
using fl::hw::Wire;

struct Link {
  uint32_t gen = 4;
  uint32_t lanes = 16;
  uint32_t mps = 256;
  uint32_t mrrs = 512;
  uint32_t overhead = 24;
  double latency_ns = 400;
};

fl::config::PcieLink pcie(const Link& l) {
  fl::config::PcieLink c;
  c.set_gen(l.gen);
  c.set_lanes(l.lanes);
  c.set_max_payload_bytes(l.mps);
  c.set_max_read_request_bytes(l.mrrs);
  c.set_tlp_overhead_bytes(l.overhead);
  c.set_latency_ns(l.latency_ns);
  return c;
}

PcieTiming timing(const Link& l) { return PcieTiming(pcie(l), "soc.pcie"); }

// The message of the fl::InputError `f` throws; fails the test if it throws nothing else.

void expect_wire(const Wire& w, uint64_t bytes, uint64_t packets) {
  EXPECT_EQ(w.bytes, bytes);
  EXPECT_EQ(w.packets, packets);
}

}  // namespace

TEST(PcieTiming, TransferRatePerGeneration) {
  EXPECT_EQ(PcieTiming::transfer_rate_gt_per_s(1), 2.5);
  EXPECT_EQ(PcieTiming::transfer_rate_gt_per_s(2), 5.0);
  EXPECT_EQ(PcieTiming::transfer_rate_gt_per_s(3), 8.0);
  EXPECT_EQ(PcieTiming::transfer_rate_gt_per_s(4), 16.0);
  EXPECT_EQ(PcieTiming::transfer_rate_gt_per_s(5), 32.0);
}

TEST(PcieTiming, EncodingEfficiencyPerGeneration) {
  EXPECT_DOUBLE_EQ(PcieTiming::encoding_efficiency(1), 0.8);
  EXPECT_DOUBLE_EQ(PcieTiming::encoding_efficiency(2), 0.8);
  for (uint32_t gen = 3; gen <= 5; ++gen) {
    EXPECT_DOUBLE_EQ(PcieTiming::encoding_efficiency(gen), 128.0 / 130.0) << "Gen" << gen;
  }
}

TEST(PcieTiming, WireBandwidthGen4x16) {
  EXPECT_DOUBLE_EQ(timing(Link{}).wire_gb_per_s(), 16.0 * 16 * 128 / 130 / 8);
}

TEST(PcieTiming, WireBandwidthScalesWithLanesAndGeneration) {
  Link l;
  l.gen = 1;
  l.lanes = 1;
  EXPECT_DOUBLE_EQ(timing(l).wire_gb_per_s(), 0.25);  // 2.5 GT/s * 8/10 / 8
  l.gen = 3;
  l.lanes = 8;
  EXPECT_DOUBLE_EQ(timing(l).wire_gb_per_s(), 8.0 * 8 * 128 / 130 / 8);
  l.gen = 5;
  l.lanes = 16;
  EXPECT_DOUBLE_EQ(timing(l).wire_gb_per_s(), 32.0 * 16 * 128 / 130 / 8);
}

TEST(PcieTiming, LatencyFromConfig) {
  Link l;
  l.latency_ns = 412.5;
  EXPECT_EQ(timing(l).latency(), sc_core::sc_time(412.5, sc_core::SC_NS));
}

TEST(PcieTiming, DataSplitsPayloadIntoMaxPayloadTlps) {
  const PcieTiming t = timing(Link{});
  expect_wire(t.data(0), 24, 1);  // a zero-length TLP still goes on the wire
  expect_wire(t.data(1), 1 + 24, 1);
  expect_wire(t.data(256), 256 + 24, 1);
  expect_wire(t.data(257), 257 + 2 * 24, 2);
  expect_wire(t.data(4096), 4096 + 16 * 24, 16);
}

TEST(PcieTiming, DataFollowsConfiguredPayloadSizeAndOverhead) {
  Link l;
  l.mps = 128;
  l.overhead = 20;
  const PcieTiming t = timing(l);
  expect_wire(t.data(4096), 4096 + 32 * 20, 32);
  expect_wire(t.data(129), 129 + 2 * 20, 2);
}

TEST(PcieTiming, ReadRequestSplitsAtMaxReadRequestSize) {
  const PcieTiming t = timing(Link{});
  expect_wire(t.read_request(1), 24, 1);
  expect_wire(t.read_request(512), 24, 1);
  expect_wire(t.read_request(513), 2 * 24, 2);
  expect_wire(t.read_request(4096), 8 * 24, 8);
}

TEST(PcieTiming, DescribeNamesGenerationAndWidth) {
  const std::string d = timing(Link{}).describe();
  EXPECT_NE(d.find("Gen4"), std::string::npos) << d;
  EXPECT_NE(d.find("x16"), std::string::npos) << d;
}

TEST(PcieTiming, AcceptsEveryValidLaneCount) {
  for (uint32_t lanes : {1u, 2u, 4u, 8u, 12u, 16u, 32u}) {
    Link l;
    l.lanes = lanes;
    EXPECT_NO_THROW(timing(l)) << lanes << " lanes";
  }
}

TEST(PcieTiming, InvalidLaneCountThrowsNamingTheKey) {
  for (uint32_t lanes : {0u, 3u, 5u, 24u, 64u}) {
    Link l;
    l.lanes = lanes;
    const std::string msg = input_error([&] { timing(l); });
    EXPECT_NE(msg.find("soc.pcie.lanes"), std::string::npos) << msg;
  }
}

TEST(PcieTiming, NonPowerOfTwoMaxPayloadThrowsNamingTheKey) {
  Link l;
  l.mps = 200;
  const std::string msg = input_error([&] { timing(l); });
  EXPECT_NE(msg.find("soc.pcie.max_payload_bytes"), std::string::npos) << msg;
}

TEST(PcieTiming, NonPowerOfTwoMaxReadRequestThrowsNamingTheKey) {
  Link l;
  l.mrrs = 768;
  const std::string msg = input_error([&] { timing(l); });
  EXPECT_NE(msg.find("soc.pcie.max_read_request_bytes"), std::string::npos) << msg;
}

TEST(PcieTiming, ErrorUsesTheGivenKeyPrefix) {
  Link l;
  l.lanes = 3;
  const std::string msg = input_error([&] { PcieTiming(pcie(l), "platform.link"); });
  EXPECT_EQ(msg.rfind("platform.link.lanes", 0), 0u) << msg;
}
