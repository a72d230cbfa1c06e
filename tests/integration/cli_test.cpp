// The command line: help, exit statuses, and every input-error path naming its file, line
// or key.
#include <gtest/gtest.h>

#include "harness.h"
#include "sim/core/params.h"

namespace fl::test {
namespace {


TEST(Cli, HelpListsCommandsAndExitStatuses) {
  const RunResult r = run_faultline({"--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* s : {"run", "params", "version", "Exit status", "  2  bad usage", "  3  the simulation"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
  }
}

TEST(Cli, PerCommandHelpListsOptions) {
  const RunResult r = run_faultline({"run", "--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* s : {"--config", "--set", "--workload", "--out", "--seed", "--quiet"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
  }
  EXPECT_EQ(run_faultline({"params", "--help"}).status, 0);
}

TEST(Cli, UnknownCommandOrOptionIsBadUsage) {
  EXPECT_EQ(run_faultline({}).status, 2);
  const RunResult a = run_faultline({"frobnicate"});
  EXPECT_EQ(a.status, 2);
  EXPECT_NE(a.err.find("unknown command 'frobnicate'"), std::string::npos);
  const RunResult b = run_faultline({"run", "--no-such-option"});
  EXPECT_EQ(b.status, 2);
  EXPECT_NE(b.err.find("no-such-option"), std::string::npos);
}

TEST(Cli, VersionNamesBuild) {
  const RunResult r = run_faultline({"version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("faultline 0."), std::string::npos);
  EXPECT_NE(r.out.find("SystemC 2.3"), std::string::npos);
}

TEST(Cli, UnknownSetKeyNamesKeyAndSuggestsOne) {
  const RunResult r = run_faultline({"run", "--set", "no.such.key=1"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("no.such.key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean '"), std::string::npos) << r.err;
  const RunResult typo = run_faultline({"run", "--set", "soc.gpu.utcl2.entires=8"});
  EXPECT_EQ(typo.status, 2);
  EXPECT_NE(typo.err.find("did you mean 'soc.gpu.utcl2.entries'"), std::string::npos) << typo.err;
}

TEST(Cli, OutOfRangeSetNamesTheRange) {
  const RunResult r = run_faultline({"run", "--set", "soc.gpu.utcl2.entries=0"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("soc.gpu.utcl2.entries"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[1, 1048576]"), std::string::npos) << r.err;
}

TEST(Cli, MalformedSetValueIsBadInput) {
  EXPECT_EQ(run_faultline({"run", "--set", "soc.pcie.gen=fast"}).status, 2);
  EXPECT_EQ(run_faultline({"run", "--set", "soc.pcie.gen"}).status, 2);
  const RunResult e = run_faultline({"run", "--set", "soc.host_link=PCI"});
  EXPECT_EQ(e.status, 2);
  EXPECT_NE(e.err.find("PCIE"), std::string::npos) << e.err;
}

TEST(Cli, ConfigSyntaxErrorNamesFileAndLine) {
  const std::string d = temp_dir("cli");
  const std::string cfg = write_file(d, "bad.textproto", "name: \"x\"\nsoc {\n  gpu {\n    clock_mhz 1700\n  }\n}\n");
  const RunResult r = run_faultline({"run", "--config", cfg});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(cfg + ":4:"), std::string::npos) << r.err;
}

TEST(Cli, ConfigUnknownFieldSuggests) {
  const std::string d = temp_dir("cli");
  const std::string cfg = write_file(d, "typo.textproto", "soc {\n  pcie { lanse: 8 }\n}\n");
  const RunResult r = run_faultline({"run", "--config", cfg});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(cfg + ":2:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean \"lanes\""), std::string::npos) << r.err;
}

TEST(Cli, ConfigOutOfRangeNamesFileLineAndRange) {
  const std::string d = temp_dir("cli");
  const std::string cfg = write_file(d, "range.textproto", "soc {\n  pcie {\n    gen: 9\n  }\n}\n");
  const RunResult r = run_faultline({"run", "--config", cfg});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(cfg + ":3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[1, 6]"), std::string::npos) << r.err;
}

TEST(Cli, MalformedSeedIsBadInput) {
  for (const char* s : {"-1", "12x", ""}) {
    const RunResult r = run_faultline({"run", "--quiet", "--seed", s});
    EXPECT_EQ(r.status, 2) << s;
    EXPECT_NE(r.err.find("--seed"), std::string::npos) << r.err;
  }
}

TEST(Cli, MissingBaseNamesTheFileThatExtendsIt) {
  const std::string d = temp_dir("cli");
  const std::string cfg = write_file(d, "child.textproto", "base: \"missing.textproto\"\n");
  const RunResult r = run_faultline({"run", "--config", cfg});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("missing.textproto"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the base of " + cfg), std::string::npos) << r.err;
}

TEST(Cli, MissingConfigFileIsBadInput) {
  const RunResult r = run_faultline({"run", "--config", "/nonexistent/x.textproto"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("/nonexistent/x.textproto"), std::string::npos);
}

TEST(Cli, CrossParameterConstraintNamesKeys) {
  const RunResult r = run_faultline({"run", "--set", "soc.gpu.utcl2.entries=100", "--set", "soc.gpu.utcl2.ways=16"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("soc.gpu.utcl2.entries"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("soc.gpu.utcl2.ways"), std::string::npos) << r.err;
}

TEST(Cli, WorkloadErrorsNameFileAndLine) {
  const std::string d = temp_dir("cli");
  const std::string wl = workload(d,
                                  "op { mmap { name: \"a\" size_bytes: 4096 } }\n"
                                  "op { launch { range: \"b\" } }\n");
  const RunResult r = run_faultline({"run", "--workload", wl});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(wl + ":3: op 2 (launch)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'b'"), std::string::npos) << r.err;

  const std::string too_many = workload(d, "op { mmap { name: \"a\" size_bytes: 4096 } }\n"
                                           "op { launch { range: \"a\" waves_per_cu: 99 } }\n");
  const RunResult w = run_faultline({"run", "--workload", too_many});
  EXPECT_EQ(w.status, 2);
  EXPECT_NE(w.err.find("soc.gpu.cu.max_waves_per_cu"), std::string::npos) << w.err;

  const std::string syntax = write_file(d, "syntax.textproto", "op { mmap { name: \"a\" size_bytes: -1 } }\n");
  const RunResult s = run_faultline({"run", "--workload", syntax});
  EXPECT_EQ(s.status, 2);
  EXPECT_NE(s.err.find(syntax + ":1:"), std::string::npos) << s.err;
}

TEST(Cli, UnwritableOutputDirectoryIsBadInput) {
  const std::string d = temp_dir("cli");
  const std::string file = write_file(d, "not-a-dir", "x");
  const RunResult r = run_faultline({"run", "--quiet"}, file + "/sub");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
}

TEST(Cli, TimeLimitIsASimulationError) {
  const RunResult r = run_faultline({"run", "--quiet", "--set", "sim.max_time_ns=20000"});
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("sim.max_time_ns"), std::string::npos) << r.err;
}

TEST(Cli, WatchdogStopsARunWithoutForwardProgress) {
  // A fault handler that takes longer than the watchdog period to wake up.
  const std::string d = temp_dir("cli");
  const RunResult r = run_faultline({"run", "--set", "driver.irq.worker_wakeup_ns=50000000",
                               "--set", "sim.watchdog_ns=10000000"}, d);
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("no forward progress"), std::string::npos) << r.err;
  // The outputs are still written, for diagnosis.
  EXPECT_EQ(r.meta.at("exit_status").get<int>(), 3);
}

TEST(Cli, ParamsListsEveryParameterWithTypeDefaultUnitAndDescription) {
  const RunResult r = run_faultline({"params"});
  ASSERT_EQ(r.status, 0);
  for (const auto& p : params::all()) {
    const auto at = r.out.find("  " + p.key + "  ");
    ASSERT_NE(at, std::string::npos) << p.key;
    const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
    EXPECT_NE(line.find(params::type_name(p)), std::string::npos) << line;
    EXPECT_NE(line.find("default " + params::default_string(p)), std::string::npos) << line;
    EXPECT_NE(line.find("unit " + p.spec().unit()), std::string::npos) << line;
    EXPECT_NE(r.out.find(p.spec().desc(), at), std::string::npos) << p.key;
  }
}

TEST(Cli, ParamsWithConfigShowsValuesAndOrigins) {
  const RunResult r = run_faultline({"params", "--config", std::string(FAULTLINE_SOURCE_DIR) + "/configs/mi300a-apu.textproto"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("soc.host_link  enum {PCIE, ON_DIE}  value ON_DIE (" ), std::string::npos) << r.out.substr(0, 2000);
  EXPECT_NE(r.out.find("mi300a-apu.textproto:"), std::string::npos);
}

TEST(Cli, AWorkloadTheHostCannotHoldIsRefusedBeforeItRuns) {
  // 16 TiB of host memory (the largest soc.host.dram), touched once per page by the GPU:
  // hundreds of GiB of per-page state. Refused up front with exit 2, not killed by the OOM
  // killer later.
  const std::string d = temp_dir("cli_host_memory");
  const RunResult r = run_faultline(
      {"run", "--quiet", "--set", "soc.host.dram.capacity_bytes=17592186044416", "--workload",
       workload(d, "op { mmap { name: \"buf\" size_bytes: 17592186044416 } }\n"
                   "op { launch { range: \"buf\" pattern: STRIDED stride_bytes: 4096 } }\n"
                   "op { wait {} }\n")});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("of host memory for the models' per-page state"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("op 2 (launch)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fl::test
