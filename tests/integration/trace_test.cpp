// Recording and replaying traces (sim/platform/trace_io.h): a recorded run replays closed
// loop to the same stats, an open-loop replay issues at the recorded times, and a trace the
// replay cannot use is an input error (exit 2) naming the file and record.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <utility>

#include "harness.h"
#include "sim/trace/trace_file.h"

namespace fl::test {
namespace {

namespace pb = fl::trace::pb;

std::string src(const std::string& rel) { return std::string(FAULTLINE_SOURCE_DIR) + "/" + rel; }

// Every stat of `a` equals `b`'s; prints those that differ.
void expect_same_stats(const RunResult& a, const RunResult& b, const std::string& what) {
  ASSERT_FALSE(a.stats.empty()) << what;
  int differ = 0;
  for (const auto& [k, v] : a.stats.items()) {
    if (!b.stats.contains(k) || b.stats.at(k) != v) {
      if (++differ <= 10) ADD_FAILURE() << what << ": " << k << " recorded " << v << ", replayed " << b.stats.value(k, nlohmann::json());
    }
  }
  EXPECT_EQ(differ, 0) << what;
  EXPECT_EQ(a.stats.size(), b.stats.size()) << what;
}

// (kernel, stream, index) -> the access record, for a whole trace.
std::map<std::tuple<uint32_t, uint32_t, uint64_t>, pb::GpuAccess> accesses(const std::string& path) {
  std::map<std::tuple<uint32_t, uint32_t, uint64_t>, pb::GpuAccess> m;
  trace::Reader r(path);
  pb::Record rec;
  while (r.next(&rec)) {
    if (rec.has_access()) m[{rec.access().kernel(), rec.access().stream(), rec.access().index()}] = rec.access();
  }
  return m;
}

TEST(Trace, ARecordedRunReplaysClosedLoopToTheSameStats) {
  // Random accesses with writes; parked replayable faults (h200-like); fork and COW.
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"random", {"--workload", src("traces/workloads/scenarios/random_16m.textproto"), "--seed", "3"}},
      {"h200", {"--config", src("configs/h200-like.textproto"), "--workload",
                src("traces/workloads/scenarios/wave512_2m.textproto")}},
      {"fork", {"--workload", src("traces/workloads/scenarios/fork_cow.textproto")}},
  };
  for (const auto& [name, args] : cases) {
    const std::string d = temp_dir("trace_rt_" + name);
    const std::string trace = d + "/run.fltrace";
    std::vector<std::string> rec = {"record", trace, "--quiet"};
    rec.insert(rec.end(), args.begin(), args.end());
    const RunResult a = run_faultline(rec, d + "/rec");
    ASSERT_EQ(a.status, 0) << name << ": " << a.err;
    std::vector<std::string> rep = {"replay", trace, "--quiet"};
    for (size_t i = 0; i < args.size(); i += 2) {
      if (args[i] != "--workload") rep.insert(rep.end(), {args[i], args[i + 1]});
    }
    const RunResult b = run_faultline(rep, d + "/rep");
    ASSERT_EQ(b.status, 0) << name << ": " << b.err;
    expect_same_stats(a, b, name);
    EXPECT_EQ(b.meta.at("replay"), "closed-loop");
    EXPECT_EQ(a.meta.at("trace_recorded"), trace);
  }
}

TEST(Trace, OpenLoopIssuesEachAccessAtItsRecordedTimeOrLater) {
  const std::string d = temp_dir("trace_open");
  const std::string first = d + "/first.fltrace";
  const std::string again = d + "/again.fltrace";
  const std::string cfg = src("configs/h200-like.textproto");
  ASSERT_EQ(run_faultline({"record", first, "--quiet", "--config", cfg, "--workload",
                           src("traces/workloads/scenarios/wave512_2m.textproto")}).status, 0);
  const RunResult r = run_faultline({"replay", first, "--open-loop", "--quiet", "--config", cfg, "--record", again}, d + "/out");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.meta.at("replay"), "open-loop");
  const auto before = accesses(first);
  const auto after = accesses(again);
  ASSERT_EQ(before.size(), after.size());
  ASSERT_FALSE(before.empty());
  uint64_t same_time = 0;
  for (const auto& [key, a] : before) {
    const pb::GpuAccess& b = after.at(key);
    EXPECT_EQ(b.offset_bytes(), a.offset_bytes());
    EXPECT_EQ(b.write(), a.write());
    EXPECT_GE(b.issue_ps(), a.issue_ps());
    same_time += b.issue_ps() == a.issue_ps();
  }
  // Nothing holds an open-loop access back but the CU's issue interval.
  EXPECT_EQ(same_time, before.size());
}

// A trace written by the test: an mmap of 2 MiB and a one-wave launch on it, then `extra`.
std::string crafted(const std::string& dir, const std::vector<pb::Record>& extra, bool launch = true) {
  const std::string path = dir + "/crafted.fltrace";
  trace::Writer w(path, pb::Header());
  pb::Record r;
  auto* m = r.mutable_cpu()->mutable_op()->mutable_mmap();
  m->set_name("buf");
  m->set_size_bytes(2 << 20);
  w.write(r);
  if (launch) {
    r.Clear();
    auto* l = r.mutable_cpu()->mutable_op()->mutable_launch();
    l->set_range("buf");
    l->set_cus(1);
    l->set_waves_per_cu(1);
    l->set_outstanding_per_wave(1);
    w.write(r);
  }
  for (const auto& e : extra) w.write(e);
  r.Clear();
  r.mutable_cpu()->mutable_op()->mutable_wait();
  w.write(r);
  w.finish();
  return path;
}

pb::Record access(uint32_t stream, uint64_t index, uint64_t offset, uint32_t size = 64) {
  pb::Record r;
  auto* a = r.mutable_access();
  a->set_stream(stream);
  a->set_index(index);
  a->set_offset_bytes(offset);
  a->set_size_bytes(size);
  return r;
}

TEST(Trace, ACraftedTraceReplaysItsAccesses) {
  const std::string d = temp_dir("trace_crafted");
  // Recorded out of order within the stream, as a recording writes them (by completion).
  const std::string t = crafted(d, {access(0, 1, 8192), access(0, 0, 0), access(0, 2, 4096 * 100)});
  const RunResult r = run_faultline({"replay", t, "--quiet"}, d + "/out");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("soc.gpu.cu.accesses"), 3);
  EXPECT_EQ(r.num("soc.gpu.cu.kernels"), 1);
}

TEST(Trace, TracesTheReplayCannotUseAreInputErrorsNamingTheRecord) {
  const std::string d = temp_dir("trace_bad");
  struct Case {
    std::vector<pb::Record> extra;
    bool launch;
    const char* says;
  };
  const std::vector<Case> cases = {
      {{access(0, 0, 3 << 20)}, true, "beyond the kernel's footprint"},
      {{access(0, 0, 4090, 64)}, true, "crosses a 4 KiB page"},
      {{access(0, 0, 0, 0)}, true, "size_bytes must be 1 to 4096"},
      {{access(5, 0, 0)}, true, "stream 5"},
      {{access(0, 0, 0), access(0, 0, 64)}, true, "two accesses with index 0"},
      {{access(0, 3, 0)}, true, "index 3 is beyond"},
      {{access(0, 0, 0)}, false, "before its launch"},
  };
  for (const Case& c : cases) {
    const std::string t = crafted(d, c.extra, c.launch);
    const RunResult r = run_faultline({"replay", t, "--quiet"});
    EXPECT_EQ(r.status, 2) << c.says << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("crafted.fltrace"), std::string::npos) << r.err;
  }
  const RunResult both = run_faultline({"replay", crafted(d, {}), "--workload", "x.textproto", "--quiet"});
  EXPECT_EQ(both.status, 2) << both.err;
  const RunResult none = run_faultline({"replay", "--quiet"});
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("give the trace file"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace fl::test

namespace fl::test {
namespace {

// Acceptance of issue 13 item 3: a JSON Lines capture of a few thousand accesses, written
// here from a known model run, imports, replays, and the comparison prints its table and
// draws the CDF. Replayed on the config that made it, the capture's latencies come back.
TEST(Trace, AJsonlCaptureOfAModelRunImportsReplaysAndCompares) {
  const std::string d = temp_dir("trace_jsonl");
  const uint64_t footprint = 64ull << 20;
  const std::string w = workload(d,
                                 "op { mmap { name: \"buf\" size_bytes: 67108864 } }\n"
                                 "op { launch { name: \"chase\" range: \"buf\" pattern: POINTER_CHASE stride_bytes: 4096 "
                                 "cus: 32 waves_per_cu: 1 outstanding_per_wave: 1 accesses_per_wave: 100 } }\n"
                                 "op { wait {} }\n");
  const std::string model = d + "/model.fltrace";
  ASSERT_EQ(run_faultline({"record", model, "--quiet", "--workload", w}).status, 0);

  std::string jsonl = "{\"exp\": \"tracecap\", \"name\": \"chase\", \"warps\": 32, \"per_warp\": 100, \"footprint\": " +
                      std::to_string(footprint) + ", \"stride\": 4096, \"order\": \"random\"}\n";
  {
    trace::Reader r(model);
    pb::Record rec;
    while (r.next(&rec)) {
      if (!rec.has_access()) continue;
      const pb::GpuAccess& a = rec.access();
      nlohmann::json j = {{"trace", "chase"}, {"w", a.stream()}, {"i", a.index()}, {"off", a.offset_bytes()},
                          {"t_ns", static_cast<double>(a.issue_ps()) / 1000.0}, {"lat_ns", a.latency_ns()}};
      jsonl += j.dump() + "\n";
    }
  }
  const std::string cap = write_file(d, "cap.jsonl", jsonl);
  const std::string imported = d + "/cap.fltrace";
  const RunResult imp = run_faultline({"import", "jsonl", cap, imported, "--access-bytes", "64"});
  ASSERT_EQ(imp.status, 0) << imp.err;
  EXPECT_NE(imp.out.find("1 experiments, 3200 accesses"), std::string::npos) << imp.out;

  const std::string replayed = d + "/replay.fltrace";
  const RunResult rep = run_faultline({"replay", imported, "--quiet", "--record", replayed});
  ASSERT_EQ(rep.status, 0) << rep.err;
  const auto measured = accesses(imported);
  const auto again = accesses(replayed);
  ASSERT_EQ(measured.size(), 3200u);
  ASSERT_EQ(again.size(), 3200u);
  uint64_t faulted = 0;
  for (const auto& [key, m] : measured) {
    EXPECT_DOUBLE_EQ(again.at(key).latency_ns(), m.latency_ns());
    faulted += again.at(key).faulted();
  }
  EXPECT_GT(faulted, 0u);

  const std::string png = d + "/cdf.png";
  const std::string cmd = "/usr/bin/python3 " + std::string(FAULTLINE_SOURCE_DIR) + "/scripts/compare_traces.py '" +
                          imported + "' '" + replayed + "' --png '" + png + "' > '" + d + "/compare.txt' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(d + "/compare.txt");
  const std::string table = read_file(d + "/compare.txt");
  for (const char* row : {"p50 ns", "p90 ns", "p99 ns", "faulted p99 ns", "over 10000 ns", "span ns", "3,200 accesses matched"}) {
    EXPECT_NE(table.find(row), std::string::npos) << row << "\n" << table;
  }
  const std::string image = read_file(png);
  ASSERT_GT(image.size(), 8u);
  EXPECT_EQ(image.substr(1, 3), "PNG");
}

// A model run's SMI output stands in for a log captured on a real system: imported, replayed
// open-loop, its page faults and migrations happen again at the same addresses, and compare
// matches every event of the log with one of the replay's.
TEST(Trace, AnSmiLogOfAModelRunImportsReplaysAndCompares) {
  const std::string d = temp_dir("trace_smi");
  const std::string w = workload(d,
                                 "op { mmap { name: \"buf\" size_bytes: 67108864 } }\n"
                                 "op { launch { range: \"buf\" cus: 8 waves_per_cu: 2 outstanding_per_wave: 1 "
                                 "accesses_per_wave: 4 pattern: RANDOM } }\n"
                                 "op { wait {} }\n"
                                 "op { cpu_touch { range: \"buf\" size_bytes: 2097152 } }\n");
  const std::string log = d + "/measured.smi";
  const RunResult model = run_faultline({"run", "--quiet", "--workload", w, "--smi-events", log}, d + "/model");
  ASSERT_EQ(model.status, 0) << model.err;
  // The faults the driver logged (some of the model's faulting accesses were on blocks
  // whose migration another fault had started, and made no event of their own).
  double faults = 0;
  {
    std::istringstream in(read_file(log));
    for (std::string l; std::getline(in, l);) faults += l.rfind("7 ", 0) == 0;
  }
  ASSERT_GT(faults, 10);

  const std::string trace = d + "/measured.fltrace";
  const RunResult imp = run_faultline({"import", "smi", log, trace});
  ASSERT_EQ(imp.status, 0) << imp.err;
  EXPECT_NE(imp.out.find("1 CPU touches"), std::string::npos) << imp.out;

  const std::string again = d + "/replay.smi";
  const RunResult rep = run_faultline({"replay", trace, "--open-loop", "--quiet", "--smi-events", again}, d + "/replay");
  ASSERT_EQ(rep.status, 0) << rep.err;
  EXPECT_EQ(rep.num("fault.count"), faults);
  EXPECT_EQ(rep.num("driver.migrate.bytes_pagefault_gpu"), model.num("driver.migrate.bytes_pagefault_gpu"));

  for (const std::string& measured : {log, trace}) {
    const RunResult cmp = run_faultline({"compare", measured, again});
    ASSERT_EQ(cmp.status, 0) << cmp.err;
    EXPECT_NE(cmp.out.find("0 measured events without a simulated match"), std::string::npos) << cmp.out;
    EXPECT_NE(cmp.out.find("0 simulated events without a measured match"), std::string::npos) << cmp.out;
    EXPECT_NE(cmp.out.find("page fault             simulated"), std::string::npos) << cmp.out;
  }

  // A garbled line is an input error naming it; a log of an unknown event number still imports.
  const std::string bad = write_file(d, "bad.smi", read_file(log) + "7 12 -4242 @7f00(cca3\n");
  const RunResult e = run_faultline({"import", "smi", bad, d + "/bad.fltrace"});
  EXPECT_EQ(e.status, 2);
  EXPECT_NE(e.err.find("bad.smi:"), std::string::npos) << e.err;
  const std::string odd = write_file(d, "odd.smi", read_file(log) + "2a something new\n");
  const RunResult o = run_faultline({"import", "smi", odd, d + "/odd.fltrace"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("event number 42: 1 lines skipped"), std::string::npos) << o.out;
}

}  // namespace
}  // namespace fl::test
