#include "sim/trace/smi_compare.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "sim/core/errors.h"
#include "sim/trace/trace_file.h"

namespace fl::trace {

namespace {

constexpr uint64_t kPage = 4096;

struct Side {
  std::string path;
  std::vector<SmiRecord> events;  // the compared process's timed events, in log order
  uint64_t first_ns = 0;
  uint32_t pid = 0;
};

bool is_trace(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char m[2] = {};
  in.read(reinterpret_cast<char*>(m), 2);
  return in.gcount() == 2 && m[0] == 0x1f && m[1] == 0x8b;  // gzip, as every faultline trace
}

// A trace's DriverEvent back as the SMI record it was imported from.
SmiRecord from_driver(const pb::DriverEvent& d) {
  SmiRecord r;
  r.line = d.source_line();
  r.id = d.event();
  r.kind = static_cast<SmiKind>(d.event());
  r.timed = true;
  r.ns = d.time_ps() / 1000;
  r.pid = d.pid();
  r.addr_pages = d.address_bytes() / kPage;
  r.size_pages = d.size_bytes() / kPage;
  r.node = d.node();
  r.from = d.from_node();
  r.to = d.to_node();
  r.prefetch_loc = d.prefetch_loc();
  r.preferred_loc = d.preferred_loc();
  r.trigger = d.trigger();
  r.write = d.write();
  r.migrated = d.migrated();
  r.rescheduled = d.rescheduled();
  r.has_error = d.has_error_code();
  r.error = d.error_code();
  r.text = d.text();
  return r;
}

Side load(const std::string& path, const SmiOptions& smi, std::optional<uint32_t> pid) {
  Side s;
  s.path = path;
  std::vector<SmiRecord> all;
  if (is_trace(path)) {
    Reader in(path);
    pb::Record rec;
    while (in.next(&rec)) {
      if (!rec.has_driver()) continue;
      const pb::DriverEvent& d = rec.driver();
      if (d.event() == 0 || d.event() >= kSmiKinds) {
        throw InputError(in.where() + ": a driver event of unknown number " + std::to_string(d.event()));
      }
      all.push_back(from_driver(d));
    }
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot open: " + std::strerror(errno));
    SmiLogReader r(in, path, smi);
    SmiRecord e;
    while (r.next(&e)) {
      if (e.timed) all.push_back(e);
    }
  }
  std::map<uint32_t, uint64_t> pids;
  for (const SmiRecord& e : all) ++pids[e.pid];
  if (pids.empty()) throw InputError(path + ": no timed SMI event to compare");
  const auto list = [&] {
    std::string l;
    for (const auto& [p, n] : pids) l += (l.empty() ? "" : ", ") + std::to_string(p) + " (" + std::to_string(n) + " events)";
    return l;
  };
  if (pid) {
    if (pids.count(*pid) == 0) throw InputError(path + ": no timed event of pid " + std::to_string(*pid) + "; its pids: " + list());
    s.pid = *pid;
  } else if (pids.size() == 1) {
    s.pid = pids.begin()->first;
  } else {
    throw InputError(path + ": events of several processes: " + list() + "; name the measured one with --pid");
  }
  s.first_ns = UINT64_MAX;
  for (SmiRecord& e : all) {
    if (e.pid != s.pid) continue;
    s.first_ns = std::min(s.first_ns, e.ns);
    s.events.push_back(std::move(e));
  }
  return s;
}

// What makes two events "the same event about the same thing" (see the header).
using Key = std::tuple<uint32_t, uint64_t, uint64_t, int, int, int32_t, int>;
int place(uint32_t node) { return node == 0 ? 0 : node == 0xffffffffu ? 2 : 1; }
Key key(const SmiRecord& e) {
  int flag = 0;
  if (e.kind == SmiKind::kPageFaultStart) flag = e.write;
  if (e.kind == SmiKind::kPageFaultEnd) flag = e.migrated;
  if (e.kind == SmiKind::kQueueRestore) flag = e.rescheduled;
  const bool mig = e.kind == SmiKind::kMigrateStart || e.kind == SmiKind::kMigrateEnd;
  return Key{static_cast<uint32_t>(e.kind), e.addr_pages, e.size_pages, mig ? place(e.from) : 0, mig ? place(e.to) : 0,
             e.trigger, flag};
}

std::string describe(const SmiRecord& e) {
  char b[160];
  const char* k = smi_kind_name(e.kind);
  const auto loc = [](uint32_t n) { return n == 0 ? "sys" : n == 0xffffffffu ? "undef" : "gpu"; };
  switch (e.kind) {
    case SmiKind::kMigrateStart:
    case SmiKind::kMigrateEnd:
      std::snprintf(b, sizeof b, "%s @%llx(%llx) %s->%s trigger %d", k, static_cast<unsigned long long>(e.addr_pages),
                    static_cast<unsigned long long>(e.size_pages), loc(e.from), loc(e.to), e.trigger);
      break;
    case SmiKind::kPageFaultStart:
    case SmiKind::kPageFaultEnd:
      std::snprintf(b, sizeof b, "%s @%llx %c", k, static_cast<unsigned long long>(e.addr_pages),
                    e.kind == SmiKind::kPageFaultStart ? (e.write ? 'W' : 'R') : (e.migrated ? 'M' : 'U'));
      break;
    case SmiKind::kUnmapFromGpu:
      std::snprintf(b, sizeof b, "%s @%llx(%llx) trigger %d", k, static_cast<unsigned long long>(e.addr_pages),
                    static_cast<unsigned long long>(e.size_pages), e.trigger);
      break;
    case SmiKind::kQueueEviction:
      std::snprintf(b, sizeof b, "%s trigger %d", k, e.trigger);
      break;
    case SmiKind::kQueueRestore:
      std::snprintf(b, sizeof b, "%s%s", k, e.rescheduled ? " R" : "");
      break;
    default:
      std::snprintf(b, sizeof b, "%s", k);
  }
  return b;
}

// Nearest-rank percentile of sorted values.
double pct(const std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size(), std::max<size_t>(rank, 1)) - 1];
}

std::string us3(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

// Durations (us) from each start to the end that follows it about the same thing.
std::vector<double> durations(const Side& s, SmiKind start, SmiKind end) {
  std::map<std::pair<uint64_t, uint64_t>, std::deque<uint64_t>> open;
  std::vector<double> d;
  for (const SmiRecord& e : s.events) {
    // A fault ends on its page whatever size it migrated; a migration on its range.
    const auto k = std::make_pair(e.addr_pages, start == SmiKind::kPageFaultStart ? 0 : e.size_pages);
    if (e.kind == start) {
      open[k].push_back(e.ns);
    } else if (e.kind == end) {
      auto it = open.find(k);
      if (it == open.end() || it->second.empty()) continue;
      const uint64_t t0 = it->second.front();
      it->second.pop_front();
      d.push_back(e.ns >= t0 ? static_cast<double>(e.ns - t0) / 1000.0 : 0.0);
    }
  }
  std::sort(d.begin(), d.end());
  return d;
}

}  // namespace

SmiComparison compare_smi(const std::string& measured_path, const std::string& simulated_path,
                          const SmiCompareOptions& opts) {
  const Side m = load(measured_path, opts.smi, opts.pid);
  const Side s = load(simulated_path, opts.smi, std::nullopt);
  SmiComparison out;
  out.measured_events = m.events.size();
  out.simulated_events = s.events.size();

  // Pair the n-th event of a key on one side with the n-th on the other.
  std::map<Key, std::deque<size_t>> sim_by_key;
  for (size_t i = 0; i < s.events.size(); ++i) sim_by_key[key(s.events[i])].push_back(i);
  std::vector<bool> sim_matched(s.events.size(), false);
  std::vector<size_t> m_unmatched;
  struct PerKind {
    uint64_t measured = 0, simulated = 0, matched = 0;
    std::vector<double> offset_us;
  };
  std::map<uint32_t, PerKind> kinds;
  for (size_t i = 0; i < m.events.size(); ++i) {
    const SmiRecord& e = m.events[i];
    PerKind& pk = kinds[static_cast<uint32_t>(e.kind)];
    ++pk.measured;
    auto it = sim_by_key.find(key(e));
    if (it == sim_by_key.end() || it->second.empty()) {
      m_unmatched.push_back(i);
      continue;
    }
    const size_t j = it->second.front();
    it->second.pop_front();
    sim_matched[j] = true;
    ++pk.matched;
    ++out.matched;
    const double tm = static_cast<double>(e.ns - m.first_ns) / 1000.0;
    const double ts = static_cast<double>(s.events[j].ns - s.first_ns) / 1000.0;
    pk.offset_us.push_back(ts - tm);
  }
  std::vector<size_t> s_unmatched;
  for (size_t j = 0; j < s.events.size(); ++j) {
    ++kinds[static_cast<uint32_t>(s.events[j].kind)].simulated;
    if (!sim_matched[j]) s_unmatched.push_back(j);
  }

  std::string r;
  r += "measured:  " + m.path + " (pid " + std::to_string(m.pid) + ", " + std::to_string(m.events.size()) + " timed events)\n";
  r += "simulated: " + s.path + " (pid " + std::to_string(s.pid) + ", " + std::to_string(s.events.size()) + " timed events)\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-18s %9s %9s %9s %9s %9s %14s %14s\n", "event", "measured", "simulated", "matched",
                "only meas", "only sim", "offset p50 us", "offset p90 us");
  r += line;
  for (auto& [k, pk] : kinds) {
    std::sort(pk.offset_us.begin(), pk.offset_us.end());
    std::snprintf(line, sizeof line, "%-18s %9llu %9llu %9llu %9llu %9llu %14s %14s\n", smi_kind_name(static_cast<SmiKind>(k)),
                  static_cast<unsigned long long>(pk.measured), static_cast<unsigned long long>(pk.simulated),
                  static_cast<unsigned long long>(pk.matched), static_cast<unsigned long long>(pk.measured - pk.matched),
                  static_cast<unsigned long long>(pk.simulated - pk.matched),
                  pk.offset_us.empty() ? "-" : us3(pct(pk.offset_us, 50)).c_str(),
                  pk.offset_us.empty() ? "-" : us3(pct(pk.offset_us, 90)).c_str());
    r += line;
  }
  r += "\n";
  std::snprintf(line, sizeof line, "%-22s %-9s %8s %12s %12s %12s %12s\n", "duration (us)", "side", "count", "p50", "p90", "p99", "max");
  r += line;
  const auto dur_rows = [&](const char* what, SmiKind a, SmiKind b) {
    for (const Side* side : {&m, &s}) {
      const std::vector<double> d = durations(*side, a, b);
      std::snprintf(line, sizeof line, "%-22s %-9s %8zu %12.3f %12.3f %12.3f %12.3f\n", what,
                    side == &m ? "measured" : "simulated", d.size(), pct(d, 50), pct(d, 90), pct(d, 99),
                    d.empty() ? 0.0 : d.back());
      r += line;
    }
  };
  dur_rows("page fault", SmiKind::kPageFaultStart, SmiKind::kPageFaultEnd);
  dur_rows("migration", SmiKind::kMigrateStart, SmiKind::kMigrateEnd);
  const auto list = [&](const Side& side, const std::vector<size_t>& idx, const char* title) {
    r += "\n" + std::to_string(idx.size()) + " " + title + (idx.size() > opts.show && opts.show > 0 ? " (first " + std::to_string(opts.show) + ")" : "") +
         (idx.empty() ? "\n" : ":\n");
    for (size_t n = 0; n < idx.size() && n < opts.show; ++n) {
      const SmiRecord& e = side.events[idx[n]];
      r += "  " + side.path + ":" + std::to_string(e.line) + "  t=" + us3(static_cast<double>(e.ns - side.first_ns) / 1000.0) +
           " us  " + describe(e) + "\n";
    }
  };
  list(m, m_unmatched, "measured events without a simulated match");
  list(s, s_unmatched, "simulated events without a measured match");
  out.report = std::move(r);
  return out;
}

}  // namespace fl::trace
