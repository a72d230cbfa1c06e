// Reading and writing faultline traces (configs/schema/trace.proto): one gzip stream of
// length-delimited protobuf messages, a Header and then Records. Both directions stream
// through protobuf's zero-copy streams (GzipOutputStream / GzipInputStream over a file
// descriptor, zlib from Debian), so memory does not grow with the trace's length.
//
// A Writer writes to "PATH.tmp.PID" and renames it to PATH in finish(), so a run killed
// while recording leaves no half-written trace. A Reader throws fl::InputError naming the
// file and the record for anything it cannot read: not a gzip stream, a truncated or
// corrupt stream, a record that does not parse, a header from a newer format version.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "configs/schema/trace.pb.h"

namespace fl::trace {

namespace pb = faultline::trace;

// The format version this build writes and the newest it reads.
constexpr uint32_t kVersion = 1;

class Writer {
 public:
  // Starts the trace with `header` (its version is set to kVersion). Throws fl::InputError
  // naming the path if the file cannot be created.
  Writer(const std::string& path, pb::Header header);
  // Unfinished (an error, a killed run): the temporary file is removed.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void write(const pb::Record& r);
  // Writes the End record, flushes, syncs and renames the trace into place.
  void finish();
  uint64_t records() const { return records_; }
  const std::string& path() const { return path_; }

 private:
  struct Streams;
  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  std::unique_ptr<Streams> s_;
  uint64_t records_ = 0;
  [[noreturn]] void fail(const std::string& what);
};

class Reader {
 public:
  // Opens the trace and reads its header.
  explicit Reader(const std::string& path);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const pb::Header& header() const { return header_; }
  // The next access or CPU record; false at the End record (checked against the count
  // read), after which the stream must end.
  bool next(pb::Record* r);
  // Records read so far (the number of the last one returned, 1-based).
  uint64_t records() const { return records_; }
  const std::string& path() const { return path_; }
  // "PATH: record N" for messages about the last record returned.
  std::string where() const;

 private:
  struct Streams;
  std::string path_;
  int fd_ = -1;
  std::unique_ptr<Streams> s_;
  pb::Header header_;
  uint64_t records_ = 0;
  bool ended_ = false;
  void read_header();
};

}  // namespace fl::trace
