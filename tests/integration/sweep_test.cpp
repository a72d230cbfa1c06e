// faultline sweep (sim/platform/sweep.h): a 3 x 3 sweep gathers its table; a re-run runs
// nothing; a failing point is recorded and does not stop the sweep; a sweep killed with
// SIGKILL and run again completes its table with every point finished exactly once; a bad
// spec is an input error naming the file.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "harness.h"

namespace fl::test {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> v;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

// Each sweep of SPEC into OUT with one case's extra arguments exits 2 with its message.
void expect_input_errors(const std::string& spec, const std::string& out,
                         const std::vector<std::pair<std::vector<std::string>, std::string>>& cases) {
  for (const auto& [extra, what] : cases) {
    std::vector<std::string> args = {"sweep", spec, "--out", out};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult r = run_faultline(args);
    EXPECT_EQ(r.status, 2) << extra.back();
    EXPECT_NE(r.err.find(what), std::string::npos) << extra.back() << " -> " << r.err;
  }
}

TEST(Sweep, AThreeByThreeSweepGathersItsTableAndARerunRunsNothing) {
  const std::string d = temp_dir("sweep3x3");
  const std::string w = workload(d,
                                 "op { mmap { name: \"buf\" size_bytes: 4194304 } }\n"
                                 "op { launch { range: \"buf\" cus: 1 waves_per_cu: 1 outstanding_per_wave: 1 accesses_per_wave: 2 } }\n"
                                 "op { wait {} }\n");
  const std::string spec = write_file(d, "s.textproto",
                                      "name: \"pcie_granularity\"\nworkload: \"" + w + "\"\n"
                                      "parameter { key: \"soc.pcie.gen\" values: \"3\" values: \"4\" values: \"5\" }\n"
                                      "parameter { key: \"driver.svm.default_granularity\" range { from: 0 to: 9 step: 4.5 integer: true } }\n"
                                      "stat: \"fault.count\"\nstat: \"fault.latency_ns:p50\"\n");
  const RunResult r = run_faultline({"sweep", spec, "--out", d + "/out", "-j", "2"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("9 points (9 run now, 0 done before, 0 failed)"), std::string::npos) << r.out;
  const std::vector<std::string> rows = lines_of(read_file(d + "/out/results.csv"));
  ASSERT_EQ(rows.size(), 10u);
  EXPECT_EQ(rows[0], "point,soc.pcie.gen,driver.svm.default_granularity,status,fault.count,fault.latency_ns:p50");
  EXPECT_EQ(rows[1].rfind("\"soc.pcie.gen=3,driver.svm.default_granularity=0\",3,0,ok,", 0), 0u) << rows[1];
  EXPECT_EQ(rows[9].rfind("\"soc.pcie.gen=5,driver.svm.default_granularity=9\",5,9,ok,", 0), 0u) << rows[9];
  // Each point's own run is there, with the point's values applied.
  const std::string resolved = read_file(d + "/out/points/soc.pcie.gen=5,driver.svm.default_granularity=9/config.resolved.textproto");
  EXPECT_NE(resolved.find("default_granularity: 9"), std::string::npos);
  const RunResult again = run_faultline({"sweep", spec, "--out", d + "/out"});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find("(0 run now, 9 done before"), std::string::npos) << again.out;
  EXPECT_EQ(lines_of(read_file(d + "/out/sweep.log")).size(), 9u);
}

TEST(Sweep, AFailingPointIsRecordedAndTheOthersRun) {
  const std::string d = temp_dir("sweepfail");
  const std::string spec = write_file(d, "s.textproto",
                                      "zip { parameter { key: \"soc.pcie.gen\" values: \"4\" values: \"99\" }\n"
                                      "      parameter { key: \"soc.pcie.lanes\" values: \"16\" values: \"16\" } }\n"
                                      "seed: 1\nstat: \"fault.count\"\n");
  const RunResult r = run_faultline({"sweep", spec, "--out", d + "/out"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> rows = lines_of(read_file(d + "/out/results.csv"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_NE(rows[1].find(",ok,"), std::string::npos) << rows[1];
  EXPECT_NE(rows[2].find(",exit 2,"), std::string::npos) << rows[2];
  const std::string failed = read_file(d + "/out/points/soc.pcie.gen=99,soc.pcie.lanes=16,seed=1/failed.txt");
  EXPECT_NE(failed.find("soc.pcie.gen"), std::string::npos) << failed;
  // A re-run runs nothing and still says the table holds a failure.
  const RunResult again = run_faultline({"sweep", spec, "--out", d + "/out"});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find("(0 run now, 2 done before, 0 failed; 1 failed in all)"), std::string::npos) << again.out;
}

TEST(Sweep, KilledWithSigkillAndRunAgainEveryPointFinishesOnce) {
  const std::string d = temp_dir("sweepkill");
  const std::string spec = write_file(d, "s.textproto",
                                      "parameter { key: \"soc.pcie.gen\" values: \"3\" values: \"4\" values: \"5\" }\n"
                                      "seed: 1\nseed: 2\nseed: 3\nstat: \"fault.count\"\n");
  const std::string out = d + "/out";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execl(FAULTLINE_BIN, FAULTLINE_BIN, "sweep", spec.c_str(), "--out", out.c_str(), "-j", "1", nullptr);
    ::_exit(127);
  }
  // Kill it once two points have finished, while the third runs.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (lines_of(read_file(out + "/sweep.log")).size() < 2 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const size_t before = lines_of(read_file(out + "/sweep.log")).size();
  ASSERT_LT(before, 9u) << "the sweep finished before it could be killed";
  EXPECT_FALSE(std::filesystem::exists(out + "/results.csv"));

  const RunResult r = run_faultline({"sweep", spec, "--out", out});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> rows = lines_of(read_file(out + "/results.csv"));
  ASSERT_EQ(rows.size(), 10u);
  for (size_t i = 1; i < rows.size(); ++i) EXPECT_NE(rows[i].find(",ok,"), std::string::npos) << rows[i];
  std::map<std::string, int> finished;
  for (const std::string& l : lines_of(read_file(out + "/sweep.log"))) ++finished[l];
  EXPECT_EQ(finished.size(), 9u);
  for (const auto& [line, n] : finished) EXPECT_EQ(n, 1) << line;
  // Nothing was left half-written: no temporary file anywhere in the sweep.
  for (const auto& e : std::filesystem::recursive_directory_iterator(out)) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  }
}

TEST(Sweep, ABadSpecIsAnInputErrorNamingTheFile) {
  const std::string d = temp_dir("sweepbad");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"parameter { key: \"soc.pcie.gen\" }\n", "no values and no range"},
      {"zip { parameter { key: \"a\" values: \"1\" } parameter { key: \"b\" values: \"1\" values: \"2\" } }\n", "advance together"},
      {"parameter { key: \"x\" range { from: 1 to: 0 step: 1 } }\n", "below from"},
      {"parameter { key: \"x\" values: \"1\" }\nparameter { key: \"x\" values: \"2\" }\n", "swept twice"},
      {"paramter { key: \"x\" }\n", "s.textproto:1"},
      {"workload: \"missing.textproto\"\n", "does not exist"},
  };
  for (const auto& [text, what] : bad) {
    const RunResult r = run_faultline({"sweep", write_file(d, "s.textproto", text), "--out", d + "/out"});
    EXPECT_EQ(r.status, 2) << text;
    EXPECT_NE(r.err.find(what), std::string::npos) << text << " -> " << r.err;
  }
}

TEST(Sweep, BadExecutorOptionsAreInputErrors) {
  const std::string d = temp_dir("sweepbadopt");
  const std::string spec = write_file(d, "s.textproto", "parameter { key: \"soc.pcie.gen\" values: \"4\" }\n");
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--executor", "pbs"}, "expected local or slurm"},
      {{"--chunk", "4"}, "are for --executor slurm"},
      {{"--slurm-opt=--partition=gpu"}, "are for --executor slurm"},
      {{"--points-from", write_file(d, "points.txt", "soc.pcie.gen=4\nsoc.pcie.gen=5\n")}, "points.txt:2: 'soc.pcie.gen=5' is no point"},
      {{"--points-from", d + "/absent.txt"}, "absent.txt"},
  };
  expect_input_errors(spec, d + "/out", bad);
}

TEST(Sweep, PointsFromRunsOnlyTheNamedPointsAndWritesNoTable) {
  const std::string d = temp_dir("sweepsubset");
  const std::string spec = write_file(d, "s.textproto",
                                      "parameter { key: \"soc.pcie.gen\" values: \"3\" values: \"4\" values: \"5\" }\n"
                                      "stat: \"fault.count\"\n");
  const RunResult r = run_faultline({"sweep", spec, "--out", d + "/out", "--no-table", "--points-from",
                                     write_file(d, "points.txt", "soc.pcie.gen=5\n\nsoc.pcie.gen=3\n")});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("2 points (2 run now, 0 done before, 0 failed)"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(d + "/out/points/soc.pcie.gen=5/stats.json"));
  EXPECT_TRUE(std::filesystem::exists(d + "/out/points/soc.pcie.gen=3/stats.json"));
  EXPECT_FALSE(std::filesystem::exists(d + "/out/points/soc.pcie.gen=4"));
  EXPECT_FALSE(std::filesystem::exists(d + "/out/results.csv"));
  // The whole sweep afterwards runs only the third point and gathers all three.
  const RunResult all = run_faultline({"sweep", spec, "--out", d + "/out"});
  ASSERT_EQ(all.status, 0) << all.err;
  EXPECT_NE(all.out.find("3 points (1 run now, 2 done before, 0 failed)"), std::string::npos) << all.out;
}

TEST(Sweep, WorkloadVariablesExpandPerPoint) {
  const std::string d = temp_dir("sweepvars");
  write_file(d, "w.textproto",
             "op { mmap { name: \"buf\" size_bytes: 4194304 } }\n"
             "op { launch { range: \"buf\" cus: 1 waves_per_cu: ${waves} outstanding_per_wave: 1 accesses_per_wave: 2 } }\n"
             "op { wait {} }\n");
  const std::string spec = write_file(d, "s.textproto",
                                      "workload: \"w.textproto\"\n"
                                      "parameter { key: \"$waves\" values: \"1\" values: \"3\" }\n"
                                      "parameter { key: \"soc.pcie.gen\" values: \"4\" }\n"
                                      "stat: \"fault.count\"\n");
  const RunResult r = run_faultline({"sweep", spec, "--out", d + "/out"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> rows = lines_of(read_file(d + "/out/results.csv"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], "point,waves,soc.pcie.gen,status,fault.count");
  // One wave faults once on the buffer's first block; three waves each fault on their own.
  EXPECT_EQ(rows[1], "\"waves=1,soc.pcie.gen=4\",1,4,ok,1");
  EXPECT_EQ(rows[2], "\"waves=3,soc.pcie.gen=4\",3,4,ok,3");
  EXPECT_NE(read_file(d + "/out/points/waves=3,soc.pcie.gen=4/workload.textproto").find("waves_per_cu: 3 "), std::string::npos);
}

TEST(Sweep, APointStoppedByATimeLimitKeepsItsStatsInTheTable) {
  const std::string d = temp_dir("sweepexit3");
  const std::string spec = write_file(d, "s.textproto",
                                      "parameter { key: \"sim.max_time_ns\" values: \"1000\" }\nstat: \"driver.iommu.maps\"\n");
  const RunResult r = run_faultline({"sweep", spec, "--out", d + "/out"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> rows = lines_of(read_file(d + "/out/results.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].rfind("sim.max_time_ns=1000,1000,exit 3,", 0), 0u) << rows[1];
  EXPECT_NE(rows[1].back(), ',') << "the stats of a run stopped at its time limit are in its row: " << rows[1];
}

TEST(Sweep, CommandLineConfigAndSetApplyToEveryPointAndPinVariables) {
  const std::string d = temp_dir("sweepoverride");
  write_file(d, "w.textproto",
             "op { mmap { name: \"buf\" size_bytes: 4194304 } }\n"
             "op { launch { range: \"buf\" cus: 1 waves_per_cu: ${waves} outstanding_per_wave: 1 accesses_per_wave: 2 } }\n"
             "op { wait {} }\n");
  const std::string spec = write_file(d, "s.textproto",
                                      "workload: \"w.textproto\"\n"
                                      "parameter { key: \"soc.pcie.gen\" values: \"3\" values: \"5\" }\n"
                                      "stat: \"fault.count\"\n");
  const std::string config = std::string(FAULTLINE_SOURCE_DIR) + "/configs/h200-like.textproto";
  const RunResult r = run_faultline({"sweep", spec, "--out", d + "/out", "--config", config, "--set", "$waves=2",
                                     "--set", "soc.pcie.lanes=8"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> rows = lines_of(read_file(d + "/out/results.csv"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1], "soc.pcie.gen=3,3,ok,2");
  const std::string resolved = read_file(d + "/out/points/soc.pcie.gen=5/config.resolved.textproto");
  EXPECT_NE(resolved.find("lanes: 8"), std::string::npos);
  EXPECT_NE(read_file(d + "/out/points/soc.pcie.gen=5/workload.textproto").find("waves_per_cu: 2 "), std::string::npos);
  // The same directory with other overrides would mix two sweeps: refused.
  const RunResult other = run_faultline({"sweep", spec, "--out", d + "/out", "--set", "$waves=3"});
  EXPECT_EQ(other.status, 2);
  EXPECT_NE(other.err.find("holds a sweep run with other --config/--set"), std::string::npos) << other.err;
  // The same options again: nothing to run.
  const RunResult same = run_faultline({"sweep", spec, "--out", d + "/out", "--config", config, "--set", "$waves=2",
                                        "--set", "soc.pcie.lanes=8"});
  ASSERT_EQ(same.status, 0) << same.err;
  EXPECT_NE(same.out.find("(0 run now, 2 done before"), std::string::npos) << same.out;
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--set", "soc.pcie.gen=4"}, "--set soc.pcie.gen: " + spec + " sweeps it"},
      {{"--set", "nokey"}, "expected KEY=VALUE"},
      {{"--config", d + "/none.textproto"}, "none.textproto: no such file"},
      {{"--set", "$waves=1", "--set", "$other=1"}, "'$other': ${other} does not appear in"},
  };
  expect_input_errors(spec, d + "/bad", bad);
}

TEST(Sweep, BadWorkloadVariablesAreInputErrorsNamingTheLine) {
  const std::string d = temp_dir("sweepbadvars");
  write_file(d, "w.textproto", "op { sleep { ns: 10 } }\nop { sleep { ns: ${t} } }\nop { sleep { ns: ${u} } }\n");
  write_file(d, "bad.textproto", "op { sleep { ns: ${1x} } }\n");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"workload: \"w.textproto\"\nparameter { key: \"$t\" values: \"1\" }\n", "w.textproto:3: ${u} is not a variable"},
      {"workload: \"w.textproto\"\nparameter { key: \"soc.pcie.gen\" values: \"4\" }\n", "w.textproto:2: ${t} is not a variable"},
      {"workload: \"bad.textproto\"\nparameter { key: \"$x\" values: \"1\" }\n", "bad.textproto:1: '${' starts no"},
      {"parameter { key: \"$t\" values: \"1\" }\n", "there is no workload"},
      {"workload: \"w.textproto\"\nparameter { key: \"$t-1\" values: \"1\" }\n", "a workload variable is $NAME"},
  };
  for (const auto& [text, what] : bad) {
    const RunResult r = run_faultline({"sweep", write_file(d, "s.textproto", text), "--out", d + "/out"});
    EXPECT_EQ(r.status, 2) << text;
    EXPECT_NE(r.err.find(what), std::string::npos) << text << " -> " << r.err;
  }
}

}  // namespace
}  // namespace fl::test
