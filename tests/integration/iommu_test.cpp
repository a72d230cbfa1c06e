// The IOMMU end to end: DMA to an IOVA the driver never mapped (an IO page fault, reported,
// not a crash), a PRI round trip (page request, PPR log, driver, PRG response, retried
// translation), an ATS invalidation (driver unmap, INVALIDATE_IOTLB_PAGES, the ATC's
// completion, COMPLETION_WAIT), and the calibration of configs/h200-like.textproto.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"

namespace fl::test {
namespace {

const std::vector<std::string> kTranslated = {"--set", "soc.iommu.mode=TRANSLATED"};
const std::vector<std::string> kAts = {"--set", "soc.iommu.mode=TRANSLATED", "--set", "soc.iommu.ats=true"};
const std::vector<std::string> kPri = {"--set", "soc.iommu.mode=TRANSLATED", "--set", "soc.iommu.ats=true",
                                       "--set", "soc.iommu.pri=true"};

RunResult run_ops(const std::string& ops, const std::vector<std::string>& extra) {
  const std::string d = temp_dir("iommu");
  std::vector<std::string> args = {"run", "--workload", workload(d, ops)};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_faultline(args, d + "/out");
}

// An 8 KiB copy from a host buffer the driver did not dma_map: two 4 KiB bursts.
const char* kUnmappedCopy = "op { dma_copy { direction: H2D bytes: 8192 skip_dma_map: true } }\n";

TEST(Iommu, DmaToAnUnmappedIovaIsAnIoPageFaultReportedNotACrash) {
  const RunResult r = run_ops(kUnmappedCopy, kTranslated);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("soc.iommu.io_page_faults"), 2);       // one per 4 KiB read burst
  EXPECT_EQ(r.num("soc.iommu.events"), 2);               // written to the event log
  // The second fault arrives before the handler acknowledged the first interrupt: one
  // interrupt, and the handler reads both entries.
  EXPECT_EQ(r.num("soc.iommu.interrupts"), 1);
  EXPECT_EQ(r.num("driver.iommu.io_page_faults"), 2);    // read and reported by the driver
  EXPECT_EQ(r.hist("workload.dma_copy_ns", "count"), 1);  // the copy's job still completed
  // The report names the device, domain, address and flags as the kernel prints it.
  EXPECT_NE(r.out.find("IOMMU: 2 IO page faults"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("IO_PAGE_FAULT device=03:00.0 domain=0x0001 address=0x"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("AMD-Vi: Event logged [IO_PAGE_FAULT"), std::string::npos) << r.err;
}

TEST(Iommu, TheSameCopyWithTheBufferMappedOrInPassThroughDoesNotFault) {
  const RunResult mapped = run_ops("op { dma_copy { direction: H2D bytes: 8192 } }\n", kTranslated);
  ASSERT_EQ(mapped.status, 0) << mapped.err;
  EXPECT_EQ(mapped.num("soc.iommu.io_page_faults"), 0);
  EXPECT_GT(mapped.num("soc.iommu.walks"), 0);
  const RunResult pt = run_ops(kUnmappedCopy, {});
  ASSERT_EQ(pt.status, 0) << pt.err;
  EXPECT_EQ(pt.num("soc.iommu.io_page_faults"), 0);
  EXPECT_EQ(pt.num("soc.iommu.walks"), 0);
  EXPECT_GT(pt.num("soc.iommu.passthrough"), 0);
}

TEST(Iommu, PriRoundTripFaultsInEveryPageOnce) {
  // 16 pages of process memory mapped on the GPU in system memory; with PRI the driver
  // does not dma_map them, so the first DMA to each page makes a page request.
  const RunResult r = run_ops(
      "op { svm_alloc { name: \"buf\" size_bytes: 65536 preferred_loc: SYSMEM } }\n"
      "op { prefetch { range: \"buf\" location: SYSMEM } }\n"
      "op { launch { range: \"buf\" pattern: STRIDED stride_bytes: 4096 cus: 1 waves_per_cu: 1 "
      "outstanding_per_wave: 1 accesses_per_wave: 32 } }\n"
      "op { wait {} }\n",
      kPri);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("soc.gpu.cu.accesses"), 32);
  // Page request -> PPR log -> interrupt -> driver maps -> COMPLETE_PPR -> PRG response.
  EXPECT_EQ(r.num("soc.gpu.atc.page_requests"), 16);
  EXPECT_EQ(r.num("soc.iommu.ppr_requests"), 16);
  EXPECT_EQ(r.num("driver.iommu.ppr_resolved"), 16);
  EXPECT_EQ(r.num("driver.iommu.ppr_invalid"), 0);
  EXPECT_EQ(r.num("soc.iommu.ppr_responses"), 16);
  EXPECT_EQ(r.num("soc.gpu.atc.prg_responses_success"), 16);
  // Each page: a translation request before and after its page request; the second pass
  // over the 16 pages hits the ATC. The prefetch's PTE update adds four driver pages,
  // mapped at start-up, translated at once: the copy-engine ring, the fence, the IH ring
  // and the IH write-back page.
  EXPECT_EQ(r.num("soc.gpu.atc.translation_requests"), 2 * 16 + 4);
  EXPECT_EQ(r.num("soc.gpu.atc.hits"), 16);
  EXPECT_EQ(r.num("soc.iommu.io_page_faults"), 0);
  EXPECT_EQ(r.num("soc.gpu.atc.untranslated"), 0);
  // A request's service covers at least the driver's interrupt entry, its PPR work and
  // the command it queues.
  const auto& d = r.config.driver().iommu();
  EXPECT_GE(r.hist("soc.iommu.ppr_service_ns", "min"), d.isr_ns() + d.ppr_ns() + d.command_ns());
  // ... and the ATC waited for all of it plus two link round trips.
  const auto& p = r.config.soc().pcie();
  EXPECT_GE(r.hist("soc.gpu.atc.translation_ns", "max"),
            r.hist("soc.iommu.ppr_service_ns", "min") + 4 * (p.latency_ns() + p.root_complex_latency_ns()));
}

TEST(Iommu, PriForMemoryTheProcessDoesNotOwnFailsAndFaults) {
  const RunResult r = run_ops(kUnmappedCopy, kPri);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("soc.gpu.atc.page_requests"), 2);
  EXPECT_EQ(r.num("driver.iommu.ppr_invalid"), 2);
  EXPECT_EQ(r.num("soc.gpu.atc.prg_responses_failure"), 2);
  EXPECT_EQ(r.num("soc.gpu.atc.untranslated"), 2);  // sent on untranslated...
  EXPECT_EQ(r.num("soc.iommu.io_page_faults"), 2);  // ... and faulted at the IOMMU
}

TEST(Iommu, AtsInvalidationCompletesBeforeTheUnmapReturns) {
  // A migration dma_maps its 512 source pages for the copy (the ATC caches some of their
  // translations) and unmaps them after it: the invalidation reaches the ATC.
  const char* ops = "op { mmap { name: \"buf\" size_bytes: 2097152 } }\n"
                    "op { launch { range: \"buf\" cus: 1 waves_per_cu: 1 outstanding_per_wave: 1 accesses_per_wave: 1 } }\n"
                    "op { wait {} }\n";
  const RunResult r = run_ops(ops, kAts);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("driver.migrate.migrations"), 1);
  EXPECT_EQ(r.num("driver.iommu.flushes"), 1);
  EXPECT_EQ(r.num("driver.iommu.unmapped_io_pages"), 512);
  EXPECT_EQ(r.num("soc.iommu.invalidations"), 1);
  EXPECT_EQ(r.num("soc.iommu.ats_invalidations"), 1);
  EXPECT_EQ(r.num("soc.gpu.atc.invalidations"), 1);
  EXPECT_EQ(r.num("soc.iommu.ats_invalidation_completions"), 1);
  const double atc_entries = r.config.soc().gpu().atc().entries();
  EXPECT_GT(r.num("soc.gpu.atc.invalidated_entries"), 0);
  EXPECT_LE(r.num("soc.gpu.atc.invalidated_entries"), atc_entries);
  // COMPLETION_WAIT held until the invalidation went down the link and its completion came
  // back up, so the driver's unmap waited at least two one-way latencies (the IOMMU itself
  // waits less: it reaches the COMPLETION_WAIT after the driver has queued it).
  const auto& p = r.config.soc().pcie();
  const double round_trip = 2 * (p.latency_ns() + p.root_complex_latency_ns());
  EXPECT_GT(r.hist("soc.iommu.completion_wait_ns", "min"), 0);
  EXPECT_GE(r.hist("driver.iommu.flush_ns", "min"), round_trip);

  // Without ATS the same unmap invalidates the IOMMU only and its wait is immediate.
  const RunResult no_ats = run_ops(ops, kTranslated);
  ASSERT_EQ(no_ats.status, 0) << no_ats.err;
  EXPECT_EQ(no_ats.num("soc.iommu.ats_invalidations"), 0);
  EXPECT_EQ(no_ats.hist("soc.iommu.completion_wait_ns", "max"), 0);
  EXPECT_EQ(no_ats.num("soc.iommu.invalidations"), 1);
  EXPECT_GT(no_ats.num("soc.iommu.invalidated_entries"), 0);
}

TEST(Iommu, AtsNeedsTranslationAndPriNeedsAts) {
  RunResult r = run_faultline({"run", "--quiet", "--set", "soc.iommu.ats=true"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("soc.iommu.ats = true needs soc.iommu.mode = TRANSLATED"), std::string::npos) << r.err;
  r = run_faultline({"run", "--quiet", "--set", "soc.iommu.mode=TRANSLATED", "--set", "soc.iommu.pri=true"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("soc.iommu.pri = true needs soc.iommu.ats = true"), std::string::npos) << r.err;
}

TEST(Iommu, CacheGeometryErrorsNameTheKeys) {
  RunResult r = run_faultline({"run", "--quiet", "--set", "soc.iommu.iotlb_entries=100"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("soc.iommu.iotlb_entries = 100: must be a multiple of soc.iommu.iotlb_ways (8)"), std::string::npos) << r.err;
  r = run_faultline({"run", "--quiet", "--set", "soc.iommu.mode=TRANSLATED", "--set", "soc.iommu.ats=true",
                     "--set", "soc.gpu.atc.ways=48"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("soc.gpu.atc.entries = 64: must be a multiple of soc.gpu.atc.ways (48)"), std::string::npos) << r.err;
}

TEST(Iommu, DefaultRunIsPassThrough) {
  const RunResult r = run_faultline({"run", "--quiet"}, temp_dir("iommu-default") + "/out");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("soc.iommu.walks"), 0);
  EXPECT_EQ(r.num("soc.iommu.passthrough"), r.num("soc.iommu.dma_reads") + r.num("soc.iommu.dma_writes"));
}

// The PCIe and memory targets of docs/calibration.md, as scripts/calibrate_pcie_memory.py
// checks them.
double run_calibration(const std::string& workload_name, const char* key, const char* field) {
  const std::string d = temp_dir("calibration");
  const RunResult r = run_faultline({"run", "--quiet", "--config", std::string(FAULTLINE_SOURCE_DIR) + "/configs/h200-like.textproto",
                                     "--workload", std::string(FAULTLINE_SOURCE_DIR) + "/traces/workloads/calibration/" + workload_name + ".textproto"},
                                    d + "/out");
  EXPECT_EQ(r.status, 0) << r.err;
  if (std::string(field) == "gb_per_s") {
    return r.num("workload.dma_copy_bytes") / (r.hist(key, "mean") * r.hist(key, "count"));
  }
  return r.hist(key, field);
}

TEST(Calibration, H200LikeLargeCopyBandwidth) {
  EXPECT_NEAR(run_calibration("copy_h2d_64MiB", "workload.dma_copy_ns", "gb_per_s"), 54.8, 54.8 * 0.10);
}

TEST(Calibration, H200LikeSmallCopyTime) {
  EXPECT_NEAR(run_calibration("copy_h2d_4KiB", "workload.dma_copy_ns", "p50"), 4200, 4200 * 0.25);
}

TEST(Calibration, H200LikeZeroCopyRead) {
  EXPECT_NEAR(run_calibration("zero_copy_read", "soc.gpu.cu.access_ns", "p50"), 1180, 1180 * 0.20);
}

}  // namespace
}  // namespace fl::test

namespace fl::test {
namespace {

// Flow control: with only two posted-header credits at the root port, device-to-host
// writes (posted, 256-byte TLPs) can have two TLPs outstanding per credit loop: serialise,
// cross the link, free the buffer and return the credit by UpdateFC.
TEST(PcieCredits, TooFewPostedCreditsBoundWriteBandwidthByTheCreditLoop) {
  const std::string ops = "op { dma_copy { direction: D2H bytes: 1048576 } }\n";
  const RunResult open = run_ops(ops, {});
  const RunResult tight = run_ops(ops, {"--set", "soc.pcie.root_port_credits.posted_header=2"});
  ASSERT_EQ(open.status, 0) << open.err;
  ASSERT_EQ(tight.status, 0) << tight.err;
  EXPECT_EQ(open.num("soc.pcie.up.credit_stalls"), 0);
  // The TLPs go in pairs: the first of each pair waits for a credit, the second finds the
  // other credit back just as the first has left (2 x 2048 = 4096 TLPs of 256 bytes).
  EXPECT_GE(tight.num("soc.pcie.up.credit_stalls"), 2000);
  EXPECT_GT(tight.num("soc.pcie.up.credit_stall_ns"), 0);
  const auto& p = tight.config.soc().pcie();
  const double raw = 16.0 * 16 * 128 / 130 / 8;                // Gen4 x16, GB/s
  const double ser = (256.0 + 16 + 8) / raw;                   // one write TLP, ns
  const double loop = ser + p.latency_ns() + p.update_fc_latency_ns();
  const double expect = 2 * 256.0 / loop;                      // GB/s
  const double got = tight.num("workload.dma_copy_bytes") / tight.hist("workload.dma_copy_ns", "mean");
  EXPECT_NEAR(got, expect, expect * 0.05) << "credit loop " << loop << " ns";
  const double open_bw = open.num("workload.dma_copy_bytes") / open.hist("workload.dma_copy_ns", "mean");
  EXPECT_GT(open_bw, 10 * got);
}

TEST(PcieCredits, CreditsBelowOneMaxPayloadTlpAreRejected) {
  const RunResult r = run_faultline({"run", "--quiet", "--set", "soc.pcie.endpoint_credits.completion_data=8"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("soc.pcie.endpoint_credits.completion_data = 8"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fl::test
