// faultline run --timeline (sim/core/timeline.h, drawn by sim/platform/fault_ledger.cpp and
// the hardware and driver models): the file loads back as JSON, slices nest on every track,
// each fault's phase slices add up to its latency, there is one fault slice per faulted
// access, every flow arrow has both ends, each inside a slice of its track; every hardware
// unit and driver thread of the default run has its track, listed before the driver's and
// those before the fault ledger's, and what the tracks draw adds up to the stats of what
// they draw; a queue eviction shows its preemption on the queue's track and the driver's;
// and drawing changes no stat.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "harness.h"

namespace fl::test {
namespace {

struct Slice {
  double ts, end;
  std::string name;
};

// A timeline's slices by track name, each with its args; tracks by name with their sort.
struct Loaded {
  std::map<std::string, std::vector<nlohmann::json>> slices;  // track name -> "X" events
  std::map<std::string, int64_t> sort;
};

Loaded load(const std::string& file) {
  const nlohmann::json j = nlohmann::json::parse(read_file(file));
  std::map<int, std::string> names;
  std::map<int, int64_t> sorts;
  Loaded l;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "thread_name") names[e["tid"]] = e["args"]["name"];
    if (e["ph"] == "M" && e["name"] == "thread_sort_index") sorts[e["tid"]] = e["args"]["sort_index"];
  }
  for (const auto& [tid, n] : names) l.sort[n] = sorts[tid];
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "X") l.slices[names[e["tid"]]].push_back(e);
  }
  return l;
}

// A lane's group: "soc.gpu.walker 3" -> "soc.gpu.walker"; a track without lanes is its own.
std::string group_of(const std::string& track) {
  const size_t sp = track.rfind(' ');
  if (sp == std::string::npos || sp + 1 == track.size()) return track;
  for (size_t i = sp + 1; i < track.size(); ++i) {
    if (track[i] < '0' || track[i] > '9') return track;
  }
  return track.substr(0, sp);
}

// Every slice of every track of `group` named `name` (any name if empty).
std::vector<nlohmann::json> of(const Loaded& l, const std::string& group, const std::string& name = "") {
  std::vector<nlohmann::json> v;
  for (const auto& [track, evs] : l.slices) {
    if (group_of(track) != group) continue;
    for (const auto& e : evs) {
      if (name.empty() || e["name"] == name) v.push_back(e);
    }
  }
  return v;
}

double sum_arg(const std::vector<nlohmann::json>& v, const char* key) {
  double s = 0;
  for (const auto& e : v) {
    if (e.contains("args") && e["args"].contains(key)) s += e["args"][key].get<double>();
  }
  return s;
}

// Slices of one track nest: each lies inside the one open around it, or after it.
void expect_nested(const Loaded& l) {
  const double eps = 1e-6;
  for (const auto& [track, evs] : l.slices) {
    std::vector<Slice> v;
    for (const auto& e : evs) {
      const double ts = e["ts"];
      const double dur = e["dur"];
      EXPECT_GE(dur, 0) << track;
      v.push_back({ts, ts + dur, e["name"]});
    }
    std::sort(v.begin(), v.end(), [](const Slice& a, const Slice& b) { return a.ts != b.ts ? a.ts < b.ts : a.end > b.end; });
    std::vector<const Slice*> open;
    for (const Slice& s : v) {
      while (!open.empty() && s.ts >= open.back()->end - eps) open.pop_back();
      if (!open.empty()) {
        EXPECT_LE(s.end, open.back()->end + eps) << track << ": " << s.name << " at " << s.ts << " overlaps "
                                                 << open.back()->name << " at " << open.back()->ts;
      }
      open.push_back(&s);
    }
  }
}

TEST(Timeline, TheDefaultRunsTimelineLoadsBackNestedWithPhasesSummingToEachFault) {
  const std::string d = temp_dir("timeline");
  const std::string file = d + "/timeline.json";
  const RunResult r = run_faultline({"run", "--quiet", "--timeline", file}, d + "/out");
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(read_file(file));
  ASSERT_TRUE(j.contains("traceEvents"));
  std::map<int, std::vector<Slice>> tracks;
  std::map<int, std::string> names;
  std::map<uint64_t, std::vector<nlohmann::json>> flows;
  for (const auto& e : j["traceEvents"]) {
    const std::string ph = e["ph"];
    if (ph == "M" && e["name"] == "thread_name") names[e["tid"]] = e["args"]["name"];
    if (ph == "X") {
      const double ts = e["ts"];
      const double dur = e["dur"];
      ASSERT_GE(dur, 0);
      tracks[e["tid"]].push_back({ts, ts + dur, e["name"]});
    }
    if (ph == "s" || ph == "f") flows[e["id"]].push_back(e);
  }
  ASSERT_FALSE(tracks.empty());
  const double eps = 1e-6;  // us: the file's times are exact to the ps, parsing rounds
  uint64_t faults = 0, services = 0;
  for (auto& [tid, v] : tracks) {
    ASSERT_TRUE(names.count(tid)) << "track " << tid << " has no name";
    std::sort(v.begin(), v.end(), [](const Slice& a, const Slice& b) { return a.ts != b.ts ? a.ts < b.ts : a.end > b.end; });
    // Nesting: each slice lies inside the one open around it, or after it.
    std::vector<const Slice*> open;
    const Slice* parent = nullptr;
    double children = 0;
    const auto close_parent = [&] {
      if (parent != nullptr && parent->name == "fault") {
        EXPECT_NEAR(children, parent->end - parent->ts, 1e-5) << names[tid] << " fault at " << parent->ts;
      }
    };
    for (const Slice& s : v) {
      while (!open.empty() && s.ts >= open.back()->end - eps) open.pop_back();
      if (!open.empty()) {
        EXPECT_LE(s.end, open.back()->end + eps) << names[tid] << ": " << s.name << " at " << s.ts << " overlaps "
                                                 << open.back()->name << " at " << open.back()->ts;
        children += s.end - s.ts;
      } else {
        close_parent();
        parent = &s;
        children = 0;
        faults += s.name == "fault";
        services += s.name == "service";
      }
      open.push_back(&s);
    }
    close_parent();
  }
  EXPECT_EQ(faults, static_cast<uint64_t>(r.num("fault.count")));
  EXPECT_GT(services, 0u);
  // Flows: a start and an end each, on named tracks, each inside a slice of its track.
  ASSERT_FALSE(flows.empty());
  for (const auto& [id, ends] : flows) {
    ASSERT_EQ(ends.size(), 2u) << "flow " << id;
    std::set<std::string> phs;
    for (const auto& e : ends) {
      phs.insert(e["ph"].get<std::string>());
      const double ts = e["ts"];
      const auto& v = tracks[e["tid"]];
      EXPECT_TRUE(std::any_of(v.begin(), v.end(), [&](const Slice& s) { return s.ts - eps <= ts && ts <= s.end + eps; }))
          << "flow " << id << " end at " << ts << " on " << names[e["tid"]] << " is in no slice";
    }
    EXPECT_EQ(phs, (std::set<std::string>{"s", "f"})) << "flow " << id;
  }
}

TEST(Timeline, TheDefaultRunDrawsEveryHardwareUnitAndDriverThreadAddingUpToTheirStats) {
  const std::string d = temp_dir("timeline_tracks");
  const std::string file = d + "/timeline.json";
  const RunResult r = run_faultline({"run", "--quiet", "--timeline", file}, d + "/out");
  ASSERT_EQ(r.status, 0) << r.err;
  const Loaded l = load(file);
  const std::vector<std::string> hardware = {"soc.gpu.utcl2", "soc.gpu.utcl2.inv_eng17", "soc.gpu.walker", "soc.gpu.ih.ring0",
                                             "soc.gpu.ih.ring1", "soc.gpu.sdma", "soc.pcie.up", "soc.pcie.down",
                                             "soc.gpu.cp.queue q0"};
  const std::vector<std::string> driver = {"driver.irq.isr", "driver.irq.ih1_worker", "driver.svm.restore_pages",
                                           "driver.migrate", "driver.vm", "driver.svm.notifier"};
  std::map<std::string, std::pair<int64_t, int64_t>> sorts;  // group -> (min, max)
  for (const auto& [track, s] : l.sort) {
    auto& mm = sorts.try_emplace(group_of(track), s, s).first->second;
    mm = {std::min(mm.first, s), std::max(mm.second, s)};
  }
  int64_t hw_max = 0, drv_min = INT64_MAX, drv_max = 0;
  for (const std::string& g : hardware) {
    ASSERT_TRUE(sorts.count(g)) << "no track " << g;
    EXPECT_FALSE(of(l, g).empty()) << g << " has no slice";
    hw_max = std::max(hw_max, sorts[g].second);
  }
  for (const std::string& g : driver) {
    ASSERT_TRUE(sorts.count(g)) << "no track " << g;
    EXPECT_FALSE(of(l, g).empty()) << g << " has no slice";
    drv_min = std::min(drv_min, sorts[g].first);
    drv_max = std::max(drv_max, sorts[g].second);
  }
  // Hardware, then the driver, then the fault ledger's lanes.
  EXPECT_LT(hw_max, drv_min);
  EXPECT_LT(drv_max, sorts["fault service"].first);
  EXPECT_LT(drv_max, sorts["faulted access"].first);
  expect_nested(l);

  // What the tracks draw adds up to the stats of the same work.
  EXPECT_EQ(of(l, "soc.gpu.walker").size(), static_cast<size_t>(r.num("soc.gpu.walker.walks")));
  EXPECT_EQ(l.sort.count("soc.gpu.walker " + std::to_string(r.config.soc().gpu().walker().walkers())), 0u)
      << "more walker lanes than walkers";
  EXPECT_EQ(of(l, "soc.gpu.utcl2", "retry_fault").size(), static_cast<size_t>(r.num("soc.gpu.utcl2.faults")));
  EXPECT_EQ(of(l, "soc.gpu.utcl2.inv_eng17").size(), static_cast<size_t>(r.num("soc.gpu.utcl2.invalidations")));
  EXPECT_EQ(of(l, "soc.gpu.ih.ring1", "retry_fault").size(), static_cast<size_t>(r.num("soc.gpu.ih.ring1_entries")));
  EXPECT_EQ(of(l, "soc.gpu.ih.ring1", "dropped_ring_full").size(), static_cast<size_t>(r.num("soc.gpu.ih.ring1_drops")));
  EXPECT_GT(r.num("soc.gpu.ih.ring1_drops"), 0);
  EXPECT_EQ(of(l, "soc.gpu.ih.ring0").size(), static_cast<size_t>(r.num("soc.gpu.ih.entries")));
  EXPECT_EQ(of(l, "driver.irq.isr", "isr").size(), static_cast<size_t>(r.num("driver.irq.interrupts")));
  EXPECT_EQ(sum_arg(of(l, "driver.irq.isr", "isr"), "entries"), r.num("driver.irq.entries"));
  EXPECT_EQ(sum_arg(of(l, "soc.gpu.sdma", "copy"), "bytes"), r.num("soc.gpu.sdma.copy_bytes"));
  EXPECT_EQ(of(l, "soc.gpu.sdma").size(), static_cast<size_t>(r.num("soc.gpu.sdma.packets")));
  EXPECT_EQ(sum_arg(of(l, "soc.pcie.up"), "payload_bytes"), r.num("soc.pcie.up.payload_bytes"));
  EXPECT_EQ(sum_arg(of(l, "soc.pcie.down"), "payload_bytes"), r.num("soc.pcie.down.payload_bytes"));
  EXPECT_EQ(sum_arg(of(l, "soc.pcie.up"), "tlps"), r.num("soc.pcie.up.packets"));
  // Migrations: every one on driver.migrate, the fault services' own on their track.
  const double migrated = r.num("driver.migrate.bytes_prefetch") + r.num("driver.migrate.bytes_pagefault_gpu") +
                          r.num("driver.migrate.bytes_pagefault_cpu") + r.num("driver.migrate.bytes_ttm_eviction");
  EXPECT_GT(migrated, 0);
  EXPECT_EQ(sum_arg(of(l, "driver.migrate"), "bytes"), migrated);
  EXPECT_EQ(of(l, "driver.migrate", "to_vram").size(), static_cast<size_t>(r.num("driver.migrate.migrations")));
  EXPECT_EQ(sum_arg(of(l, "driver.svm.restore_pages", "migrate"), "bytes"), r.num("driver.migrate.bytes_pagefault_gpu"));
  EXPECT_EQ(of(l, "driver.svm.restore_pages", "restore_pages").size(), static_cast<size_t>(r.num("driver.svm.faults")));
  EXPECT_EQ(of(l, "driver.vm", "tlb_flush").size(), static_cast<size_t>(r.num("driver.vm.tlb_flushes")));
  // One queue, mapped once and running to the end.
  EXPECT_EQ(of(l, "soc.gpu.cp.queue q0", "mapping").size(), static_cast<size_t>(r.num("soc.gpu.cp.maps")));
  EXPECT_EQ(of(l, "soc.gpu.cp.queue q0", "running").size(), 1u);
}

TEST(Timeline, AQueueEvictionShowsItsPreemptionOnTheQueueAndTheDriversTracks) {
  // fork + a CPU write with the EVICT_QUEUES notifier strategy: the notifier evicts the
  // process's queues (CWSR saves the running kernel's wave), the restore worker maps the
  // ranges again and restores them.
  const std::string d = temp_dir("timeline_evict");
  const std::string file = d + "/timeline.json";
  const RunResult r = run_faultline({"run", "--quiet", "--workload",
                                     std::string(FAULTLINE_SOURCE_DIR) + "/traces/workloads/scenarios/fork_cow.textproto",
                                     "--set", "driver.svm.notifier_strategy=EVICT_QUEUES", "--timeline", file},
                                    d + "/out");
  ASSERT_EQ(r.status, 0) << r.err;
  const Loaded l = load(file);
  expect_nested(l);
  ASSERT_GT(r.num("driver.queues.evictions"), 0);
  ASSERT_GT(r.num("soc.gpu.cp.preempt.count"), 0);
  const std::string q = "soc.gpu.cp.queue q0";
  const auto saves = of(l, q, "cwsr_save");
  EXPECT_EQ(saves.size(), static_cast<size_t>(r.num("soc.gpu.cp.preempt.count")));
  for (const auto& e : saves) EXPECT_EQ(e["args"]["by"], "driver");
  EXPECT_EQ(sum_arg(saves, "waves"), r.num("soc.gpu.cp.preempt.waves"));
  EXPECT_EQ(sum_arg(saves, "saved_bytes"), r.num("soc.gpu.cp.preempt.saved_bytes"));
  EXPECT_EQ(sum_arg(of(l, q, "cwsr_restore"), "restore_bytes"), r.num("soc.gpu.cp.preempt.restored_bytes"));
  EXPECT_EQ(of(l, q, "evicted").size(), static_cast<size_t>(r.num("driver.queues.evictions")));
  EXPECT_EQ(of(l, "driver.queues", "evict_queues").size(), static_cast<size_t>(r.num("driver.queues.evictions")));
  EXPECT_EQ(of(l, "driver.queues", "restore_queues").size(), static_cast<size_t>(r.hist("driver.queues.restore_ns", "count")));
  EXPECT_FALSE(of(l, "driver.svm.notifier", "evict_queues").empty());
  EXPECT_EQ(of(l, "driver.svm.restore_worker", "restore").size(), static_cast<size_t>(r.hist("driver.svm.restore_delay_ns", "count")));
  // The queue was off the GPU from its preemption's end to its restore's start.
  const auto evicted = of(l, q, "evicted");
  ASSERT_FALSE(evicted.empty());
  const double save_end = saves.front()["ts"].get<double>() + saves.front()["dur"].get<double>();
  EXPECT_NEAR(evicted.front()["ts"].get<double>(), save_end, 1e-6);
}

TEST(Timeline, DrawingATimelineChangesNoStatAndNoSchedulerEvent) {
  const std::string d = temp_dir("timeline_same");
  const RunResult with = run_faultline({"run", "--quiet", "--timeline", d + "/timeline.json"}, d + "/with");
  const RunResult without = run_faultline({"run", "--quiet"}, d + "/without");
  ASSERT_EQ(with.status, 0) << with.err;
  ASSERT_EQ(without.status, 0) << without.err;
  EXPECT_EQ(with.stats, without.stats);
  EXPECT_EQ(with.meta["kernel_events"], without.meta["kernel_events"]);
  EXPECT_EQ(with.meta["kernel_delta_cycles"], without.meta["kernel_delta_cycles"]);
}

TEST(Timeline, AnUnwritableTimelineIsAnInputError) {
  const RunResult r = run_faultline({"run", "--quiet", "--timeline", "/nonexistent-dir/t.json"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--timeline"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fl::test
