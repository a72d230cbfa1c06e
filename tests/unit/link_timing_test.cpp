// PCIe link timing policy (hw/link_timing.h): per-generation rates and encodings (Gen6
// FLIT mode), raw bandwidth, TLP headers and framing per TLP type, MPS/MRRS splitting,
// completions split at the read completion boundary, DLLP accounting, config validation;
// and the flow-control credit pool (hw/host_link.h).
#include <cstdint>
#include <functional>
#include <numeric>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/unit_support.h"

#include "hw/host_link.h"
#include "hw/link_timing.h"
#include "sim/core/errors.h"
#include "sim/core/schema.h"

namespace {

using fl::test::input_error;
using fl::test::TempDir;

using fl::hw::CreditPool;
using fl::hw::FcClass;
using fl::hw::PcieTiming;
using fl::hw::Tlp;
using fl::hw::TlpList;

struct Link {
  uint32_t gen = 4;
  uint32_t lanes = 16;
  uint32_t mps = 256;
  uint32_t mrrs = 512;
  uint32_t rcb = 64;
  uint32_t max_cpl = 256;
  uint32_t tlps_per_ack = 4;
  double latency_ns = 250;
  double rc_ns = 150;
};

fl::config::PcieLink pcie(const Link& l) {
  fl::config::PcieLink c;
  c.set_gen(l.gen);
  c.set_lanes(l.lanes);
  c.set_max_payload_bytes(l.mps);
  c.set_max_read_request_bytes(l.mrrs);
  c.set_read_completion_boundary_bytes(l.rcb);
  c.set_max_completion_bytes(l.max_cpl);
  c.set_tlps_per_ack(l.tlps_per_ack);
  c.set_latency_ns(l.latency_ns);
  c.set_root_complex_latency_ns(l.rc_ns);
  return c;
}

PcieTiming timing(const Link& l) { return PcieTiming(pcie(l), "soc.pcie"); }

double wire(const TlpList& t) {
  return std::accumulate(t.begin(), t.end(), 0.0, [](double a, const Tlp& x) { return a + x.wire_bytes; });
}
std::vector<uint32_t> payloads(const TlpList& t) {
  std::vector<uint32_t> v;
  for (const Tlp& x : t) v.push_back(x.payload);
  return v;
}

}  // namespace

TEST(PcieTiming, TransferRatePerGeneration) {
  EXPECT_EQ(PcieTiming::transfer_rate_gt_per_s(1), 2.5);
  EXPECT_EQ(PcieTiming::transfer_rate_gt_per_s(2), 5.0);
  EXPECT_EQ(PcieTiming::transfer_rate_gt_per_s(3), 8.0);
  EXPECT_EQ(PcieTiming::transfer_rate_gt_per_s(4), 16.0);
  EXPECT_EQ(PcieTiming::transfer_rate_gt_per_s(5), 32.0);
  EXPECT_EQ(PcieTiming::transfer_rate_gt_per_s(6), 64.0);
}

TEST(PcieTiming, EncodingEfficiencyPerGeneration) {
  EXPECT_DOUBLE_EQ(PcieTiming::encoding_efficiency(1), 0.8);
  EXPECT_DOUBLE_EQ(PcieTiming::encoding_efficiency(2), 0.8);
  for (uint32_t gen = 3; gen <= 5; ++gen) {
    EXPECT_DOUBLE_EQ(PcieTiming::encoding_efficiency(gen), 128.0 / 130.0) << "Gen" << gen;
  }
  EXPECT_DOUBLE_EQ(PcieTiming::encoding_efficiency(6), 1.0);  // PAM4, FLIT overhead per byte
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
  l.gen = 6;
  EXPECT_DOUBLE_EQ(timing(l).wire_gb_per_s(), 64.0 * 16 / 8);
}

TEST(PcieTiming, LatencyIsLinkPlusRootComplex) {
  Link l;
  l.latency_ns = 312.5;
  l.rc_ns = 100;
  EXPECT_EQ(timing(l).latency(), sc_core::sc_time(412.5, sc_core::SC_NS));
}

TEST(PcieTiming, WritesSplitAtMaxPayloadWith4DwHeaderAndFraming) {
  const PcieTiming t = timing(Link{});
  TlpList w;
  t.write(0, 0, w);  // a zero-length write still sends a TLP
  EXPECT_EQ(w.size(), 1u);
  EXPECT_DOUBLE_EQ(wire(w), 16 + 8);
  w.clear();
  t.write(0, 257, w);
  EXPECT_EQ(payloads(w), (std::vector<uint32_t>{256, 1}));
  EXPECT_DOUBLE_EQ(wire(w), 257 + 2 * 24);
  for (const Tlp& x : w) EXPECT_EQ(x.fc, FcClass::kPosted);
  w.clear();
  t.write(0, 4096, w);
  EXPECT_EQ(w.size(), 16u);
  EXPECT_DOUBLE_EQ(wire(w), 4096 + 16 * 24);
}

TEST(PcieTiming, ReadRequestsSplitAtMaxReadRequestSize) {
  const PcieTiming t = timing(Link{});
  for (auto [len, n] : {std::pair<uint64_t, size_t>{1, 1}, {512, 1}, {513, 2}, {4096, 8}}) {
    TlpList r;
    t.read_request(0, len, r);
    EXPECT_EQ(r.size(), n) << len;
    EXPECT_DOUBLE_EQ(wire(r), 24.0 * static_cast<double>(n)) << len;
    for (const Tlp& x : r) {
      EXPECT_EQ(x.fc, FcClass::kNonPosted);
      EXPECT_EQ(x.payload, 0u);
    }
  }
}

TEST(CompletionSplit, AlignedReadSplitsAtMaxCompletionSize) {
  EXPECT_EQ(PcieTiming::split_completions(0x1000, 512, 64, 256), (std::vector<uint32_t>{256, 256}));
  EXPECT_EQ(PcieTiming::split_completions(0x1000, 512, 64, 64), std::vector<uint32_t>(8, 64));
  EXPECT_EQ(PcieTiming::split_completions(0x1000, 8, 64, 256), (std::vector<uint32_t>{8}));
}

TEST(CompletionSplit, UnalignedStartEndsFirstCompletionOnTheBoundary) {
  // 0x1030..0x1230: the first completion may not cross beyond an RCB boundary within 256.
  EXPECT_EQ(PcieTiming::split_completions(0x1030, 512, 64, 256), (std::vector<uint32_t>{208, 256, 48}));
  EXPECT_EQ(PcieTiming::split_completions(0x1030, 512, 128, 256), (std::vector<uint32_t>{208, 256, 48}));
  EXPECT_EQ(PcieTiming::split_completions(0x1030, 100, 64, 64), (std::vector<uint32_t>{16, 64, 20}));
  // With RCB 128 and 128-byte completions, an address 64 bytes in gets a 64-byte first one.
  EXPECT_EQ(PcieTiming::split_completions(0x1040, 256, 128, 128), (std::vector<uint32_t>{64, 128, 64}));
}

TEST(CompletionSplit, EveryCompletionButTheLastEndsOnTheBoundaryAndTheyAddUp) {
  for (uint64_t addr : {0ULL, 4ULL, 60ULL, 100ULL, 4032ULL}) {
    for (uint64_t len : {1ULL, 63ULL, 64ULL, 300ULL, 4096ULL}) {
      for (uint32_t rcb : {64u, 128u}) {
        const auto v = PcieTiming::split_completions(addr, len, rcb, 256);
        uint64_t a = addr;
        for (size_t i = 0; i < v.size(); ++i) {
          EXPECT_LE(v[i], 256u);
          a += v[i];
          if (i + 1 < v.size()) {
            EXPECT_EQ(a % rcb, 0u) << addr << "+" << len;
          }
        }
        EXPECT_EQ(a, addr + len);
      }
    }
  }
}

TEST(PcieTiming, CompletionsUse3DwHeadersAndAreCompletedPerReadRequest) {
  const PcieTiming t = timing(Link{});
  TlpList c;
  t.completions(0, 1024, c);  // two 512-byte requests, 256-byte completions
  EXPECT_EQ(payloads(c), (std::vector<uint32_t>{256, 256, 256, 256}));
  EXPECT_DOUBLE_EQ(wire(c), 1024 + 4 * (12 + 8));
  for (const Tlp& x : c) EXPECT_EQ(x.fc, FcClass::kCompletion);
  Link l;
  l.max_cpl = 64;
  c.clear();
  timing(l).completions(0x20, 64, c);
  EXPECT_EQ(payloads(c), (std::vector<uint32_t>{32, 32}));
}

TEST(PcieTiming, Gen6FlitModeHasNoPerTlpFramingButFlitOverhead) {
  Link l;
  l.gen = 6;
  const PcieTiming t = timing(l);
  EXPECT_TRUE(t.flit_mode());
  TlpList w;
  t.write(0, 256, w);
  EXPECT_DOUBLE_EQ(wire(w), (256.0 + 16) * 256 / 236);
  EXPECT_DOUBLE_EQ(t.dllp_bytes(100), 0.0);  // DLLPs ride in the flits
}

TEST(PcieTiming, DllpsAreAnAckAndAnUpdateFcPerTlpsPerAck) {
  Link l;
  l.tlps_per_ack = 4;
  EXPECT_DOUBLE_EQ(timing(l).dllp_bytes(4), 16.0);
  l.tlps_per_ack = 1;
  EXPECT_DOUBLE_EQ(timing(l).dllp_bytes(4), 64.0);
}

TEST(PcieTiming, DataCreditsAreFourDwordUnits) {
  EXPECT_EQ((Tlp{FcClass::kPosted, 0, 0}).data_credits(), 0u);
  EXPECT_EQ((Tlp{FcClass::kPosted, 1, 0}).data_credits(), 1u);
  EXPECT_EQ((Tlp{FcClass::kPosted, 16, 0}).data_credits(), 1u);
  EXPECT_EQ((Tlp{FcClass::kPosted, 17, 0}).data_credits(), 2u);
  EXPECT_EQ((Tlp{FcClass::kCompletion, 256, 0}).data_credits(), 16u);
}

TEST(CreditPool, InfiniteNeverStalls) {
  CreditPool p(0);
  for (uint64_t t = 0; t < 100; ++t) EXPECT_EQ(p.acquire(t, 1000000), t);
}

TEST(CreditPool, TakesFreeCreditsAtOnce) {
  CreditPool p(4);
  EXPECT_EQ(p.acquire(10, 1), 10u);
  EXPECT_EQ(p.acquire(11, 3), 11u);
  EXPECT_EQ(p.free_at(11), 0u);
}

TEST(CreditPool, WaitsForTheReturnThatMakesEnoughFree) {
  CreditPool p(4);
  p.acquire(0, 4);
  p.release_at(100, 1);
  p.release_at(200, 2);
  p.release_at(300, 1);
  EXPECT_EQ(p.free_at(150), 1u);
  EXPECT_EQ(p.acquire(50, 3), 200u);  // 1 back at 100, 2 more at 200
  EXPECT_EQ(p.acquire(210, 1), 300u);
  EXPECT_EQ(p.free_at(300), 0u);
}

TEST(CreditPool, ReturnsAlreadyDueAreCountedWithoutWaiting) {
  CreditPool p(2);
  p.acquire(0, 2);
  p.release_at(5, 2);
  EXPECT_EQ(p.acquire(10, 2), 10u);
}

TEST(CreditPool, ThroughputIsCreditsOverTheReturnLoop) {
  // 8 credits, each returned 100 ps after it is taken, one wanted every 1 ps: the sender
  // gets 8 per 100 ps.
  CreditPool p(8);
  uint64_t t = 0;
  for (int i = 0; i < 80; ++i) {
    t = p.acquire(t, 1);
    p.release_at(t + 100, 1);
    ++t;
  }
  EXPECT_GE(t, 900u);
  EXPECT_LE(t, 1000u);
}

TEST(PcieTiming, RejectsAReadCompletionBoundaryOtherThan64Or128) {
  Link l;
  l.rcb = 96;
  const std::string msg = input_error([&] { timing(l); });
  EXPECT_NE(msg.find("soc.pcie.read_completion_boundary_bytes"), std::string::npos) << msg;
}

TEST(PcieTiming, RejectsAMaxCompletionBelowTheBoundary) {
  Link l;
  l.rcb = 128;
  l.max_cpl = 64;
  const std::string msg = input_error([&] { timing(l); });
  EXPECT_NE(msg.find("soc.pcie.max_completion_bytes"), std::string::npos) << msg;
}

TEST(PcieTiming, DescribeNamesGenerationAndWidth) {
  const std::string d = timing(Link{}).describe();
  EXPECT_NE(d.find("Gen4"), std::string::npos) << d;
  EXPECT_NE(d.find("x16"), std::string::npos) << d;
  Link l;
  l.gen = 6;
  EXPECT_NE(timing(l).describe().find("FLIT"), std::string::npos);
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
