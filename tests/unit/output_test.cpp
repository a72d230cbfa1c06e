// Run outputs (sim/core/output.h): atomic file writes and the JSON and text renderings of
// stats.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/unit_support.h"
#include <nlohmann/json.hpp>

#include "sim/core/errors.h"
#include "sim/core/output.h"
#include "sim/core/stats.h"

namespace {

using fl::test::input_error;
using fl::test::TempDir;

namespace fs = std::filesystem;
using fl::stats::Counter;
using fl::stats::Formula;
using fl::stats::Group;
using fl::stats::Histogram;
using fl::stats::Named;
using fl::stats::Value;


std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The message of the fl::InputError `f` throws; fails the test if it throws nothing else.

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// The line for stat `name` ("name value # ..."), or "" if there is none.
std::string line_of(const std::vector<std::string>& lines, const std::string& name) {
  for (const std::string& l : lines) {
    if (l.rfind(name + " ", 0) == 0) return l;
  }
  return "";
}

// "name value # description (unit)", the name and value padded with spaces.
const std::regex& stats_line_re() {
  static const std::regex re(R"(^(\S+) +(\S+) +# (.+) \(([^()]+)\)$)");
  return re;
}

// One stat of each kind, in one group.
struct SampleStats {
  Group group{"unit.out"};
  Counter hits{group, "hits", "count", "Lookups that hit"};
  Value busy{group, "busy_ns", "ns", "Busy time"};
  Histogram lat{group, "lat_ns", "ns", "Fault latency"};
  Formula rate{group, "hit_rate", "ratio", "Hits per lookup", [] { return 0.75; }};

  SampleStats() {
    hits += 42;
    busy.set(2.5);
    for (double v : {100.0, 200.0, 300.0, 400.0}) lat.sample(v);
  }
  std::vector<Named> named() const {
    return {Named{"unit.out.busy_ns", &busy}, Named{"unit.out.hit_rate", &rate},
            Named{"unit.out.hits", &hits}, Named{"unit.out.lat_ns", &lat}};
  }
};

}  // namespace

// ------------------------------------------------------------------ write_file_atomic

TEST(WriteFileAtomic, WritesTheContent) {
  TempDir dir;
  const std::string path = dir.file("stats.json");
  const std::string content = std::string("line 1\nbinary \0 byte\n", 21) + std::string(100000, 'x');
  fl::write_file_atomic(path, content);
  EXPECT_EQ(read_file(path), content);
}

TEST(WriteFileAtomic, LeavesNoTemporaryFile) {
  TempDir dir;
  fl::write_file_atomic(dir.file("stats.json"), "{}\n");
  fl::write_file_atomic(dir.file("stats.txt"), "");
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"stats.json", "stats.txt"}));
}

TEST(WriteFileAtomic, EmptyContentCreatesAnEmptyFile) {
  TempDir dir;
  fl::write_file_atomic(dir.file("empty"), "");
  EXPECT_TRUE(fs::exists(dir.file("empty")));
  EXPECT_EQ(fs::file_size(dir.file("empty")), 0u);
}

TEST(WriteFileAtomic, OverwritesAnExistingFile) {
  TempDir dir;
  const std::string path = dir.file("out.txt");
  fl::write_file_atomic(path, "a much longer first version of the file\n");
  fl::write_file_atomic(path, "second\n");
  EXPECT_EQ(read_file(path), "second\n");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.txt"});
}

TEST(WriteFileAtomic, ReplacesTheFileRatherThanRewritingIt) {
  // A reader holding the old file keeps seeing the old content: the new one is renamed in.
  TempDir dir;
  const std::string path = dir.file("out.txt");
  fl::write_file_atomic(path, "old\n");
  std::ifstream reader(path);
  fl::write_file_atomic(path, "new\n");
  std::string line;
  std::getline(reader, line);
  EXPECT_EQ(line, "old");
  EXPECT_EQ(read_file(path), "new\n");
}

TEST(WriteFileAtomic, MissingDirectoryThrowsNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/stats.json");
  const std::string msg = input_error([&] { fl::write_file_atomic(path, "{}"); });
  EXPECT_EQ(msg.rfind(path, 0), 0u) << msg;
}

TEST(WriteFileAtomic, ParentThatIsAFileThrowsNamingThePath) {
  TempDir dir;
  fl::write_file_atomic(dir.file("plain"), "not a directory");
  const std::string path = dir.file("plain/stats.json");
  const std::string msg = input_error([&] { fl::write_file_atomic(path, "{}"); });
  EXPECT_EQ(msg.rfind(path, 0), 0u) << msg;
  EXPECT_EQ(read_file(dir.file("plain")), "not a directory");
}

TEST(WriteFileAtomic, ReadOnlyDirectoryThrowsNamingThePath) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  TempDir dir;
  fs::create_directories(dir.path() / "ro");
  fs::permissions(dir.path() / "ro", fs::perms::owner_read | fs::perms::owner_exec);
  const std::string path = dir.file("ro/stats.json");
  const std::string msg = input_error([&] { fl::write_file_atomic(path, "{}"); });
  EXPECT_EQ(msg.rfind(path, 0), 0u) << msg;
  fs::permissions(dir.path() / "ro", fs::perms::owner_all);
}

TEST(WriteFileAtomic, FailedReplaceKeepsTheOldStateAndNoTemporary) {
  // The target is a directory: the rename fails; nothing may be left behind.
  TempDir dir;
  fs::create_directories(dir.path() / "target");
  const std::string path = dir.file("target");
  const std::string msg = input_error([&] { fl::write_file_atomic(path, "data"); });
  EXPECT_EQ(msg.rfind(path, 0), 0u) << msg;
  EXPECT_TRUE(fs::is_directory(path));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"target"});
}

// ------------------------------------------------------------------ stats renderings

TEST(StatsJson, CountersAreIntegers) {
  SampleStats s;
  const nlohmann::json j = fl::stats_to_json(s.named());
  ASSERT_TRUE(j.contains("unit.out.hits")) << j.dump(2);
  EXPECT_TRUE(j["unit.out.hits"].is_number_integer()) << j.dump(2);
  EXPECT_EQ(j["unit.out.hits"].get<uint64_t>(), 42u);
  EXPECT_EQ(j["unit.out.hits"].dump(), "42");
}

TEST(StatsJson, LargeCountersStayExact) {
  Group g("unit.out");
  Counter c(g, "bytes", "bytes", "Bytes moved");
  c += (1ULL << 60) + 1;  // not representable as a double
  const nlohmann::json j = fl::stats_to_json({Named{"unit.out.bytes", &c}});
  EXPECT_EQ(j["unit.out.bytes"].get<uint64_t>(), (1ULL << 60) + 1);
}

TEST(StatsJson, ValuesAndFormulasAreNumbers) {
  SampleStats s;
  const nlohmann::json j = fl::stats_to_json(s.named());
  EXPECT_TRUE(j["unit.out.busy_ns"].is_number());
  EXPECT_EQ(j["unit.out.busy_ns"].get<double>(), 2.5);
  EXPECT_EQ(j["unit.out.hit_rate"].get<double>(), 0.75);
}

TEST(StatsJson, NonFiniteValuesAreNull) {
  Group g("unit.out");
  Formula nan(g, "ratio", "ratio", "0/0", [] { return std::nan(""); });
  const nlohmann::json j = fl::stats_to_json({Named{"unit.out.ratio", &nan}});
  EXPECT_TRUE(j["unit.out.ratio"].is_null()) << j.dump();
}

TEST(StatsJson, HistogramsAreObjectsWithSummaryFields) {
  SampleStats s;
  const nlohmann::json j = fl::stats_to_json(s.named());
  const nlohmann::json& h = j["unit.out.lat_ns"];
  ASSERT_TRUE(h.is_object()) << j.dump(2);
  std::vector<std::string> keys;
  for (const auto& [k, v] : h.items()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"count", "max", "mean", "min", "p50", "p90", "p95", "p99"}));
  EXPECT_TRUE(h["count"].is_number_integer());
  EXPECT_EQ(h["count"].get<uint64_t>(), 4u);
  EXPECT_EQ(h["mean"].get<double>(), 250.0);
  EXPECT_EQ(h["min"].get<double>(), 100.0);
  EXPECT_EQ(h["max"].get<double>(), 400.0);
  EXPECT_NEAR(h["p50"].get<double>(), 200.0, 200.0 * 0.004);
  EXPECT_NEAR(h["p95"].get<double>(), 400.0, 400.0 * 0.004);
  EXPECT_NEAR(h["p99"].get<double>(), 400.0, 400.0 * 0.004);
}

TEST(StatsJson, OneEntryPerStat) {
  SampleStats s;
  EXPECT_EQ(fl::stats_to_json(s.named()).size(), 4u);
  EXPECT_TRUE(fl::stats_to_json({}).is_object());
  EXPECT_TRUE(fl::stats_to_json({}).empty());
}

TEST(StatsJson, CollectedStatsRender) {
  SampleStats s;
  const nlohmann::json j = fl::stats_to_json(fl::stats::collect());
  EXPECT_EQ(j["unit.out.hits"].get<uint64_t>(), 42u) << j.dump(2);
  EXPECT_TRUE(j["unit.out.lat_ns"].is_object());
}

TEST(StatsText, LinesHaveNameValueDescriptionAndUnit) {
  SampleStats s;
  const std::string text = fl::stats_to_text(s.named());
  const std::vector<std::string> lines = lines_of(text);
  ASSERT_EQ(lines.size(), 3u + 8u) << text;  // three scalars, eight histogram fields
  for (const std::string& l : lines) {
    std::smatch m;
    EXPECT_TRUE(std::regex_match(l, m, stats_line_re())) << "'" << l << "'";
  }
  std::smatch m;
  const std::string hits = line_of(lines, "unit.out.hits");
  ASSERT_TRUE(std::regex_match(hits, m, stats_line_re())) << text;
  EXPECT_EQ(m[1], "unit.out.hits");
  EXPECT_EQ(m[2], "42");
  EXPECT_EQ(m[3], "Lookups that hit");
  EXPECT_EQ(m[4], "count");
  const std::string busy = line_of(lines, "unit.out.busy_ns");
  ASSERT_TRUE(std::regex_match(busy, m, stats_line_re())) << text;
  EXPECT_EQ(m[2], "2.5");
  EXPECT_EQ(m[3], "Busy time");
  EXPECT_EQ(m[4], "ns");
  const std::string rate = line_of(lines, "unit.out.hit_rate");
  ASSERT_TRUE(std::regex_match(rate, m, stats_line_re())) << text;
  EXPECT_EQ(m[2], "0.75");
  EXPECT_EQ(m[4], "ratio");
}

TEST(StatsText, HistogramGivesOneLinePerField) {
  SampleStats s;
  const std::string text = fl::stats_to_text(s.named());
  const std::vector<std::string> lines = lines_of(text);
  const std::map<std::string, std::string> exact = {
      {"count", "4"}, {"mean", "250"}, {"min", "100"}, {"max", "400"}};
  for (const std::string field : {"count", "mean", "min", "p50", "p90", "p95", "p99", "max"}) {
    const std::string l = line_of(lines, "unit.out.lat_ns::" + field);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(l, m, stats_line_re())) << field << " in\n" << text;
    EXPECT_EQ(m[4], field == "count" ? "count" : "ns") << l;
    EXPECT_NE(m[3].str().find("Fault latency"), std::string::npos) << l;
    const auto it = exact.find(field);
    if (it != exact.end()) {
      EXPECT_EQ(m[2], it->second) << l;
    }
  }
}
