#include "sim/trace/import_jsonl.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "sim/core/errors.h"
#include "sim/trace/trace_file.h"

namespace fl::trace {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint32_t kDefaultCus = 104;  // the default config's soc.gpu.cu.count

class Line {
 public:
  Line(const std::string& where, const nlohmann::json& j) : where_(where), j_(j) {}

  uint64_t uint(const char* key) const {
    const nlohmann::json& v = at(key);
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
    fail(std::string("\"") + key + "\" must be a non-negative integer");
  }
  double ns(const char* key) const {
    const nlohmann::json& v = at(key);
    if (!v.is_number()) fail(std::string("\"") + key + "\" must be a number");
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < 0 || d > 1e15) fail(std::string("\"") + key + "\" must be from 0 to 1e15 ns");
    return d;
  }
  std::string str(const char* key) const {
    const nlohmann::json& v = at(key);
    if (!v.is_string()) fail(std::string("\"") + key + "\" must be a string");
    return v.get<std::string>();
  }
  [[noreturn]] void fail(const std::string& what) const { throw InputError(where_ + ": " + what); }

 private:
  const nlohmann::json& at(const char* key) const {
    const auto it = j_.find(key);
    if (it == j_.end()) fail(std::string("missing \"") + key + "\"");
    return *it;
  }
  const std::string& where_;
  const nlohmann::json& j_;
};

struct Experiment {
  std::string name;
  uint64_t warps = 0;
  uint64_t per_warp = 0;
  uint64_t footprint = 0;
  std::vector<uint64_t> counts;  // per stream
};

}  // namespace

ImportSummary import_jsonl(std::istream& in, const std::string& name, const std::string& out_path,
                           const JsonlOptions& opts) {
  if (opts.access_bytes == 0 || opts.access_bytes > kPage || (opts.access_bytes & (opts.access_bytes - 1)) != 0) {
    throw InputError("--access-bytes must be a power of two from 1 to 4096");
  }
  pb::Header h;
  h.set_source("import jsonl " + name);
  h.set_page_size_bytes(kPage);
  Writer out(out_path, h);
  ImportSummary sum;
  std::optional<Experiment> cur;
  std::set<std::string> seen;
  pb::Record rec;

  const auto op = [&](const auto& fill) {
    rec.Clear();
    fill(rec.mutable_cpu()->mutable_op());
    out.write(rec);
  };
  const auto end_experiment = [&] {
    if (!cur) return;
    op([&](faultline::workload::Op* o) { o->mutable_wait()->set_kernel(cur->name); });
    for (uint64_t w = 0; w < cur->counts.size(); ++w) {
      if (cur->counts[w] != cur->per_warp) {
        sum.notes.push_back(cur->name + ": stream " + std::to_string(w) + " has " + std::to_string(cur->counts[w]) +
                            " accesses; its header says per_warp " + std::to_string(cur->per_warp));
      }
    }
  };

  std::string text;
  while (std::getline(in, text)) {
    ++sum.lines;
    const std::string where = name + ":" + std::to_string(sum.lines);
    const size_t first = text.find_first_not_of(" \t\r");
    if (first == std::string::npos || text[first] == '#') continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(where + ": not a JSON object: " + e.what());
    }
    if (!j.is_object()) throw InputError(where + ": not a JSON object");
    const Line l(where, j);
    if (j.contains("exp")) {
      end_experiment();
      Experiment e;
      e.name = l.str("name");
      if (e.name.empty()) l.fail("\"name\" is empty");
      if (!seen.insert(e.name).second) l.fail("a second header for experiment '" + e.name + "'");
      e.warps = l.uint("warps");
      e.per_warp = l.uint("per_warp");
      e.footprint = l.uint("footprint");
      if (e.warps == 0 || e.warps > (1u << 20)) l.fail("\"warps\" must be from 1 to 1048576");
      if (e.footprint == 0 || e.footprint > (uint64_t{1} << 44)) l.fail("\"footprint\" must be from 1 byte to 16 TiB");
      e.counts.assign(e.warps, 0);
      const uint64_t cus = opts.cus != 0 ? opts.cus : std::min<uint64_t>(e.warps, kDefaultCus);
      const uint64_t per_cu = (e.warps + cus - 1) / cus;
      const uint64_t bytes = (e.footprint + kPage - 1) / kPage * kPage;
      const std::string buf = "buf" + std::to_string(sum.experiments);
      op([&](faultline::workload::Op* o) {
        o->mutable_mmap()->set_name(buf);
        o->mutable_mmap()->set_size_bytes(bytes);
      });
      op([&](faultline::workload::Op* o) {
        auto* k = o->mutable_launch();
        k->set_name(e.name);
        k->set_range(buf);
        k->set_cus(static_cast<uint32_t>(cus));
        k->set_waves_per_cu(static_cast<uint32_t>(per_cu));
        k->set_outstanding_per_wave(1);
        k->set_access_bytes(opts.access_bytes);
        k->set_accesses_per_wave(std::max<uint64_t>(e.per_warp, 1));
      });
      cur = std::move(e);
      ++sum.experiments;
      continue;
    }
    if (!j.contains("trace")) l.fail("neither a header (\"exp\") nor an access (\"trace\")");
    const std::string t = l.str("trace");
    if (!cur || t != cur->name) {
      l.fail(seen.count(t) != 0 ? "an access of experiment '" + t + "' after the header of the next one "
                                  "(experiments are replayed one after another)"
                                : "an access of experiment '" + t + "', which has no header before it");
    }
    const uint64_t w = l.uint("w");
    const uint64_t i = l.uint("i");
    const uint64_t off = l.uint("off");
    const double t_ns = l.ns("t_ns");
    const double lat_ns = l.ns("lat_ns");
    if (w >= cur->warps) l.fail("stream " + std::to_string(w) + " of an experiment with " + std::to_string(cur->warps) + " warps");
    if (off >= cur->footprint || opts.access_bytes > cur->footprint - off) {
      l.fail("offset " + std::to_string(off) + " (+" + std::to_string(opts.access_bytes) +
             " bytes) is beyond the footprint of " + std::to_string(cur->footprint) + " bytes");
    }
    if (off % kPage + opts.access_bytes > kPage) l.fail("the access at offset " + std::to_string(off) + " crosses a 4 KiB page");
    ++cur->counts[w];
    rec.Clear();
    pb::GpuAccess* a = rec.mutable_access();
    a->set_kernel(static_cast<uint32_t>(sum.experiments - 1));
    a->set_stream(static_cast<uint32_t>(w));
    a->set_index(i);
    a->set_offset_bytes(off);
    a->set_size_bytes(opts.access_bytes);
    a->set_issue_ps(static_cast<uint64_t>(std::llround(t_ns * 1000.0)));
    a->set_latency_ns(lat_ns);
    out.write(rec);
    ++sum.accesses;
  }
  if (in.bad()) throw InputError(name + ": read error after line " + std::to_string(sum.lines));
  end_experiment();
  out.finish();
  return sum;
}

}  // namespace fl::trace
