// The trace file format (sim/trace/trace_file.h, configs/schema/trace.proto): records come
// back as written, and anything that is not a whole trace of a version this build reads is
// an fl::InputError naming the file, never a crash and never a silently short replay.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/gzip_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/util/delimited_message_util.h>

#include "sim/core/errors.h"
#include "sim/trace/trace_file.h"

namespace fl::trace {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("faultline-trace-test-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return (d / name).string();
}

pb::Record access(uint32_t stream, uint64_t index) {
  pb::Record r;
  pb::GpuAccess* a = r.mutable_access();
  a->set_kernel(0);
  a->set_stream(stream);
  a->set_index(index);
  a->set_offset_bytes(index * 64);
  a->set_size_bytes(64);
  a->set_write(index % 3 == 0);
  a->set_issue_ps(index * 1000);
  return r;
}

std::string write_trace(const std::string& name, int accesses) {
  const std::string path = temp_path(name);
  pb::Header h;
  h.set_source("test");
  Writer w(path, h);
  pb::Record op;
  op.mutable_cpu()->mutable_op()->mutable_mmap()->set_name("buf");
  w.write(op);
  for (int i = 0; i < accesses; ++i) w.write(access(i % 7, i / 7));
  w.finish();
  return path;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A trace a Writer would not write: a gzip stream of a delimited header of `version`, then
// whatever `more` writes.
template <class F>
void write_raw(const std::string& path, uint32_t version, F more) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  google::protobuf::io::FileOutputStream file(fd);
  google::protobuf::io::GzipOutputStream::Options o;
  o.format = google::protobuf::io::GzipOutputStream::GZIP;
  google::protobuf::io::GzipOutputStream gz(&file, o);
  pb::Header h;
  h.set_version(version);
  ASSERT_TRUE(google::protobuf::util::SerializeDelimitedToZeroCopyStream(h, &gz));
  {
    google::protobuf::io::CodedOutputStream out(&gz);
    more(out);
  }
  ASSERT_TRUE(gz.Close());
  ASSERT_TRUE(file.Close());
}

uint64_t read_all(const std::string& path) {
  Reader r(path);
  pb::Record rec;
  uint64_t n = 0;
  while (r.next(&rec)) ++n;
  return n;
}

TEST(TraceFile, RecordsComeBackAsWrittenAndInOrder) {
  const std::string path = write_trace("round_trip.fltrace", 5000);
  Reader r(path);
  EXPECT_EQ(r.header().version(), kVersion);
  EXPECT_EQ(r.header().source(), "test");
  pb::Record rec;
  ASSERT_TRUE(r.next(&rec));
  EXPECT_EQ(rec.cpu().op().mmap().name(), "buf");
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(r.next(&rec)) << i;
    // The reader must not merge a record into the previous one (protobuf's delimited
    // parser merges): an access that is a read reads as a read after a write.
    EXPECT_EQ(rec.SerializeAsString(), access(i % 7, i / 7).SerializeAsString()) << i;
  }
  EXPECT_FALSE(r.next(&rec));
  EXPECT_FALSE(r.next(&rec));
  EXPECT_EQ(r.records(), 5001u);
}

TEST(TraceFile, EveryCutShortFileIsAnErrorNamingTheFile) {
  const std::string path = write_trace("whole.fltrace", 3000);
  const std::string whole = slurp(path);
  ASSERT_GT(whole.size(), 1000u);
  const std::string cut = temp_path("cut.fltrace");
  // Every length short of the last 8 bytes (gzip's trailer, which holds a check, not records).
  for (size_t n = 0; n + 8 < whole.size(); n += 1 + n / 50) {
    std::ofstream(cut, std::ios::binary | std::ios::trunc).write(whole.data(), static_cast<std::streamsize>(n));
    try {
      read_all(cut);
      ADD_FAILURE() << "a trace cut to " << n << " of " << whole.size() << " bytes was read without an error";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(cut), std::string::npos) << e.what();
    }
  }
}

TEST(TraceFile, ACorruptByteIsAnError) {
  const std::string path = write_trace("to_corrupt.fltrace", 20000);
  std::string data = slurp(path);
  data[data.size() / 2] = static_cast<char>(data[data.size() / 2] ^ 0x5a);
  const std::string bad = temp_path("corrupt.fltrace");
  std::ofstream(bad, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
  EXPECT_THROW(read_all(bad), InputError);
}

TEST(TraceFile, AFileThatIsNotATraceIsAnError) {
  const std::string path = temp_path("text.fltrace");
  std::ofstream(path) << "op { mmap { name: \"buf\" } }\n";
  try {
    Reader r(path);
    FAIL() << "read a text file as a trace";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not a faultline trace"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Reader(temp_path("missing.fltrace")), InputError);
}

TEST(TraceFile, ANewerFormatVersionIsRefusedNamingBoth) {
  const std::string path = temp_path("v99.fltrace");
  write_raw(path, 99, [](google::protobuf::io::CodedOutputStream&) {});
  try {
    Reader r(path);
    FAIL() << "read a version 99 trace";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("version 99"), std::string::npos) << m;
    EXPECT_NE(m.find("(version " + std::to_string(kVersion) + ")"), std::string::npos) << m;
  }
}

// Found by fuzz_trace (CI, 2026-12-05): a Reader whose header did not parse threw from its
// constructor without closing the file, so after some tens of thousands of bad traces the
// process had no descriptors left. Reading a bad trace many times must not hold any open.
TEST(TraceFile, ABadTraceLeavesNoFileDescriptorOpen) {
  const std::string text = temp_path("not-a-trace.fltrace");
  std::ofstream(text) << "not gzip\n";
  const std::string newer = temp_path("v98.fltrace");
  write_raw(newer, 98, [](google::protobuf::io::CodedOutputStream&) {});
  const auto open_fds = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator{});
  };
  const auto before = open_fds();
  for (int i = 0; i < 100; ++i) {
    EXPECT_THROW(Reader{text}, InputError);
    EXPECT_THROW(Reader{newer}, InputError);
  }
  EXPECT_EQ(open_fds(), before);
}

TEST(TraceFile, ARecordClaimingGigabytesIsRefusedBeforeItIsRead) {
  const std::string path = temp_path("huge.fltrace");
  // A 2 GiB record, then nothing.
  write_raw(path, kVersion, [](google::protobuf::io::CodedOutputStream& out) { out.WriteVarint32(1u << 31); });
  try {
    read_all(path);
    FAIL() << "read a record claiming 2 GiB";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("claims more than 64 MiB"), std::string::npos) << e.what();
  }
}

TEST(TraceFile, AnUnfinishedWriterLeavesNoFile) {
  const std::string path = temp_path("unfinished.fltrace");
  {
    Writer w(path, pb::Header());
    for (int i = 0; i < 100; ++i) w.write(access(0, i));
  }
  EXPECT_FALSE(fs::exists(path));
  for (const auto& e : fs::directory_iterator(fs::path(path).parent_path())) {
    EXPECT_EQ(e.path().filename().string().find("unfinished.fltrace.tmp"), std::string::npos) << e.path();
  }
}

TEST(TraceFile, AnUnwritablePathIsAnInputError) {
  EXPECT_THROW(Writer("/nonexistent-dir/x.fltrace", pb::Header()), InputError);
}

}  // namespace
}  // namespace fl::trace
