#include "sim/trace/import_csv.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <vector>

#include "sim/core/errors.h"
#include "sim/trace/trace_file.h"

namespace fl::trace {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint32_t kDefaultCus = 104;  // the default config's soc.gpu.cu.count
constexpr uint64_t kMaxStreams = uint64_t{1} << 20;
constexpr uint64_t kMaxFootprint = uint64_t{1} << 44;  // 16 TiB

enum Column { kTime, kStream, kAddress, kSize, kRw, kColumns };
constexpr std::array<const char*, kColumns> kNames = {"time_ns", "stream", "address", "size", "rw"};

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> f;
  size_t pos = 0;
  for (;;) {
    const size_t c = line.find(',', pos);
    f.push_back(trim(line.substr(pos, c == std::string::npos ? std::string::npos : c - pos)));
    if (c == std::string::npos) return f;
    pos = c + 1;
  }
}

struct Access {
  double time_ns;
  std::string stream;
  uint64_t address;
  uint32_t size;
  bool write;
};

class Parser {
 public:
  explicit Parser(const std::string& path) : path_(path), in_(path) {
    if (!in_) throw InputError(path + ": cannot open: " + std::strerror(errno));
    std::string text;
    while (std::getline(in_, text)) {
      ++line_;
      const std::string t = trim(text);
      if (t.empty() || t[0] == '#') continue;
      const std::vector<std::string> f = split(t);
      col_.fill(-1);
      for (size_t i = 0; i < f.size(); ++i) {
        const auto it = std::find(kNames.begin(), kNames.end(), f[i]);
        if (it == kNames.end()) fail("unknown column '" + f[i] + "' (the columns are time_ns,stream,address,size,rw)");
        int& c = col_[static_cast<size_t>(it - kNames.begin())];
        if (c >= 0) fail("column '" + f[i] + "' twice");
        c = static_cast<int>(i);
      }
      for (size_t c = 0; c < kColumns; ++c) {
        if (col_[c] < 0) fail(std::string("no '") + kNames[c] + "' column in the header");
      }
      columns_ = f.size();
      return;
    }
    throw InputError(path + ": no header line (time_ns,stream,address,size,rw)");
  }

  bool next(Access* a) {
    std::string text;
    while (std::getline(in_, text)) {
      ++line_;
      const std::string t = trim(text);
      if (t.empty() || t[0] == '#') continue;
      const std::vector<std::string> f = split(t);
      if (f.size() != columns_) {
        fail(std::to_string(f.size()) + " fields; the header has " + std::to_string(columns_));
      }
      a->time_ns = number(f[static_cast<size_t>(col_[kTime])], "time_ns");
      a->stream = f[static_cast<size_t>(col_[kStream])];
      if (a->stream.empty()) fail("empty stream");
      a->address = unsigned_field(f[static_cast<size_t>(col_[kAddress])], "address");
      const uint64_t size = unsigned_field(f[static_cast<size_t>(col_[kSize])], "size");
      if (size == 0 || size > kPage) fail("size must be 1 to 4096 bytes");
      a->size = static_cast<uint32_t>(size);
      if (a->address % kPage + a->size > kPage) fail("the access crosses a 4 KiB page");
      if (a->address > std::numeric_limits<uint64_t>::max() - kPage) fail("address is beyond 2^64 - 4096");
      const std::string& rw = f[static_cast<size_t>(col_[kRw])];
      if (rw == "R" || rw == "r" || rw == "read") {
        a->write = false;
      } else if (rw == "W" || rw == "w" || rw == "write") {
        a->write = true;
      } else {
        fail("rw must be R or W, not '" + rw + "'");
      }
      return true;
    }
    if (in_.bad()) throw InputError(path_ + ": read error after line " + std::to_string(line_));
    return false;
  }

  uint64_t line() const { return line_; }
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(path_ + ":" + std::to_string(line_) + ": " + what);
  }

 private:
  uint64_t unsigned_field(const std::string& s, const char* what) const {
    uint64_t v = 0;
    const bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    const char* b = s.data() + (hex ? 2 : 0);
    const char* e = s.data() + s.size();
    const auto r = std::from_chars(b, e, v, hex ? 16 : 10);
    if (s.empty() || r.ec != std::errc() || r.ptr != e) {
      fail(std::string(what) + " must be a non-negative integer (decimal or 0x hex), not '" + s + "'");
    }
    return v;
  }
  double number(const std::string& s, const char* what) const {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || errno != 0 || !std::isfinite(v) || v < 0 || v > 1e15) {
      fail(std::string(what) + " must be a number from 0 to 1e15, not '" + s + "'");
    }
    return v;
  }

  std::string path_;
  std::ifstream in_;
  uint64_t line_ = 0;
  std::array<int, kColumns> col_{};
  size_t columns_ = 0;
};

}  // namespace

ImportSummary import_csv(const std::string& in_path, const std::string& out_path, const CsvOptions& opts) {
  // Pass 1: every line checked, the buffer's extent, the streams, the earliest time.
  uint64_t lo = std::numeric_limits<uint64_t>::max();
  uint64_t hi = 0;
  double t0 = std::numeric_limits<double>::infinity();
  std::map<std::string, uint32_t> streams;
  ImportSummary sum;
  {
    Parser p(in_path);
    Access a;
    while (p.next(&a)) {
      lo = std::min(lo, a.address / kPage * kPage);
      hi = std::max(hi, a.address + a.size);
      t0 = std::min(t0, a.time_ns);
      if (streams.emplace(a.stream, static_cast<uint32_t>(streams.size())).second && streams.size() > kMaxStreams) {
        p.fail("more than " + std::to_string(kMaxStreams) + " streams");
      }
      if (hi - lo > kMaxFootprint) p.fail("the accesses span more than 16 TiB");
      ++sum.accesses;
    }
    sum.lines = p.line();
  }
  if (sum.accesses == 0) throw InputError(in_path + ": no accesses");
  const uint64_t footprint = (hi - lo + kPage - 1) / kPage * kPage;
  const uint64_t n = streams.size();
  const uint64_t cus = opts.cus != 0 ? opts.cus : std::min<uint64_t>(n, kDefaultCus);
  const uint64_t per_cu = (n + cus - 1) / cus;

  pb::Header h;
  h.set_source("import csv " + in_path);
  h.set_page_size_bytes(kPage);
  h.set_footprint_bytes(footprint);
  for (const auto& [name, id] : streams) {
    pb::Stream* s = h.add_stream();
    s->set_kernel(0);
    s->set_stream(id);
    s->set_description(name);
  }
  Writer out(out_path, h);
  pb::Record rec;
  auto* m = rec.mutable_cpu()->mutable_op()->mutable_mmap();
  m->set_name("buf");
  m->set_size_bytes(footprint);
  out.write(rec);
  rec.Clear();
  auto* l = rec.mutable_cpu()->mutable_op()->mutable_launch();
  l->set_name("csv");
  l->set_range("buf");
  l->set_cus(static_cast<uint32_t>(cus));
  l->set_waves_per_cu(static_cast<uint32_t>(per_cu));
  l->set_outstanding_per_wave(1);
  out.write(rec);

  // Pass 2: the accesses, each stream's numbered in file order.
  std::vector<uint64_t> index(n, 0);
  Parser p(in_path);
  Access a;
  while (p.next(&a)) {
    const auto it = streams.find(a.stream);
    if (it == streams.end() || a.address < lo || a.address + a.size > lo + footprint) {
      p.fail("the file changed while it was being imported");
    }
    const uint32_t s = it->second;
    rec.Clear();
    pb::GpuAccess* g = rec.mutable_access();
    g->set_kernel(0);
    g->set_stream(s);
    g->set_index(index[s]++);
    g->set_offset_bytes(a.address - lo);
    g->set_size_bytes(a.size);
    if (a.write) g->set_write(true);
    g->set_issue_ps(static_cast<uint64_t>(std::llround((a.time_ns - t0) * 1000.0)));
    out.write(rec);
  }
  rec.Clear();
  rec.mutable_cpu()->mutable_op()->mutable_wait();
  out.write(rec);
  out.finish();
  sum.experiments = 1;
  return sum;
}

}  // namespace fl::trace
