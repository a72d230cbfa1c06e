#include "sim/platform/workload.h"

#include "sim/platform/trace_io.h"

#include <cmath>
#include <set>

#include "sim/core/errors.h"
#include "sim/core/sim_status.h"
#include "sim/core/textproto.h"
#include "sim/core/rng.h"
#include "sim/core/time.h"
#include "sim/core/waits.h"

namespace fl::platform {

namespace {

const char* kind_name(const wl::Op& op) {
  switch (op.kind_case()) {
    case wl::Op::kSvmAlloc: return "svm_alloc";
    case wl::Op::kSetAttr: return "set_attr";
    case wl::Op::kPrefetch: return "prefetch";
    case wl::Op::kLaunch: return "launch";
    case wl::Op::kWait: return "wait";
    case wl::Op::kSleep: return "sleep";
    case wl::Op::kMmap: return "mmap";
    case wl::Op::kVramAlloc: return "vram_alloc";
    case wl::Op::kPreempt: return "preempt";
    case wl::Op::kRestore: return "restore";
    case wl::Op::kDmaCopy: return "dma_copy";
    case wl::Op::kMunmap: return "munmap";
    case wl::Op::kMprotect: return "mprotect";
    case wl::Op::kFork: return "fork";
    case wl::Op::kCpuTouch: return "cpu_touch";
    case wl::Op::kSetXnack: return "set_xnack";
    case wl::Op::kHoldLock: return "hold_lock";
    case wl::Op::kBoCreate: return "bo_create";
    case wl::Op::kBoFree: return "bo_free";
    case wl::Op::kMemoryPressure: return "memory_pressure";
    case wl::Op::kUserptr: return "userptr";
    case wl::Op::KIND_NOT_SET: break;
  }
  return "empty op";
}

bool power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }
constexpr uint64_t kPage = 4096;
constexpr uint32_t kMaxGranularity = 30;

}  // namespace

std::string Workload::where(size_t i) const {
  const int line = i < lines.size() ? lines[i] : 0;
  const std::string at = line <= 0 ? "" : from_trace ? ": record " + std::to_string(line) : ":" + std::to_string(line);
  return source + at + ": op " + std::to_string(i + 1) +
         " (" + kind_name(msg.op(static_cast<int>(i))) + ")";
}

Workload load_workload(const std::string& path) {
  Workload w;
  w.source = path.empty() ? "built-in workload traces/workloads/stream.textproto" : path;
  const std::string text = path.empty() ? builtin_workload_text() : read_text_file(path, "workload file");
  google::protobuf::TextFormat::ParseInfoTree tree;
  parse_textproto(text, w.source, &w.msg, &tree);
  const auto* op_field = wl::Workload::descriptor()->FindFieldByName("op");
  for (int i = 0; i < w.msg.op_size(); ++i) {
    const auto loc = tree.GetLocation(op_field, i);
    w.lines.push_back(loc.line >= 0 ? loc.line + 1 : 0);
  }
  if (w.msg.op_size() == 0) throw InputError(w.source + ": the workload has no operations");
  return w;
}

hw::KernelSpec kernel_spec(const wl::Launch& l, uint64_t va, uint64_t bytes,
                           const config::ComputeUnits& cu, size_t index) {
  hw::KernelSpec s;
  s.name = l.has_name() ? l.name() : "k" + std::to_string(index);
  s.base_va = va + l.offset_bytes();
  s.footprint_bytes = l.has_footprint_bytes() ? l.footprint_bytes()
                                              : (bytes > l.offset_bytes() ? bytes - l.offset_bytes() : 0);
  s.pattern = l.pattern();
  s.access_bytes = l.access_bytes();
  s.stride_bytes = (l.pattern() == wl::STRIDED || l.pattern() == wl::POINTER_CHASE) ? l.stride_bytes()
                                                                                    : l.access_bytes();
  s.write_fraction = l.write_fraction();
  s.cus = l.has_cus() ? l.cus() : cu.count();
  s.waves_per_cu = l.waves_per_cu();
  s.outstanding_per_wave = l.outstanding_per_wave();
  const uint64_t waves = uint64_t{s.cus} * s.waves_per_cu;
  if (l.has_accesses_per_wave()) {
    s.accesses_per_wave = l.accesses_per_wave();
  } else if (s.stride_bytes > 0 && waves > 0) {
    // One pass over the footprint, shared by all waves.
    const uint64_t per_pass = s.footprint_bytes / s.stride_bytes;
    s.accesses_per_wave = std::max<uint64_t>(1, (per_pass + waves - 1) / waves);
  }
  s.vmid = driver::Driver::kVmid;
  s.pasid = driver::Driver::kPasid;
  return s;
}

hw::KernelDescriptor kernel_descriptor(const wl::Launch& l, const hw::KernelSpec& s) {
  hw::KernelDescriptor d;
  if (l.has_workgroups()) {
    d.workgroups = l.workgroups();
    d.waves_per_workgroup = l.waves_per_workgroup();
  } else {
    d.workgroups = s.cus * s.waves_per_cu;
    d.waves_per_workgroup = 1;
  }
  d.vgprs_per_wave = l.vgprs_per_wave();
  d.sgprs_per_wave = l.sgprs_per_wave();
  d.lds_bytes_per_workgroup = l.lds_bytes_per_workgroup();
  return d;
}

void apply_descriptor(const hw::KernelDescriptor& d, const hw::CuResources& res, hw::KernelSpec& s) {
  const hw::Residency r = hw::residency(d, res);
  s.cus = r.cus_used;
  s.waves_per_cu = r.workgroups_per_cu * d.waves_per_workgroup;
}

void validate_workload(const Workload& w, const config::Config& cfg) {
  const hw::CuResources res = hw::CommandProcessor::resources(cfg.soc().gpu().cp(), cfg.soc().gpu().cu());
  std::set<std::string> queues;
  std::set<std::string> evicted;
  std::map<std::string, std::pair<uint64_t, bool>> regions;  // name -> (bytes, svm)
  std::set<std::string> kernels;
  std::map<std::string, uint64_t> copy_buffers;  // dma_copy buffer -> window
  std::set<std::string> children;
  std::set<std::string> vram_bos;
  std::map<std::string, bool> ttm_bos;  // bo_create name -> freed
  size_t launches = 0;
  bool xnack = !cfg.driver().vm().noretry();
  const uint64_t host_bytes = cfg.soc().host().dram().capacity_bytes();
  const auto ttm_limit = static_cast<uint64_t>(static_cast<double>(host_bytes) * cfg.driver().ttm().pages_limit_percent() / 100.0);
  if (cfg.driver().ttm().fence_policy() == config::Ttm::PREEMPT_MID_FAULT && !cfg.soc().gpu().cp().preempt_with_fault_pending()) {
    throw InputError(w.source + ": driver.ttm.fence_policy PREEMPT_MID_FAULT relies on the GPU preempting queues with "
                     "faults pending, but soc.gpu.cp.preempt_with_fault_pending is false");
  }
  const auto strategy = cfg.driver().svm().notifier_strategy();
  if (!xnack && strategy == config::Svm::UNMAP_FROM_GPU) {
    throw InputError(w.source + ": driver.svm.notifier_strategy UNMAP_FROM_GPU needs XNACK on (retry faults), "
                     "but driver.vm.noretry is true");
  }
  for (int i = 0; i < w.msg.op_size(); ++i) {
    const wl::Op& op = w.msg.op(i);
    const auto fail = [&](const std::string& msg) {
      throw InputError(w.where(static_cast<size_t>(i)) + ": " + msg);
    };
    const auto region = [&](const std::string& name) -> std::pair<uint64_t, bool> {
      if (name.empty()) fail("names no range");
      const auto it = regions.find(name);
      if (it == regions.end()) fail("no earlier mmap, svm_alloc or vram_alloc named '" + name + "'");
      return it->second;
    };
    // [offset, offset + size) of a host mapping (not a vram_alloc).
    const auto check_part = [&](const std::string& name, uint64_t offset, bool has_size, uint64_t size) {
      const uint64_t bytes = region(name).first;
      if (vram_bos.count(name) != 0) fail("'" + name + "' is device memory (vram_alloc), not a CPU mapping");
      if (offset % kPage != 0 || (has_size && size % kPage != 0)) fail("offset_bytes and size_bytes must be page aligned (4096)");
      if (offset >= bytes) fail("offset_bytes is beyond the end of '" + name + "'");
      if (has_size && (size == 0 || offset + size > bytes)) fail("size_bytes must be positive and fit in '" + name + "' after offset_bytes");
    };
    const auto check_alloc = [&](const std::string& name, uint64_t bytes, bool has_va, uint64_t va) {
      if (name.empty()) fail("needs a name");
      if (regions.count(name) != 0) fail("the name '" + name + "' is already used");
      if (bytes == 0) fail("size_bytes must be positive");
      if (has_va && va % kPage != 0) fail("va must be page aligned (4096)");
    };
    switch (op.kind_case()) {
      case wl::Op::kMmap: {
        const auto& m = op.mmap();
        check_alloc(m.name(), m.size_bytes(), m.has_va(), m.va());
        regions[m.name()] = {(m.size_bytes() + kPage - 1) / kPage * kPage, false};
        break;
      }
      case wl::Op::kVramAlloc: {
        const auto& a = op.vram_alloc();
        check_alloc(a.name(), a.size_bytes(), false, 0);
        if (a.has_contiguous_bytes() &&
            (!power_of_two(a.contiguous_bytes()) || a.contiguous_bytes() < kPage)) {
          fail("contiguous_bytes must be a power of two of at least 4096");
        }
        const uint64_t align = a.has_contiguous_bytes() ? a.contiguous_bytes() : kPage;
        if (a.has_va() && a.va() % std::min(align, (a.size_bytes() + kPage - 1) / kPage * kPage) != 0) {
          fail("va must be aligned to contiguous_bytes");
        }
        if (a.size_bytes() > cfg.soc().gpu().vram().capacity_bytes()) {
          fail("size_bytes exceeds soc.gpu.vram.capacity_bytes");
        }
        regions[a.name()] = {(a.size_bytes() + kPage - 1) / kPage * kPage, false};
        vram_bos.insert(a.name());
        break;
      }
      case wl::Op::kSvmAlloc: {
        const auto& a = op.svm_alloc();
        check_alloc(a.name(), a.size_bytes(), a.has_va(), a.va());
        if (a.has_granularity() && a.granularity() > kMaxGranularity) fail("granularity must be at most 30");
        regions[a.name()] = {(a.size_bytes() + kPage - 1) / kPage * kPage, true};
        break;
      }
      case wl::Op::kSetAttr: {
        const auto& a = op.set_attr();
        check_part(a.range(), a.offset_bytes(), a.has_size_bytes(), a.size_bytes());
        if (a.has_granularity() && a.granularity() > kMaxGranularity) fail("granularity must be at most 30");
        if ((a.set_flags() | a.clr_flags()) > 0xff) fail("set_flags and clr_flags take KFD_IOCTL_SVM_FLAG_* bits (0x1 .. 0x80)");
        break;
      }
      case wl::Op::kMunmap:
        check_part(op.munmap().range(), op.munmap().offset_bytes(), op.munmap().has_size_bytes(), op.munmap().size_bytes());
        break;
      case wl::Op::kMprotect:
        check_part(op.mprotect().range(), op.mprotect().offset_bytes(), op.mprotect().has_size_bytes(), op.mprotect().size_bytes());
        break;
      case wl::Op::kFork:
        if (op.fork().child().empty()) fail("fork needs a child name");
        if (!children.insert(op.fork().child()).second) fail("a child named '" + op.fork().child() + "' already exists");
        break;
      case wl::Op::kCpuTouch: {
        const auto& c = op.cpu_touch();
        check_part(c.range(), c.offset_bytes(), c.has_size_bytes(), c.size_bytes());
        if (c.has_process() && children.count(c.process()) == 0) fail("no earlier fork of a child named '" + c.process() + "'");
        break;
      }
      case wl::Op::kSetXnack:
        if (!op.set_xnack().has_enabled()) fail("set_xnack needs enabled: true or false");
        if (launches > 0) fail("set_xnack is only allowed before the process's first queue (launch), as AMDKFD_IOC_SET_XNACK_MODE");
        xnack = op.set_xnack().enabled();
        if (!xnack && strategy == config::Svm::UNMAP_FROM_GPU) {
          fail("XNACK off with driver.svm.notifier_strategy UNMAP_FROM_GPU: the GPU could not fault the range back");
        }
        break;
      case wl::Op::kPrefetch: {
        check_part(op.prefetch().range(), 0, false, 0);
        break;
      }
      case wl::Op::kLaunch: {
        const auto& l = op.launch();
        const uint64_t bytes = region(l.range()).first;
        hw::KernelSpec s = kernel_spec(l, 0, bytes, cfg.soc().gpu().cu(), launches++);
        if (l.has_workgroups()) {
          if (l.has_cus() || l.has_waves_per_cu()) fail("give either workgroups or cus and waves_per_cu, not both");
          const std::string why = hw::check_descriptor(kernel_descriptor(l, s), res);
          if (!why.empty()) fail(why);
          apply_descriptor(kernel_descriptor(l, s), res, s);
        } else if (l.has_waves_per_workgroup() || l.has_lds_bytes_per_workgroup()) {
          fail("waves_per_workgroup and lds_bytes_per_workgroup need workgroups");
        }
        if (l.queue().empty()) fail("queue must not be empty");
        queues.insert(l.queue());
        if (kernels.count(s.name) != 0) fail("a kernel named '" + s.name + "' was already launched");
        kernels.insert(s.name);
        if (!power_of_two(s.access_bytes) || s.access_bytes > kPage) {
          fail("access_bytes must be a power of two from 1 to 4096");
        }
        if (l.offset_bytes() % s.access_bytes != 0) fail("offset_bytes must be a multiple of access_bytes");
        if (l.offset_bytes() >= bytes) fail("offset_bytes is beyond the end of '" + l.range() + "'");
        if (s.footprint_bytes < s.access_bytes || l.offset_bytes() + s.footprint_bytes > bytes) {
          fail("footprint_bytes must be at least access_bytes and fit in '" + l.range() + "' after offset_bytes");
        }
        if (l.pattern() == wl::STRIDED || l.pattern() == wl::POINTER_CHASE) {
          if (s.stride_bytes == 0 || s.stride_bytes % s.access_bytes != 0) {
            fail("stride_bytes must be a positive multiple of access_bytes");
          }
        } else if (l.has_stride_bytes()) {
          fail("stride_bytes applies to the STRIDED and POINTER_CHASE patterns only");
        }
        if (!(l.write_fraction() >= 0 && l.write_fraction() <= 1)) fail("write_fraction must be in [0, 1]");
        if (l.has_accesses_per_wave() && l.accesses_per_wave() == 0) fail("accesses_per_wave must be positive");
        const std::string why = hw::ComputeUnits::check_launch(cfg.soc().gpu().cu(), s);
        if (!why.empty()) fail(why);
        break;
      }
      case wl::Op::kWait:
        if (op.wait().has_kernel() && kernels.count(op.wait().kernel()) == 0) {
          fail("no earlier launch of a kernel named '" + op.wait().kernel() + "'");
        }
        break;
      case wl::Op::kPreempt:
        if (queues.count(op.preempt().queue()) == 0) {
          fail("no earlier launch on a queue named '" + op.preempt().queue() + "'");
        }
        if (!evicted.insert(op.preempt().queue()).second) fail("queue '" + op.preempt().queue() + "' is already evicted");
        break;
      case wl::Op::kRestore:
        if (evicted.erase(op.restore().queue()) == 0) {
          fail("queue '" + op.restore().queue() + "' was not evicted by an earlier preempt");
        }
        break;
      case wl::Op::kSleep:
        if (!(op.sleep().ns() >= 0) || !std::isfinite(op.sleep().ns())) fail("ns must be a non-negative number");
        break;
      case wl::Op::kHoldLock:
        if (!(op.hold_lock().ns() >= 0) || !std::isfinite(op.hold_lock().ns())) fail("ns must be a non-negative number (0: for ever)");
        if (op.hold_lock().shared() && op.hold_lock().lock() != wl::HoldLock::MMAP_LOCK) fail("only mmap_lock can be taken shared");
        break;
      case wl::Op::kBoCreate: {
        const auto& b = op.bo_create();
        if (b.name().empty()) fail("needs a name");
        if (regions.count(b.name()) != 0 || ttm_bos.count(b.name()) != 0) fail("the name '" + b.name() + "' is already used");
        if (b.size_bytes() == 0) fail("size_bytes must be positive");
        if (b.size_bytes() > ttm_limit) {
          fail("size_bytes exceeds what TTM may hold in " + std::string(wl::BoCreate::Domain_Name(b.domain())) +
               " (driver.ttm.pages_limit_percent of soc.host.dram.capacity_bytes: " + std::to_string(ttm_limit) + " bytes)");
        }
        if (b.priority() >= driver::kTtmMaxBoPriority) fail("priority must be below 4 (TTM_MAX_BO_PRIORITY)");
        ttm_bos[b.name()] = false;
        break;
      }
      case wl::Op::kUserptr: {
        const auto& u = op.userptr();
        if (u.name().empty()) fail("needs a name");
        if (regions.count(u.name()) != 0 || ttm_bos.count(u.name()) != 0) fail("the name '" + u.name() + "' is already used");
        if (region(u.range()).second) fail("'" + u.range() + "' is an SVM range; a userptr BO is made of an mmap");
        check_part(u.range(), u.offset_bytes(), u.has_size_bytes(), u.size_bytes());
        ttm_bos[u.name()] = false;
        break;
      }
      case wl::Op::kBoFree: {
        const auto it = ttm_bos.find(op.bo_free().name());
        if (it == ttm_bos.end()) fail("no earlier bo_create or userptr named '" + op.bo_free().name() + "'");
        if (it->second) fail("the BO '" + op.bo_free().name() + "' was already freed");
        it->second = true;
        break;
      }
      case wl::Op::kMemoryPressure: {
        const auto& m = op.memory_pressure();
        if (m.bytes() == 0) fail("bytes must be positive");
        if (m.bytes() > host_bytes) fail("bytes exceeds soc.host.dram.capacity_bytes");
        if (!(m.hold_ns() >= 0) || !std::isfinite(m.hold_ns())) fail("hold_ns must be a non-negative number (0: kept)");
        break;
      }
      case wl::Op::kDmaCopy: {
        const auto& c = op.dma_copy();
        if (c.bytes() == 0) fail("bytes must be positive");
        if (c.bytes() > (1ULL << 32)) fail("bytes must be at most 4 GiB (one COPY_LINEAR packet)");
        if (c.count() == 0 || c.repeat() == 0) fail("count and repeat must be positive");
        if (c.count() > 65536) fail("count must be at most 65536 copy packets per job");
        const uint64_t window = c.has_window_bytes() ? c.window_bytes() : c.bytes() * c.count();
        if (window < c.bytes()) fail("window_bytes must be at least bytes");
        if (window > cfg.soc().host().dram().capacity_bytes() / 2) fail("window_bytes exceeds half of soc.host.dram.capacity_bytes");
        if (c.bytes() > cfg.soc().gpu().vram().capacity_bytes() / 2) fail("bytes exceeds half of soc.gpu.vram.capacity_bytes");
        if (c.has_buffer()) {
          const auto it = copy_buffers.find(c.buffer());
          if (it == copy_buffers.end()) {
            copy_buffers[c.buffer()] = window;
          } else if (window > it->second) {
            fail("window_bytes exceeds the buffer '" + c.buffer() + "' (" + std::to_string(it->second) + " bytes)");
          }
        }
        break;
      }
      case wl::Op::KIND_NOT_SET:
        fail("the operation is empty");
    }
  }
}

WorkloadRunner::WorkloadRunner(sc_core::sc_module_name name, const Workload& w,
                               const config::Config& cfg, driver::Driver& driver,
                               hw::ComputeUnits& cu, hw::CommandProcessor& cp,
                               std::function<void()> on_done, hw::Memory* host_dram)
    : sc_module(name), w_(w), cfg_(cfg), driver_(driver), cu_(cu), cp_(cp), on_done_(std::move(on_done)),
      host_dram_(host_dram) {
  SC_HAS_PROCESS(WorkloadRunner);
  SC_THREAD(run);
}

std::string WorkloadRunner::current_op_name() const {
  return current_ < static_cast<size_t>(w_.msg.op_size()) ? w_.where(current_) : "end of workload";
}

void WorkloadRunner::run() {
  guard_process(name(), [this] {
    for (int i = 0; i < w_.msg.op_size(); ++i) {
      current_ = static_cast<size_t>(i);
      try {
        exec(w_.msg.op(i));
      } catch (const InputError& e) {
        throw InputError(w_.where(current_) + ": " + e.what());
      }
      ++ops_;
    }
    current_ = static_cast<size_t>(w_.msg.op_size());
    finished_ = true;
    on_done_();
  });
}

void WorkloadRunner::exec(const wl::Op& op) {
  for (WorkloadHooks* h : hooks_) h->on_op(op);
  auto& svm = driver_.svm();
  switch (op.kind_case()) {
    case wl::Op::kMmap: {
      const auto& m = op.mmap();
      const uint64_t va = svm.mmap(m.size_bytes(), m.has_va() ? std::optional<uint64_t>(m.va()) : std::nullopt,
                                   vma_flags(m.flags()));
      regions_[m.name()] = Region{va, (m.size_bytes() + kPage - 1) / kPage * kPage, false};
      break;
    }
    case wl::Op::kVramAlloc: {
      const auto& a = op.vram_alloc();
      const uint64_t bytes = (a.size_bytes() + kPage - 1) / kPage * kPage;
      uint64_t contiguous = a.contiguous_bytes();
      if (!a.has_contiguous_bytes()) {
        contiguous = kPage;
        while (contiguous < bytes) contiguous <<= 1;
      }
      driver::DriverThread t(driver_.cpu(), hw::WorkClass::kIoctl);
      const uint64_t va = driver_.map_vram_bo(t, bytes, contiguous,
                                              a.has_va() ? std::optional<uint64_t>(a.va()) : std::nullopt);
      t.release();
      regions_[a.name()] = Region{va, bytes, false};
      break;
    }
    case wl::Op::kSvmAlloc: {
      const auto& a = op.svm_alloc();
      const uint64_t bytes = (a.size_bytes() + kPage - 1) / kPage * kPage;
      const uint64_t va = svm.mmap(bytes, a.has_va() ? std::optional<uint64_t>(a.va()) : std::nullopt,
                                   vma_flags(a.flags()));
      driver::AttrChange c;
      c.preferred = a.preferred_loc();
      if (a.has_granularity()) c.granularity = a.granularity();
      if (a.access() != wl::ACCESS_DEFAULT) c.access = a.access();
      driver::DriverThread t(driver_.cpu(), hw::WorkClass::kIoctl);
      svm.set_attr(t, va, bytes, c);
      t.release();
      regions_[a.name()] = Region{va, bytes, true};
      break;
    }
    case wl::Op::kSetAttr: {
      const auto& a = op.set_attr();
      const auto [va, bytes] = part(a.range(), a.offset_bytes(), a.has_size_bytes(), a.size_bytes());
      driver::AttrChange c;
      if (a.has_preferred_loc()) c.preferred = a.preferred_loc();
      if (a.has_prefetch_loc()) c.prefetch = a.prefetch_loc();
      if (a.has_access()) c.access = a.access();
      if (a.has_granularity()) c.granularity = a.granularity();
      c.set_flags = a.set_flags();
      c.clr_flags = a.clr_flags();
      driver::DriverThread t(driver_.cpu(), hw::WorkClass::kIoctl);
      svm.set_attr(t, va, bytes, c);
      t.release();
      break;
    }
    case wl::Op::kPrefetch: {
      const Region& r = regions_.at(op.prefetch().range());
      driver::DriverThread t(driver_.cpu(), hw::WorkClass::kIoctl);
      svm.prefetch(t, r.va, r.bytes, op.prefetch().location());
      t.release();
      break;
    }
    case wl::Op::kMunmap:
    case wl::Op::kMprotect:
    case wl::Op::kFork:
    case wl::Op::kCpuTouch: {
      driver::DriverThread t(driver_.cpu(), hw::WorkClass::kIoctl);
      const sc_core::sc_time start = sc_core::sc_time_stamp();
      if (op.has_munmap()) {
        const auto& u = op.munmap();
        const auto [va, bytes] = part(u.range(), u.offset_bytes(), u.has_size_bytes(), u.size_bytes());
        svm.munmap(t, va, bytes);
        munmap_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
      } else if (op.has_mprotect()) {
        const auto& u = op.mprotect();
        const auto [va, bytes] = part(u.range(), u.offset_bytes(), u.has_size_bytes(), u.size_bytes());
        svm.mprotect(t, va, bytes, u.read(), u.write());
        mprotect_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
      } else if (op.has_fork()) {
        svm.fork(t, op.fork().child());
        fork_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
      } else {
        const auto& c = op.cpu_touch();
        const auto [va, bytes] = part(c.range(), c.offset_bytes(), c.has_size_bytes(), c.size_bytes());
        svm.cpu_touch(t, c.process(), va, bytes, c.write());
        cpu_touch_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
      }
      t.release();
      break;
    }
    case wl::Op::kSetXnack:
      driver_.set_xnack(op.set_xnack().enabled());
      break;
    case wl::Op::kHoldLock: {
      // Another thread of the process: it takes the lock and (unless ns is 0) drops it.
      const wl::HoldLock h = op.hold_lock();
      hw::HostLock& l = h.lock() == wl::HoldLock::SVMS_LOCK ? driver_.svm().svms_lock() : driver_.svm().mmap_lock();
      driver::Driver& drv = driver_;
      sc_core::sc_spawn([&l, h, &drv] {
        driver::DriverThread t(drv.cpu(), hw::WorkClass::kIoctl);
        t.lock(l, h.shared());
        t.release();
        if (h.ns() > 0) {
          sc_core::wait(from_ns(h.ns()));
          l.unlock(h.shared());
        }
      }, "hold_lock");
      break;
    }
    case wl::Op::kLaunch: {
      const auto& l = op.launch();
      const Region& r = regions_.at(l.range());
      const size_t index = launched_++;
      hw::KernelSpec s = kernel_spec(l, r.va, r.bytes, cfg_.soc().gpu().cu(), index);
      const hw::KernelDescriptor d = kernel_descriptor(l, s);
      if (l.has_workgroups()) apply_descriptor(d, cp_.resources(), s);
      for (WorkloadHooks* h : hooks_) h->on_launch(index, s);
      kernel_done_[s.name] = false;
      if (!svm.xnack()) {
        // A submission revalidates memory invalidated while the GPU could not fault.
        driver::DriverThread t(driver_.cpu(), hw::WorkClass::kIoctl);
        svm.revalidate(t);
        t.release();
      }
      const sc_core::sc_time start = sc_core::sc_time_stamp();
      bool accepted = false;
      const uint64_t job = svm.gpu_job_begin(s.base_va, s.footprint_bytes);
      cp_.dispatch(cp_.queue(l.queue()), s, d,
                   [this, name = s.name, start, job](hw::KernelEnd end) {
                     driver_.svm().gpu_job_end(job);
                     kernel_done_[name] = true;
                     if (end == hw::KernelEnd::kKilled) killed_kernels_.push_back(name);
                     kernel_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
                     kernel_event_.notify(sc_core::SC_ZERO_TIME);
                   },
                   [this, &accepted] {
                     accepted = true;
                     queue_event_.notify(sc_core::SC_ZERO_TIME);
                   });
      while (!accepted) sc_core::wait(queue_event_);
      break;
    }
    case wl::Op::kWait: {
      const auto all_done = [this] {
        for (const auto& [n, done] : kernel_done_) {
          if (!done) return false;
        }
        return true;
      };
      const ScopedWait registered("kernel", op.wait().has_kernel() ? op.wait().kernel().c_str() : "(every one launched)");
      if (op.wait().has_kernel()) {
        while (!kernel_done_[op.wait().kernel()]) sc_core::wait(kernel_event_);
      } else {
        while (!all_done()) sc_core::wait(kernel_event_);
      }
      break;
    }
    case wl::Op::kPreempt: {
      bool done = false;
      const sc_core::sc_time start = sc_core::sc_time_stamp();
      cp_.evict(cp_.queue(op.preempt().queue()), [this, &done](const hw::CommandProcessor::PreemptResult&) {
        done = true;
        queue_event_.notify(sc_core::SC_ZERO_TIME);
      });
      const ScopedWait registered("the command processor to preempt queue", op.preempt().queue().c_str());
      while (!done) sc_core::wait(queue_event_);
      preempt_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
      break;
    }
    case wl::Op::kRestore: {
      bool done = false;
      const sc_core::sc_time start = sc_core::sc_time_stamp();
      cp_.restore(cp_.queue(op.restore().queue()), [this, &done](double) {
        done = true;
        queue_event_.notify(sc_core::SC_ZERO_TIME);
      });
      while (!done) sc_core::wait(queue_event_);
      restore_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
      break;
    }
    case wl::Op::kSleep:
      sc_core::wait(from_ns(op.sleep().ns()));
      break;
    case wl::Op::kDmaCopy:
      dma_copy(op.dma_copy());
      break;
    case wl::Op::kBoCreate: {
      const auto& b = op.bo_create();
      driver::DriverThread t(driver_.cpu(), hw::WorkClass::kIoctl);
      const auto domain = b.domain() == wl::BoCreate::SYSTEM ? driver::TtmDomain::kSystem : driver::TtmDomain::kGtt;
      const sc_core::sc_time start = sc_core::sc_time_stamp();
      driver_.ttm().create(t, b.name(), (b.size_bytes() + kPage - 1) / kPage * kPage, domain, b.priority(), b.kfd());
      t.release();
      bo_create_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
      break;
    }
    case wl::Op::kBoFree: {
      driver::DriverThread t(driver_.cpu(), hw::WorkClass::kIoctl);
      driver_.ttm().free(t, op.bo_free().name());
      t.release();
      break;
    }
    case wl::Op::kMemoryPressure:
      memory_pressure(op.memory_pressure());
      break;
    case wl::Op::kUserptr: {
      const auto& u = op.userptr();
      const auto [va, bytes] = part(u.range(), u.offset_bytes(), u.has_size_bytes(), u.size_bytes());
      driver::DriverThread t(driver_.cpu(), hw::WorkClass::kIoctl);
      driver_.ttm().create_userptr(t, u.name(), va, bytes);
      t.release();
      break;
    }
    case wl::Op::KIND_NOT_SET:
      break;
  }
}

void WorkloadRunner::memory_pressure(const wl::MemoryPressure& m) {
  driver::DriverThread t(driver_.cpu(), hw::WorkClass::kIoctl);
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  hw::HostLock& mmap_lock = driver_.svm().mmap_lock();
  if (m.under_mmap_lock()) t.lock(mmap_lock, false);
  const bool ok = driver_.ttm().allocate_host(t, m.bytes());
  if (m.under_mmap_lock()) mmap_lock.unlock(false);
  t.release();
  pressure_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
  if (ok && m.hold_ns() > 0) {
    driver::Ttm& ttm = driver_.ttm();
    const uint64_t bytes = m.bytes();
    const double hold = m.hold_ns();
    sc_core::sc_spawn([&ttm, bytes, hold] {
      sc_core::wait(from_ns(hold));
      ttm.release_host(bytes);
    }, "memory_release");
  }
}

std::pair<uint64_t, uint64_t> WorkloadRunner::part(const std::string& name, uint64_t offset, bool has_size,
                                                   uint64_t size) const {
  const Region& r = regions_.at(name);
  return {r.va + offset, has_size ? size : r.bytes - offset};
}

driver::VmaFlags WorkloadRunner::vma_flags(const wl::VmaFlags& f) {
  driver::VmaFlags v;
  v.write = !f.read_only();
  v.dontcopy = f.dontcopy();
  v.io = f.io();
  return v;
}

void WorkloadRunner::dma_copy(const wl::DmaCopy& c) {
  // Pinned buffers, as hipHostMalloc + hipMalloc: the host buffer is dma_mapped unless the
  // operation asks for the bad programming.
  const uint64_t window = c.has_window_bytes() ? c.window_bytes() : c.bytes() * c.count();
  const bool shared = c.has_buffer() && copy_buffers_.count(c.buffer()) != 0;
  const uint64_t host = shared ? copy_buffers_.at(c.buffer()).host : driver_.alloc_host(window);
  if (c.has_buffer() && !shared) copy_buffers_[c.buffer()] = CopyBuffer{host, window};
  const uint64_t vram = driver_.alloc_vram(c.bytes());
  const bool h2d = c.direction() == wl::H2D;
  driver::DriverThread t(driver_.cpu(), hw::WorkClass::kIoctl);
  if (!c.skip_dma_map() && !shared) driver_.iommu().map(&t, host, (window + 4095) / 4096 * 4096);
  Rng rng(cfg_.sim().seed(), 0xD3A0000ULL + copies_++);
  const uint64_t slots = window / c.bytes();
  uint64_t next = 0;
  for (uint32_t job = 0; job < c.repeat(); ++job) {
    std::vector<hw::SdmaPacket> pkts;
    for (uint32_t i = 0; i < c.count(); ++i) {
      const uint64_t off = c.random_offsets() ? rng.below(slots) * c.bytes() : (next++ % slots) * c.bytes();
      pkts.push_back(h2d ? hw::SdmaPacket::copy(host + off, true, vram, false, c.bytes())
                         : hw::SdmaPacket::copy(vram, false, host + off, true, c.bytes()));
    }
    // The job's time runs from the doorbell write to its fence value landing in memory.
    uint64_t landed_ps = 0;
    if (host_dram_ != nullptr) {
      host_dram_->watch_writes(driver_.fence_addr(), [&landed_ps] {
        if (landed_ps == 0) landed_ps = now_ps();
      });
    }
    auto& jobs = driver_.sdma();
    const uint32_t seq = jobs.submit(t, std::move(pkts));
    const uint64_t doorbell_ps = now_ps();
    jobs.wait(t, seq);
    if (host_dram_ != nullptr) {
      host_dram_->watch_writes(0, {});
      dma_copy_ns_.sample(static_cast<double>(landed_ps - doorbell_ps) / 1000.0);
    }
    dma_copy_bytes_ += c.bytes() * c.count();
  }
  t.release();
}

}  // namespace fl::platform
