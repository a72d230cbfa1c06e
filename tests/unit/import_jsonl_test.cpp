// The JSON Lines capture importer (sim/trace/import_jsonl.h): what a capture becomes, and
// a clear error naming the line for every kind of bad input, never a crash.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "sim/core/errors.h"
#include "sim/trace/import_jsonl.h"
#include "sim/trace/trace_file.h"

namespace fl::trace {
namespace {

namespace fs = std::filesystem;

std::string out_path(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("faultline-jsonl-test-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return (d / name).string();
}

const char* kHeader =
    R"({"exp": "tracecap", "name": "chase", "warps": 2, "per_warp": 2, "footprint": 65536, "stride": 4096, "order": "random"})";

std::vector<pb::Record> import(const std::string& text, ImportSummary* s = nullptr, JsonlOptions o = {}) {
  std::istringstream in(text);
  const std::string path = out_path("t.fltrace");
  const ImportSummary sum = import_jsonl(in, "cap.jsonl", path, o);
  if (s != nullptr) *s = sum;
  Reader r(path);
  std::vector<pb::Record> v;
  pb::Record rec;
  while (r.next(&rec)) v.push_back(rec);
  return v;
}

std::string error_of(const std::string& text) {
  try {
    import(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ImportJsonl, AnExperimentBecomesAnMmapALaunchItsAccessesAndAWait) {
  ImportSummary s;
  const auto recs = import(std::string(kHeader) + "\n" +
                               R"({"trace": "chase", "w": 0, "i": 0, "off": 4096, "t_ns": 0, "lat_ns": 25000.5})" "\n"
                               "# a comment, then a blank line\n\n"
                               R"({"trace": "chase", "w": 1, "i": 0, "off": 8192, "t_ns": 12.25, "lat_ns": 900, "extra": true})" "\n"
                               R"({"trace": "chase", "w": 0, "i": 1, "off": 0, "t_ns": 25000.5, "lat_ns": 800})" "\n",
                           &s);
  ASSERT_EQ(recs.size(), 6u);
  EXPECT_EQ(recs[0].cpu().op().mmap().size_bytes(), 65536u);
  const auto& l = recs[1].cpu().op().launch();
  EXPECT_EQ(l.name(), "chase");
  EXPECT_EQ(l.range(), recs[0].cpu().op().mmap().name());
  EXPECT_EQ(l.cus() * l.waves_per_cu(), 2u);
  EXPECT_EQ(l.outstanding_per_wave(), 1u);
  EXPECT_EQ(recs[2].access().offset_bytes(), 4096u);
  EXPECT_DOUBLE_EQ(recs[2].access().latency_ns(), 25000.5);
  EXPECT_EQ(recs[3].access().stream(), 1u);
  EXPECT_EQ(recs[3].access().issue_ps(), 12250u);
  EXPECT_EQ(recs[3].access().size_bytes(), 8u);
  EXPECT_EQ(recs[4].access().index(), 1u);
  EXPECT_EQ(recs[5].cpu().op().wait().kernel(), "chase");
  EXPECT_EQ(s.accesses, 3u);
  EXPECT_EQ(s.lines, 6u);
  // Stream 1 has one access of the header's two: noted, not an error.
  ASSERT_EQ(s.notes.size(), 1u);
  EXPECT_NE(s.notes[0].find("stream 1 has 1 accesses"), std::string::npos) << s.notes[0];
}

TEST(ImportJsonl, ExperimentsRunOneAfterAnother) {
  const std::string second =
      R"({"exp": "tracecap", "name": "seq", "warps": 1, "per_warp": 1, "footprint": 4096, "stride": 64, "order": "seq"})";
  const auto recs = import(std::string(kHeader) + "\n" + second + "\n" +
                           R"({"trace": "seq", "w": 0, "i": 0, "off": 64, "t_ns": 0, "lat_ns": 1})" "\n");
  // mmap, launch, wait (chase), mmap, launch, access, wait (seq)
  ASSERT_EQ(recs.size(), 7u);
  EXPECT_EQ(recs[2].cpu().op().wait().kernel(), "chase");
  EXPECT_EQ(recs[5].access().kernel(), 1u);
  EXPECT_EQ(recs[6].cpu().op().wait().kernel(), "seq");
}

TEST(ImportJsonl, BadLinesAreErrorsNamingTheLine) {
  const std::string h = std::string(kHeader) + "\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"trace": "chase", "w": 0})", "cap.jsonl:1: an access of experiment 'chase', which has no header"},
      {h + R"({"trace": "chase", "w": 0, "i": 0, "off": 0, "t_ns": 0)", "cap.jsonl:2: not a JSON object"},
      {h + "[1, 2]", "cap.jsonl:2: not a JSON object"},
      {h + R"({"trace": "chase", "i": 0, "off": 0, "t_ns": 0, "lat_ns": 1})", "cap.jsonl:2: missing \"w\""},
      {h + R"({"trace": "chase", "w": -1, "i": 0, "off": 0, "t_ns": 0, "lat_ns": 1})", "\"w\" must be a non-negative integer"},
      {h + R"({"trace": "chase", "w": 0.5, "i": 0, "off": 0, "t_ns": 0, "lat_ns": 1})", "\"w\" must be a non-negative integer"},
      {h + R"({"trace": "chase", "w": 2, "i": 0, "off": 0, "t_ns": 0, "lat_ns": 1})", "stream 2 of an experiment with 2 warps"},
      {h + R"({"trace": "chase", "w": 0, "i": 0, "off": 65536, "t_ns": 0, "lat_ns": 1})", "beyond the footprint"},
      {h + R"({"trace": "chase", "w": 0, "i": 0, "off": 4092, "t_ns": 0, "lat_ns": 1})", "crosses a 4 KiB page"},
      {h + R"({"trace": "chase", "w": 0, "i": 0, "off": 0, "t_ns": "soon", "lat_ns": 1})", "\"t_ns\" must be a number"},
      {h + R"({"trace": "chase", "w": 0, "i": 0, "off": 0, "t_ns": -5, "lat_ns": 1})", "\"t_ns\" must be from 0"},
      {h + R"({"trace": "chase", "w": 0, "i": 0, "off": 0, "t_ns": 0, "lat_ns": 1e300})", "\"lat_ns\" must be from 0"},
      {h + R"({"w": 0})", "neither a header"},
      {h + kHeader, "cap.jsonl:2: a second header for experiment 'chase'"},
      {R"({"exp": "tracecap", "name": "x", "warps": 0, "per_warp": 1, "footprint": 4096})", "\"warps\" must be from 1"},
      {R"({"exp": "tracecap", "name": "x", "warps": 1, "per_warp": 1, "footprint": 0})", "\"footprint\" must be from 1"},
      {R"({"exp": "tracecap", "name": "", "warps": 1, "per_warp": 1, "footprint": 1})", "\"name\" is empty"},
      {R"({"exp": "tracecap", "name": 7, "warps": 1, "per_warp": 1, "footprint": 1})", "\"name\" must be a string"},
      {h + R"({"exp": "tracecap", "name": "b", "warps": 1, "per_warp": 1, "footprint": 4096})" "\n" +
           R"({"trace": "chase", "w": 0, "i": 0, "off": 0, "t_ns": 0, "lat_ns": 1})",
       "cap.jsonl:3: an access of experiment 'chase' after the header of the next one"},
  };
  for (const auto& [text, says] : cases) {
    const std::string e = error_of(text);
    EXPECT_NE(e.find(says), std::string::npos) << "input:\n" << text << "\nerror: " << e;
  }
}

TEST(ImportJsonl, AFailedImportLeavesNoTrace) {
  const std::string path = out_path("failed.fltrace");
  std::istringstream in(std::string(kHeader) + "\n{bad\n");
  EXPECT_THROW(import_jsonl(in, "cap.jsonl", path, {}), InputError);
  EXPECT_FALSE(fs::exists(path));
}

TEST(ImportJsonl, AccessBytesMustBeAPowerOfTwoUpToAPage) {
  for (uint32_t bad : {0u, 3u, 8192u}) {
    JsonlOptions o;
    o.access_bytes = bad;
    std::istringstream in(kHeader);
    EXPECT_THROW(import_jsonl(in, "cap.jsonl", out_path("x.fltrace"), o), InputError) << bad;
  }
}

}  // namespace
}  // namespace fl::trace
