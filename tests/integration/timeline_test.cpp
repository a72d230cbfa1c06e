// faultline run --timeline (sim/core/timeline.h, drawn by sim/platform/fault_ledger.cpp):
// the file loads back as JSON, slices nest on every track, each fault's phase slices add up
// to its latency, there is one fault slice per faulted access, and every flow arrow has both
// ends, each inside a slice of its track.
#include <gtest/gtest.h>

#include <algorithm>
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

TEST(Timeline, AnUnwritableTimelineIsAnInputError) {
  const RunResult r = run_faultline({"run", "--quiet", "--timeline", "/nonexistent-dir/t.json"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--timeline"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fl::test
