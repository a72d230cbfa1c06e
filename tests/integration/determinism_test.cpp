// A run is a pure function of config, inputs and seed: host-time fields aside, two runs
// with the same seed write identical stats.json files.
#include <filesystem>

#include <gtest/gtest.h>

#include "harness.h"

namespace fl::test {
namespace {

nlohmann::json without_host_fields(nlohmann::json meta) {
  for (auto it = meta.begin(); it != meta.end();) {
    it = it.key().rfind("host_", 0) == 0 ? meta.erase(it) : std::next(it);
  }
  return meta;
}

const char* kRandom =
    "op { mmap { name: \"buf\" size_bytes: 8388608 } }\n"
    "op { launch { range: \"buf\" pattern: RANDOM cus: 4 waves_per_cu: 4 accesses_per_wave: 2000 write_fraction: 0.3 } }\n"
    "op { wait {} }\n";

TEST(Determinism, SameSeedSameStats) {
  const std::string d = temp_dir("det");
  const std::string wl = workload(d, kRandom);
  const RunResult a = run_faultline({"run", "--quiet", "--workload", wl, "--seed", "7"}, d + "/a");
  const RunResult b = run_faultline({"run", "--quiet", "--workload", wl, "--seed", "7"}, d + "/b");
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(a.stats, b.stats);
  EXPECT_EQ(without_host_fields(a.meta), without_host_fields(b.meta));
  EXPECT_TRUE(a.meta.contains("host_seconds"));
}

TEST(Determinism, DifferentSeedDifferentRandomStream) {
  const std::string d = temp_dir("det");
  const std::string wl = workload(d, kRandom);
  const RunResult a = run_faultline({"run", "--quiet", "--workload", wl, "--seed", "7"}, d + "/a");
  const RunResult b = run_faultline({"run", "--quiet", "--workload", wl, "--seed", "8"}, d + "/b");
  ASSERT_EQ(a.status, 0);
  ASSERT_EQ(b.status, 0);
  EXPECT_NE(a.stats.at("soc.gpu.cu.writes"), b.stats.at("soc.gpu.cu.writes"));
  EXPECT_EQ(a.num("soc.gpu.cu.accesses"), b.num("soc.gpu.cu.accesses"));
}

}  // namespace
}  // namespace fl::test
