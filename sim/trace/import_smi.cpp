#include "sim/trace/import_smi.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include "sim/core/errors.h"
#include "sim/trace/trace_file.h"

namespace fl::trace {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kBlock = uint64_t{2} << 20;
constexpr uint32_t kDefaultCus = 104;  // the default config's soc.gpu.cu.count
// x86-64 with 5-level paging: user addresses are below 2^56; no log holds more.
constexpr uint64_t kMaxVaPages = (uint64_t{1} << 56) / kPage;
constexpr uint64_t kMaxSpanNs = 1'000'000'000'000'000;  // 11.6 days: beyond it a timestamp is corrupt

bool addressed(SmiKind k) {
  return k == SmiKind::kMigrateStart || k == SmiKind::kMigrateEnd || k == SmiKind::kPageFaultStart ||
         k == SmiKind::kPageFaultEnd || k == SmiKind::kUnmapFromGpu;
}

// KFD_MIGRATE_TRIGGER_*.
constexpr int32_t kTriggerPrefetch = 0;
constexpr int32_t kTriggerPagefaultCpu = 2;

struct Process {
  uint64_t events = 0;
  uint64_t first_ns = UINT64_MAX;
  uint64_t last_ns = 0;
  std::map<uint64_t, uint64_t> spans;             // 2 MiB blocks named: first -> last, disjoint, not adjacent
  std::map<uint64_t, uint64_t> faults_per_block;  // 2 MiB block -> PAGE_FAULT_STARTs

  void add_span(uint64_t lo, uint64_t hi) {
    auto it = spans.upper_bound(lo);
    if (it != spans.begin()) {
      const auto p = std::prev(it);
      if (p->second + 1 >= lo) {
        lo = p->first;
        hi = std::max(hi, p->second);
        it = spans.erase(p);
      }
    }
    while (it != spans.end() && it->first <= hi + 1) {
      hi = std::max(hi, it->second);
      it = spans.erase(it);
    }
    spans[lo] = hi;
  }
};

struct Region {
  uint64_t lo_block = 0, hi_block = 0;  // inclusive
  uint64_t faults = 0;
  int kernel = -1;
  std::string name;
  // Which wave a fault came from is not in the log: a fault goes to the lowest-numbered
  // stream whose previous fault has ended (its PAGE_FAULT_END logged), a new one if none
  // has, so the streams are as many as the faults the log shows in flight at once.
  std::set<uint32_t> free_streams;
  uint32_t streams = 0;
  std::map<uint64_t, std::deque<uint32_t>> open;  // page -> streams with a fault on it in flight
  std::vector<uint64_t> next_index;               // per stream
  uint32_t stream_count = 0;                      // found by the streams pass
  uint32_t fault_starts(uint64_t page) {
    uint32_t st;
    if (free_streams.empty()) {
      st = streams++;
    } else {
      st = *free_streams.begin();
      free_streams.erase(free_streams.begin());
    }
    open[page].push_back(st);
    return st;
  }
  void fault_ends(uint64_t page) {
    const auto it = open.find(page);
    if (it == open.end()) return;
    free_streams.insert(it->second.front());
    it->second.pop_front();
    if (it->second.empty()) open.erase(it);
  }
  void reset_streams() {
    free_streams.clear();
    open.clear();
    streams = 0;
  }
  uint64_t va() const { return lo_block * kBlock; }
  uint64_t bytes() const { return (hi_block - lo_block + 1) * kBlock; }
};

std::ifstream open_log(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open: " + std::strerror(errno));
  return in;
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

}  // namespace

ImportSummary import_smi(const std::string& in_path, const std::string& out_path, const SmiImportOptions& opts) {
  if (opts.access_bytes == 0 || opts.access_bytes > kPage || (opts.access_bytes & (opts.access_bytes - 1)) != 0) {
    throw InputError("--access-bytes must be a power of two from 1 to 4096");
  }
  // Pass 1: the processes, their time span and the blocks they name.
  std::map<uint32_t, Process> procs;
  std::map<uint32_t, uint64_t> unknown;
  uint64_t lines = 0;
  {
    std::ifstream in = open_log(in_path);
    SmiLogReader r(in, in_path, opts.smi);
    SmiRecord e;
    while (r.next(&e)) {
      const std::string where = in_path + ":" + std::to_string(e.line);
      if (addressed(e.kind)) {
        if (e.addr_pages >= kMaxVaPages || e.size_pages > kMaxVaPages - e.addr_pages) {
          throw InputError(where + ": address " + hex(e.addr_pages) + " (pages) + size " + hex(e.size_pages) +
                           " is beyond the user address space (2^56 bytes)");
        }
        if (e.size_pages == 0) throw InputError(where + ": a " + smi_kind_name(e.kind) + " of 0 pages");
      }
      if (!e.timed) continue;
      Process& p = procs[e.pid];
      ++p.events;
      p.first_ns = std::min(p.first_ns, e.ns);
      p.last_ns = std::max(p.last_ns, e.ns);
      if (addressed(e.kind)) {
        const uint64_t lo = e.addr_pages * kPage / kBlock;
        const uint64_t hi = ((e.addr_pages + e.size_pages) * kPage - 1) / kBlock;
        p.add_span(lo, hi);
        if (e.kind == SmiKind::kPageFaultStart) ++p.faults_per_block[lo];
      }
    }
    lines = r.lines();
    unknown = r.unknown();
  }
  if (procs.empty()) throw InputError(in_path + ": no timed SMI event (page faults, migrations, queue evictions ...) to import");
  uint32_t pid;
  if (opts.pid) {
    if (procs.count(*opts.pid) == 0) {
      std::string list;
      for (const auto& [p, _] : procs) list += (list.empty() ? "" : ", ") + std::to_string(p);
      throw InputError(in_path + ": no timed event of pid " + std::to_string(*opts.pid) + " (the log's pids: " + list + ")");
    }
    pid = *opts.pid;
  } else if (procs.size() == 1) {
    pid = procs.begin()->first;
  } else {
    std::string list;
    for (const auto& [p, info] : procs) list += (list.empty() ? "" : ", ") + std::to_string(p) + " (" + std::to_string(info.events) + " events)";
    throw InputError(in_path + ": events of several processes: " + list + "; name the one to import with --pid");
  }
  const Process& proc = procs[pid];
  if (proc.last_ns - proc.first_ns > kMaxSpanNs) {
    throw InputError(in_path + ": pid " + std::to_string(pid) + "'s events span " + std::to_string(proc.last_ns - proc.first_ns) +
                     " ns (more than 11 days): a timestamp is corrupt");
  }

  // Regions: nearby blocks share one; then the closest are merged until few enough remain.
  std::vector<Region> regions;
  for (const auto& [lo, hi] : proc.spans) {
    if (!regions.empty() && lo - regions.back().hi_block - 1 <= kRegionGapBytes / kBlock) {
      regions.back().hi_block = hi;
    } else {
      Region g;
      g.lo_block = lo;
      g.hi_block = hi;
      regions.push_back(g);
    }
  }
  while (regions.size() > kMaxRegions) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < regions.size(); ++i) {
      if (regions[i + 1].lo_block - regions[i].hi_block < regions[best + 1].lo_block - regions[best].hi_block) best = i;
    }
    regions[best].hi_block = regions[best + 1].hi_block;
    regions.erase(regions.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  const auto region_of = [&](uint64_t addr_pages) -> Region& {
    const uint64_t b = addr_pages * kPage / kBlock;
    auto it = std::upper_bound(regions.begin(), regions.end(), b, [](uint64_t v, const Region& r) { return v < r.lo_block; });
    return *std::prev(it);  // pass 1 put every addressed block in a region
  };

  for (const auto& [b, faults] : proc.faults_per_block) region_of(b * kBlock / kPage).faults += faults;

  // Pass 2: the streams (the same assignment pass 3 makes, to size the kernels).
  const auto each_event = [&](const auto& fn) {
    std::ifstream in = open_log(in_path);
    SmiLogReader r(in, in_path, opts.smi);
    SmiRecord e;
    while (r.next(&e)) fn(e);
  };
  each_event([&](const SmiRecord& e) {
    if (!e.timed || e.pid != pid) return;
    if (e.kind == SmiKind::kPageFaultStart) region_of(e.addr_pages).fault_starts(e.addr_pages);
    if (e.kind == SmiKind::kPageFaultEnd) region_of(e.addr_pages).fault_ends(e.addr_pages);
  });
  for (Region& g : regions) {
    g.next_index.assign(g.streams, 0);
    g.stream_count = g.streams;
    g.reset_streams();
  }

  pb::Header h;
  h.set_source("import smi " + in_path);
  h.set_page_size_bytes(kPage);
  uint64_t footprint = 0;
  int kernels = 0;
  for (size_t i = 0; i < regions.size(); ++i) {
    Region& g = regions[i];
    g.name = "smi" + std::to_string(i);
    footprint += g.bytes();
    if (g.faults == 0) continue;
    g.kernel = kernels++;
    pb::Stream* s = h.add_stream();
    s->set_kernel(static_cast<uint32_t>(g.kernel));
    s->set_description("streams 0-" + std::to_string(g.stream_count - 1) + ": the " + std::to_string(g.faults) +
                       " page faults of pid " + std::to_string(pid) + " in [" + hex(g.va()) + ", " +
                       hex(g.va() + g.bytes()) + "), a fault to the first stream whose last fault had ended");
  }
  h.set_footprint_bytes(footprint);
  Writer out(out_path, h);
  pb::Record rec;
  const auto op = [&](const auto& fill) {
    rec.Clear();
    fill(rec.mutable_cpu()->mutable_op());
    out.write(rec);
  };
  for (const Region& g : regions) {
    op([&](faultline::workload::Op* o) {
      o->mutable_mmap()->set_name(g.name);
      o->mutable_mmap()->set_size_bytes(g.bytes());
      o->mutable_mmap()->set_va(g.va());
    });
  }
  for (const Region& g : regions) {
    if (g.kernel < 0) continue;
    op([&](faultline::workload::Op* o) {
      auto* k = o->mutable_launch();
      k->set_name(g.name);
      k->set_range(g.name);
      k->set_queue(g.name);
      const uint32_t cus = std::min(g.stream_count, kDefaultCus);
      k->set_cus(cus);
      k->set_waves_per_cu((g.stream_count + cus - 1) / cus);
      k->set_outstanding_per_wave(1);
      k->set_access_bytes(opts.access_bytes);
    });
  }

  // Pass 3: the records.
  ImportSummary sum;
  sum.lines = lines;
  sum.experiments = static_cast<uint64_t>(kernels);
  uint64_t kinds[kSmiKinds] = {};
  uint64_t other_pids = 0, untimed = 0, prefetches = 0, cpu_touches = 0;
  uint64_t cpu_ns = proc.first_ns;  // where the CPU's operations have reached
  each_event([&](const SmiRecord& e) {
      if (!e.timed) {
        ++untimed;
        return;
      }
      if (e.pid != pid) {
        ++other_pids;
        return;
      }
      ++kinds[static_cast<uint32_t>(e.kind)];
      rec.Clear();
      pb::DriverEvent* d = rec.mutable_driver();
      d->set_event(e.id);
      d->set_time_ps((e.ns - proc.first_ns) * 1000);
      d->set_pid(e.pid);
      d->set_source_line(e.line);
      if (addressed(e.kind)) {
        d->set_address_bytes(e.addr_pages * kPage);
        d->set_size_bytes(e.size_pages * kPage);
      }
      if (e.node != 0) d->set_node(e.node);
      if (e.kind == SmiKind::kMigrateStart || e.kind == SmiKind::kMigrateEnd) {
        d->set_from_node(e.from);
        d->set_to_node(e.to);
        d->set_trigger(e.trigger);
      }
      if (e.kind == SmiKind::kMigrateStart) {
        d->set_prefetch_loc(e.prefetch_loc);
        d->set_preferred_loc(e.preferred_loc);
      }
      if (e.kind == SmiKind::kQueueEviction || e.kind == SmiKind::kUnmapFromGpu) d->set_trigger(e.trigger);
      if (e.kind == SmiKind::kPageFaultStart) d->set_write(e.write);
      if (e.kind == SmiKind::kPageFaultEnd) d->set_migrated(e.migrated);
      if (e.rescheduled) d->set_rescheduled(true);
      if (e.has_error) d->set_error_code(e.error);
      if (!e.text.empty()) d->set_text(e.text);
      out.write(rec);

      if (e.kind == SmiKind::kPageFaultEnd) region_of(e.addr_pages).fault_ends(e.addr_pages);
      if (e.kind == SmiKind::kPageFaultStart) {
        Region& g = region_of(e.addr_pages);
        const uint32_t st = g.fault_starts(e.addr_pages);
        rec.Clear();
        pb::GpuAccess* a = rec.mutable_access();
        a->set_kernel(static_cast<uint32_t>(g.kernel));
        a->set_stream(st);
        a->set_index(g.next_index[st]++);
        a->set_offset_bytes(e.addr_pages * kPage - g.va());
        a->set_size_bytes(opts.access_bytes);
        a->set_write(e.write);
        a->set_issue_ps((e.ns - proc.first_ns) * 1000);
        out.write(rec);
        ++sum.accesses;
      } else if (e.kind == SmiKind::kMigrateStart &&
                 (e.trigger == kTriggerPrefetch || e.trigger == kTriggerPagefaultCpu)) {
        const Region& g = region_of(e.addr_pages);
        if (e.ns > cpu_ns) {
          op([&](faultline::workload::Op* o) { o->mutable_sleep()->set_ns(static_cast<double>(e.ns - cpu_ns)); });
          cpu_ns = e.ns;
        }
        const uint64_t off = e.addr_pages * kPage - g.va();
        const uint64_t bytes = e.size_pages * kPage;
        if (e.trigger == kTriggerPrefetch) {
          op([&](faultline::workload::Op* o) {
            auto* s = o->mutable_set_attr();
            s->set_range(g.name);
            s->set_offset_bytes(off);
            s->set_size_bytes(bytes);
            s->set_prefetch_loc(e.to == 0 ? faultline::workload::SYSMEM : faultline::workload::GPU);
          });
          ++prefetches;
        } else {
          op([&](faultline::workload::Op* o) {
            auto* t = o->mutable_cpu_touch();
            t->set_range(g.name);
            t->set_offset_bytes(off);
            t->set_size_bytes(bytes);
          });
          ++cpu_touches;
        }
      }
  });
  for (const Region& g : regions) {
    if (g.kernel >= 0) op([&](faultline::workload::Op* o) { o->mutable_wait()->set_kernel(g.name); });
  }
  out.finish();

  sum.notes.push_back("pid " + std::to_string(pid) + ": " + std::to_string(proc.events) + " timed events over " +
                      std::to_string(proc.last_ns - proc.first_ns) + " ns");
  std::string k;
  for (uint32_t i = 1; i < kSmiKinds; ++i) {
    if (kinds[i] != 0) k += (k.empty() ? "" : ", ") + std::string(smi_kind_name(static_cast<SmiKind>(i))) + " " + std::to_string(kinds[i]);
  }
  if (!k.empty()) sum.notes.push_back("events: " + k);
  for (const Region& g : regions) {
    sum.notes.push_back("region " + g.name + ": [" + hex(g.va()) + ", " + hex(g.va() + g.bytes()) + "), " +
                        std::to_string(g.faults) + " page faults from " + std::to_string(g.stream_count) + " streams" +
                        (g.bytes() > (uint64_t{64} << 30) ? " (over 64 GiB: the replay's soc.host.dram.capacity_bytes must hold it)" : ""));
  }
  sum.notes.push_back("replayed as: " + std::to_string(sum.accesses) + " faulting accesses, " + std::to_string(prefetches) +
                      " prefetches, " + std::to_string(cpu_touches) + " CPU touches");
  if (other_pids != 0) sum.notes.push_back(std::to_string(other_pids) + " events of other processes skipped");
  if (untimed != 0) sum.notes.push_back(std::to_string(untimed) + " events without a timestamp (VMFAULT, THERMAL_THROTTLE, GPU resets, PROCESS_*, DROPPED_EVENT) not imported");
  for (const auto& [id, n] : unknown) {
    sum.notes.push_back("event number " + std::to_string(id) + ": " + std::to_string(n) + " lines skipped (not a known SMI event)");
  }
  return sum;
}

}  // namespace fl::trace
