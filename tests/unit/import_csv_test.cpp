// The CSV access importer (sim/trace/import_csv.h): what a CSV becomes, and a clear error
// naming the line for every kind of bad input.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sim/core/errors.h"
#include "sim/trace/import_csv.h"
#include "sim/trace/trace_file.h"

namespace fl::trace {
namespace {

namespace fs = std::filesystem;

std::string path_of(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("faultline-csv-test-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return (d / name).string();
}

std::string csv(const std::string& text) {
  const std::string p = path_of("in.csv");
  std::ofstream(p) << text;
  return p;
}

std::vector<pb::Record> import(const std::string& text, pb::Header* h = nullptr) {
  const std::string out = path_of("out.fltrace");
  import_csv(csv(text), out, {});
  Reader r(out);
  if (h != nullptr) *h = r.header();
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

TEST(ImportCsv, AccessesBecomeOneKernelOverOneBufferWithAWavePerStream) {
  pb::Header h;
  const auto recs = import(
      "# captured somewhere\n"
      "rw, address, size, stream, time_ns\n"
      "R, 0x7f0000001040, 64, warp7, 100.5\n"
      "W, 0x7f0000003000, 128, warp2, 50\n"
      "\n"
      "r, 139637976731712, 8, warp7, 400\n",
      &h);
  ASSERT_EQ(recs.size(), 6u);  // mmap, launch, 3 accesses, wait
  // From the lowest page touched (0x7f0000001000) to the end of the highest access.
  EXPECT_EQ(recs[0].cpu().op().mmap().size_bytes(), 0x3000u);
  EXPECT_EQ(recs[1].cpu().op().launch().cus() * recs[1].cpu().op().launch().waves_per_cu(), 2u);
  const pb::GpuAccess& a = recs[2].access();
  EXPECT_EQ(a.stream(), 0u);  // streams numbered by first appearance: warp7 = 0, warp2 = 1
  EXPECT_EQ(recs[3].access().stream(), 1u);
  EXPECT_EQ(a.offset_bytes(), 0x40u);
  EXPECT_EQ(a.size_bytes(), 64u);
  EXPECT_FALSE(a.write());
  EXPECT_EQ(a.issue_ps(), 50500u);  // since the earliest access (50 ns)
  EXPECT_TRUE(recs[3].access().write());
  EXPECT_EQ(recs[3].access().issue_ps(), 0u);
  EXPECT_EQ(recs[4].access().index(), 1u);  // warp7's second, in file order
  EXPECT_EQ(recs[4].access().offset_bytes(), 139637976731712u - 0x7f0000001000u);
  EXPECT_TRUE(recs[5].cpu().op().has_wait());
  ASSERT_EQ(h.stream_size(), 2);
  EXPECT_EQ(h.footprint_bytes(), 0x3000u);
}

TEST(ImportCsv, BadLinesAreErrorsNamingTheLine) {
  const std::string head = "time_ns,stream,address,size,rw\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "no header line"},
      {"time_ns,stream,address,size\n", "no 'rw' column"},
      {"time_ns,stream,address,size,rw,when\n", "unknown column 'when'"},
      {"time_ns,time_ns,address,size,rw\n", "column 'time_ns' twice"},
      {head, "no accesses"},
      {head + "0,a,4096,64\n", "in.csv:2: 4 fields; the header has 5"},
      {head + "x,a,4096,64,R\n", "in.csv:2: time_ns must be a number"},
      {head + "-1,a,4096,64,R\n", "time_ns must be a number from 0"},
      {head + "0,,4096,64,R\n", "empty stream"},
      {head + "0,a,0xZZ,64,R\n", "address must be a non-negative integer"},
      {head + "0,a,-4096,64,R\n", "address must be a non-negative integer"},
      {head + "0,a,4096,0,R\n", "size must be 1 to 4096"},
      {head + "0,a,4096,8192,R\n", "size must be 1 to 4096"},
      {head + "0,a,4090,64,R\n", "crosses a 4 KiB page"},
      {head + "0,a,4096,64,X\n", "rw must be R or W"},
      {head + "0,a,0,64,R\n0,a,0x200000000000,64,R\n", "in.csv:3: the accesses span more than 16 TiB"},
      {head + "0,a,0xfffffffffffff000,64,R\n", "address is beyond"},
  };
  for (const auto& [text, says] : cases) {
    const std::string e = error_of(text);
    EXPECT_NE(e.find(says), std::string::npos) << "input:\n" << text << "\nerror: " << e;
  }
  EXPECT_THROW(import_csv(path_of("missing.csv"), path_of("x.fltrace"), {}), InputError);
}

}  // namespace
}  // namespace fl::trace
