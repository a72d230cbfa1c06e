// The run's output directory: the three files, their format, and what the summary says.
#include <filesystem>

#include <gtest/gtest.h>

#include "harness.h"

namespace fl::test {
namespace {

namespace fs = std::filesystem;

class DefaultRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(temp_dir("default"));
    run_ = new RunResult(run_faultline({"run"}, *dir_));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete run_;
    delete dir_;
  }
  static const RunResult& run() { return *run_; }
  static std::string* dir_;
  static RunResult* run_;
};
std::string* DefaultRun::dir_ = nullptr;
RunResult* DefaultRun::run_ = nullptr;

TEST_F(DefaultRun, SucceedsAndWritesThreeFilesWhole) {
  ASSERT_EQ(run().status, 0) << run().err;
  for (const char* f : {"stats.json", "stats.txt", "config.resolved.textproto"}) {
    EXPECT_TRUE(fs::is_regular_file(fs::path(*dir_) / f)) << f;
  }
  for (const auto& e : fs::directory_iterator(*dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  }
}

TEST_F(DefaultRun, HeadlineFaultStats) {
  EXPECT_GT(run().num("fault.count"), 0);
  const auto& lat = run().stats.at("fault.latency_ns");
  for (const char* f : {"count", "mean", "p50", "p95", "p99", "max"}) EXPECT_TRUE(lat.contains(f)) << f;
  EXPECT_LE(lat.at("p50").get<double>(), lat.at("p95").get<double>());
  EXPECT_LE(lat.at("p95").get<double>(), lat.at("p99").get<double>());
  EXPECT_LE(lat.at("p99").get<double>(), lat.at("max").get<double>());
}

TEST_F(DefaultRun, PhaseMeansSumToLatencyMean) {
  int phases = 0;
  double sum = 0;
  for (const auto& [key, value] : run().stats.items()) {
    if (key.rfind("fault.phase.", 0) == 0 && key.size() > 3 && key.compare(key.size() - 3, 3, "_ns") == 0) {
      ++phases;
      EXPECT_EQ(value.at("count").get<double>(), run().num("fault.count")) << key;
      sum += value.at("mean").get<double>();
    }
  }
  EXPECT_GE(phases, 5);
  const double mean = run().hist("fault.latency_ns", "mean");
  EXPECT_NEAR(sum, mean, 0.01 * mean);
  // Each faulted access is partitioned exactly, so the sum holds to rounding.
  EXPECT_NEAR(sum, mean, 1e-6 * mean);
}

TEST_F(DefaultRun, MetaHoldsRunIdentityAndHostFields) {
  const auto& m = run().meta;
  for (const char* k : {"version", "git_hash", "seed", "config_digest", "sim_time_ns", "host_seconds",
                        "kernel_events", "host_accesses_per_second", "gpu_accesses"}) {
    EXPECT_TRUE(m.contains(k)) << k;
  }
  EXPECT_EQ(m.at("seed").get<uint64_t>(), 1u);
  EXPECT_GT(m.at("sim_time_ns").get<double>(), 0);
  EXPECT_GT(m.at("kernel_events").get<double>(), 0);
  EXPECT_EQ(m.at("gpu_accesses").get<double>(), run().num("soc.gpu.cu.accesses"));
}

TEST_F(DefaultRun, StatsTextIsGem5Style) {
  const std::string txt = read_file((fs::path(*dir_) / "stats.txt").string());
  // "name value # description (unit)"
  const auto at = txt.find("\nfault.count ");
  ASSERT_NE(at, std::string::npos);
  const std::string line = txt.substr(at + 1, txt.find('\n', at + 1) - at - 1);
  EXPECT_NE(line.find(" # "), std::string::npos) << line;
  EXPECT_EQ(line.back(), ')') << line;
  EXPECT_NE(txt.find("fault.latency_ns::p99 "), std::string::npos);
}

TEST_F(DefaultRun, StatsAreNamedByTheModuleHierarchy) {
  for (const char* k : {"soc.gpu.utcl2.lookups", "soc.gpu.walker.walks", "soc.pcie.up.wire_bytes",
                        "soc.gpu.ih.entries", "soc.gpu.sdma.copy_bytes", "driver.irq.filtered",
                        "driver.svm.faults", "driver.migrate.migrations", "soc.host.cpu.utilisation"}) {
    EXPECT_TRUE(run().has(k)) << k;
  }
}

TEST_F(DefaultRun, SummaryShowsFaultsLatencyAndBreakdown) {
  for (const char* s : {"GPU page faults:", "fault latency: mean", "breakdown", "migration", "replay", "total"}) {
    EXPECT_NE(run().out.find(s), std::string::npos) << s;
  }
}

TEST_F(DefaultRun, ResolvedConfigReproducesTheRun) {
  const std::string d = temp_dir("again");
  const RunResult again = run_faultline({"run", "--quiet", "--config", (fs::path(*dir_) / "config.resolved.textproto").string()}, d);
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.meta.at("config_digest"), run().meta.at("config_digest"));
  EXPECT_EQ(again.stats.at("fault.latency_ns"), run().stats.at("fault.latency_ns"));
  fs::remove_all(d);
}

TEST(Outputs, QuietPrintsNothing) {
  const RunResult r = run_faultline({"run", "--quiet"});
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.out.empty()) << r.out;
}

}  // namespace
}  // namespace fl::test
