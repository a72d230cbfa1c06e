#include "sim/platform/host_memory.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "driver-model/address_space.h"
#include "sim/core/errors.h"
#include "sim/core/format.h"

namespace fl::platform {

namespace {

constexpr uint64_t kPage = 4096;
// One GPU PTE: 8 bytes of a simulated page-table page, held by SparseMemory in host memory
// (page-directory levels add 1/512 of that and are folded in by rounding up).
constexpr uint64_t kPteBytes = 8;
// SvmRange keeps in_vram and gpu_mapped, one byte each, per page (driver-model/svm.h).
constexpr uint64_t kSvmBitmapBytes = 2;
// A page the GPU maps: PTE, bitmaps and, once migrated, the address-space exception.
constexpr uint64_t kGpuPageBytes = kPteBytes + kSvmBitmapBytes + driver::AddressSpace::kHostBytesPerExceptionPage;
// POINTER_CHASE: the successor of each slot (hw/compute_units.h chase_next, 4 bytes) and
// the permutation it is built from; 8 bytes per slot bounds both.
constexpr uint64_t kChaseSlotBytes = 8;
// The models of an empty run (SystemC kernel, caches, rings, stats): well above the
// 15 MiB peak RSS of the default run, so that small workloads never come near a limit.
constexpr uint64_t kBaseBytes = 64ULL << 20;
// DENSITY prefetch grows a fault's region up to its 2 MiB block (driver-model/fault_prefetch.h).
constexpr uint64_t kDensityBlockPages = 512;

uint64_t pages_of(uint64_t bytes) { return bytes / kPage + (bytes % kPage != 0 ? 1 : 0); }

uint64_t sat_mul(uint64_t a, uint64_t b) { return (a != 0 && b > UINT64_MAX / a) ? UINT64_MAX : a * b; }
uint64_t sat_add(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

// The first number on the line of /proc/meminfo that starts with `key`, in bytes (0: none).
uint64_t meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    std::istringstream ss(line.substr(key.size()));
    uint64_t kib = 0;
    if (ss >> kib) return kib * 1024;
  }
  return 0;
}

// A whole number read from a cgroup file; 0 if absent or "max".
uint64_t cgroup_value(const std::string& file) {
  std::ifstream in("/sys/fs/cgroup/" + file);
  uint64_t v = 0;
  if (in >> v) return v;
  return 0;
}

}  // namespace

HostMemoryEstimate estimate_host_memory(const Workload& w, const config::Config& cfg) {
  // Pages one fault can migrate and map: the largest granularity window any range can have,
  // or the DENSITY prefetch block.
  uint32_t granularity = cfg.driver().svm().default_granularity();
  for (const wl::Op& op : w.msg.op()) {
    if (op.has_svm_alloc() && op.svm_alloc().has_granularity()) granularity = std::max(granularity, op.svm_alloc().granularity());
    if (op.has_set_attr() && op.set_attr().has_granularity()) granularity = std::max(granularity, op.set_attr().granularity());
  }
  uint64_t fault_pages = uint64_t{1} << std::min<uint32_t>(granularity, 40);
  if (cfg.driver().svm().prefetch() == config::Svm::DENSITY) fault_pages = std::max(fault_pages, kDensityBlockPages);

  std::map<std::string, uint64_t> regions;  // name -> bytes
  const auto region_bytes = [&regions](const std::string& name) {
    const auto it = regions.find(name);
    return it == regions.end() ? uint64_t{0} : it->second;
  };
  HostMemoryEstimate e;
  e.bytes = kBaseBytes;
  for (int i = 0; i < w.msg.op_size(); ++i) {
    const wl::Op& op = w.msg.op(i);
    uint64_t bytes = 0;
    switch (op.kind_case()) {
      case wl::Op::kMmap:
        regions[op.mmap().name()] = op.mmap().size_bytes();
        break;
      case wl::Op::kSvmAlloc:
        regions[op.svm_alloc().name()] = op.svm_alloc().size_bytes();
        bytes = sat_mul(pages_of(op.svm_alloc().size_bytes()), kSvmBitmapBytes);
        break;
      case wl::Op::kVramAlloc:
        bytes = sat_mul(pages_of(op.vram_alloc().size_bytes()), kPteBytes);
        break;
      case wl::Op::kPrefetch:
        bytes = sat_mul(pages_of(region_bytes(op.prefetch().range())), kGpuPageBytes);
        break;
      case wl::Op::kCpuTouch: {
        const uint64_t all = region_bytes(op.cpu_touch().range());
        const uint64_t size = op.cpu_touch().has_size_bytes() ? op.cpu_touch().size_bytes()
                                                              : all - std::min(all, op.cpu_touch().offset_bytes());
        bytes = sat_mul(pages_of(size), driver::AddressSpace::kHostBytesPerExceptionPage);
        break;
      }
      case wl::Op::kLaunch: {
        const wl::Launch& l = op.launch();
        const uint64_t range = region_bytes(l.range());
        const hw::KernelSpec s = kernel_spec(l, 0, range, cfg.soc().gpu().cu(), static_cast<size_t>(i));
        const uint64_t accesses = sat_mul(sat_mul(s.cus, s.waves_per_cu), s.accesses_per_wave);
        // Each access can fault at most once and bring one fault's window; the windows
        // around the footprint's two ends may reach beyond it, not beyond the range.
        const uint64_t pages = std::min({pages_of(range), sat_mul(accesses, fault_pages),
                                         sat_add(pages_of(s.footprint_bytes), 2 * fault_pages)});
        bytes = sat_mul(pages, kGpuPageBytes);
        if (l.pattern() == wl::POINTER_CHASE && s.stride_bytes > 0) {
          bytes = sat_add(bytes, sat_mul(s.footprint_bytes / s.stride_bytes, kChaseSlotBytes));
        }
        break;
      }
      case wl::Op::kDmaCopy: {
        const auto& c = op.dma_copy();
        const uint64_t window = c.has_window_bytes() ? c.window_bytes() : sat_mul(c.bytes(), c.count());
        bytes = sat_mul(pages_of(window), kPteBytes);
        break;
      }
      default:
        break;
    }
    e.bytes = sat_add(e.bytes, bytes);
    if (bytes > e.largest_bytes) {
      e.largest_bytes = bytes;
      e.largest_op = w.where(static_cast<size_t>(i));
    }
  }
  return e;
}

uint64_t host_memory_available() {
  uint64_t avail = meminfo_bytes("MemAvailable:");
  const uint64_t max = cgroup_value("memory.max");
  if (max != 0) {
    const uint64_t used = cgroup_value("memory.current");
    const uint64_t left = max > used ? max - used : 0;
    avail = avail == 0 ? left : std::min(avail, left);
  }
  return avail;
}

void check_host_memory(const Workload& w, const config::Config& cfg) {
  const uint64_t set = cfg.sim().host_memory_limit_bytes();
  const uint64_t limit = set != 0 ? set : host_memory_available();
  if (limit == 0) return;  // the host says nothing: nothing to check against
  const HostMemoryEstimate e = estimate_host_memory(w, cfg);
  if (e.bytes <= limit) return;
  throw InputError(w.source + ": the run would need up to " + format_bytes(e.bytes) +
                   " of host memory for the models' per-page state, more than the " + format_bytes(limit) +
                   (set != 0 ? " of sim.host_memory_limit_bytes" : " this host has available") + "; the largest part, " +
                   format_bytes(e.largest_bytes) + ", is " + e.largest_op +
                   " (docs/reliability.md says how the estimate is made; set sim.host_memory_limit_bytes to override)");
}

}  // namespace fl::platform
