#include "driver-model/gpu_vm.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "hw/gpu_regs.h"
#include "mmu/gpuvm_pte.h"
#include "sim/core/errors.h"
#include "sim/core/time.h"

namespace fl::driver {

using mmu::kPageBytes;

GpuVm::GpuVm(sc_core::sc_module_name name, const config::GpuVm& cfg, SdmaScheduler& jobs,
             PhysAllocator& vram_alloc, hw::SparseMemory& vram, PhysAllocator& host_alloc,
             hw::SparseMemory& host_mem, uint8_t vmid)
    : sc_module(name),
      cfg_(cfg),
      jobs_(jobs),
      table_alloc_(cfg.page_table_location() == config::GpuVm::SYSTEM ? host_alloc : vram_alloc),
      table_mem_(cfg.page_table_location() == config::GpuVm::SYSTEM ? host_mem : vram),
      tables_in_system_(cfg.page_table_location() == config::GpuVm::SYSTEM),
      vmid_(vmid),
      builder_(tables_in_system_, cfg.max_fragment(), [this] { return alloc_table(); },
               [this](uint64_t a) { table_alloc_.free(a, mmu::kTableBytes); }) {
  allocated_seen_ = builder_.tables_allocated();
  tables_allocated_ += allocated_seen_;
}

uint64_t GpuVm::alloc_table() {
  const auto addr = table_alloc_.alloc(mmu::kTableBytes, mmu::kTableBytes);
  if (!addr) {
    throw SimError(table_alloc_.what() + " exhausted allocating a page table (driver.vm.page_table_location)");
  }
  table_mem_.fill(*addr, 0, mmu::kTableBytes);
  return *addr;
}

bool GpuVm::cpu_update(DriverThread& t, const std::vector<mmu::PtWrite>& writes) {
  if (cfg_.update_mode() != config::GpuVm::CPU) return false;
  account_tables(t);
  uint64_t entries = 0;
  mmu::apply_writes(writes, [&](uint64_t addr, uint64_t v) {
    table_mem_.write64(addr, v);
    ++entries;
  });
  ptes_ += entries;
  // amdgpu_vm_cpu_update writes each entry; amdgpu_vm_cpu_commit: mb() and flush the HDP.
  t.compute_ns(cfg_.cpu_pte_ns() * static_cast<double>(entries) + cfg_.hdp_flush_ns());
  ++cpu_updates_;
  return true;
}

void GpuVm::account_tables(DriverThread& t) {
  const uint64_t allocated = builder_.tables_allocated();
  t.compute_ns(cfg_.pt_alloc_ns() * static_cast<double>(allocated - allocated_seen_));
  tables_allocated_ += allocated - allocated_seen_;
  allocated_seen_ = allocated;
}

void GpuVm::add_writes(DriverThread& t, const std::vector<mmu::PtWrite>& writes,
                       std::vector<hw::SdmaPacket>& pkts) {
  // amdgpu_bo_create per page table allocated while building these writes.
  account_tables(t);
  for (const mmu::PtWrite& whole : writes) {
   // At most kMaxEntriesPerPacket entries a packet, as amdgpu_vm_sdma_update splits them.
   for (uint64_t first = 0; first < whole.count; first += kMaxEntriesPerPacket) {
    mmu::PtWrite w = whole;
    w.addr += first * 8;
    w.value += first * whole.incr;
    w.count = std::min<uint64_t>(kMaxEntriesPerPacket, whole.count - first);
    const bool leaf_system = (w.value & mmu::pte::kValid) && (w.value & mmu::pte::kSystem) &&
                             (w.level == mmu::kPtb || (w.value & mmu::pte::kPdePte));
    if (w.count == 1 || w.incr == 0 || leaf_system) {
      // Values written by the CPU into the job: PDEs, cleared PTEs, and PTEs of system
      // pages (whose DMA addresses amdgpu_vm_cpu/sdma copy from the pages array).
      if (leaf_system) t.compute_ns(cfg_.per_pte_ns() * static_cast<double>(w.count));
      std::vector<uint8_t> bytes(w.count * 8);
      for (uint64_t i = 0; i < w.count; ++i) {
        const uint64_t v = w.value + i * w.incr;
        std::memcpy(bytes.data() + i * 8, &v, 8);
      }
      pkts.push_back(hw::SdmaPacket::write(w.addr, w.system, std::move(bytes)));
    } else {
      // PTEPDE: the engine generates count entries of address + i * incr | flags.
      hw::SdmaPacket p = hw::SdmaPacket::pte_pde(w.addr, w.value & mmu::pte::kAddrMask,
                                                 w.value & ~mmu::pte::kAddrMask, w.incr,
                                                 static_cast<uint32_t>(w.count));
      p.dst_system = w.system;
      pkts.push_back(std::move(p));
    }
   }
  }
  ptes_ += std::accumulate(writes.begin(), writes.end(), uint64_t{0},
                           [](uint64_t n, const mmu::PtWrite& w) { return n + w.count; });
}

uint32_t GpuVm::submit(DriverThread& t, SdmaJobs& jobs, std::vector<hw::SdmaPacket> pkts,
                       uint32_t last_fence) {
  // amdgpu_vm_sdma_update commits the job when its IB is full and starts another; here a
  // job is at most kMaxJobBytes of packets, and the next one waits for the previous fence
  // so that a huge update never overruns the copy-engine ring.
  std::vector<hw::SdmaPacket> job;
  uint64_t bytes = 0;
  for (hw::SdmaPacket& p : pkts) {
    if (!job.empty() && bytes + p.size_bytes() > kMaxJobBytes) {
      if (last_fence != 0) jobs.wait(t, last_fence);
      last_fence = jobs.submit(t, std::move(job));
      ++split_jobs_;
      job.clear();
      bytes = 0;
    }
    bytes += p.size_bytes();
    job.push_back(std::move(p));
  }
  if (!job.empty()) {
    if (last_fence != 0 && split_jobs_.value() > 0) jobs.wait(t, last_fence);
    last_fence = jobs.submit(t, std::move(job));
  }
  return last_fence;
}

void GpuVm::map(DriverThread& t, const std::vector<Run>& runs, bool writeable) {
  if (runs.empty()) return;
  const uint64_t start = now_ps();
  uint32_t last_fence = 0;
  size_t i = 0;
  SdmaJobs& jobs = jobs_.pick_for_pte();
  {
    LockGuard resv(t, root_resv_, /*shared=*/false);
    while (i < runs.size()) {
      // One amdgpu_vm_update_range per stretch of runs in the same domain.
      const bool system = runs[i].system;
      t.compute_ns(cfg_.update_ns());
      std::vector<mmu::PtWrite> writes;
      for (; i < runs.size() && runs[i].system == system; ++i) {
        const Run& r = runs[i];
        uint64_t flags = mmu::pte::kValid | mmu::pte::kReadable;
        if (writeable) flags |= mmu::pte::kWriteable;
        if (r.system) flags |= mmu::pte::kSystem | mmu::pte::kSnooped;
        // amdgpu_vm_pte_fragment: "system pages are non continuously": no fragments.
        builder_.map(r.va, r.pa, r.pages, flags, writes, r.system ? 0 : 31);
      }
      ++updates_;
      if (cpu_update(t, writes)) continue;
      std::vector<hw::SdmaPacket> pkts;
      add_writes(t, writes, pkts);
      last_fence = submit(t, jobs, std::move(pkts), last_fence);
    }
  }
  if (last_fence != 0) jobs.wait(t, last_fence);
  update_ns_.sample(static_cast<double>(now_ps() - start) / 1000.0);
  if (tl_ != nullptr) {
    uint64_t pages = 0;
    for (const Run& r : runs) pages += r.pages;
    tl_->draw("pte_update", start, now_ps(), TimelineArgs().hex("va", runs.front().va).num("pages", pages).num("runs", runs.size()));
  }
}

void GpuVm::unmap(DriverThread& t, uint64_t va, uint64_t pages) {
  const uint64_t start = now_ps();
  t.compute_ns(cfg_.update_ns());
  std::vector<mmu::PtWrite> writes;
  builder_.unmap(va, pages, writes);
  if (writes.empty()) return;
  if (cpu_update(t, writes)) {
    ++updates_;
    update_ns_.sample(static_cast<double>(now_ps() - start) / 1000.0);
    return;
  }
  std::vector<hw::SdmaPacket> pkts;
  SdmaJobs& jobs = jobs_.pick_for_pte();
  uint32_t fence = 0;
  {
    LockGuard resv(t, root_resv_, /*shared=*/false);
    add_writes(t, writes, pkts);
    ++updates_;
    fence = submit(t, jobs, std::move(pkts), 0);
  }
  jobs.wait(t, fence);
  update_ns_.sample(static_cast<double>(now_ps() - start) / 1000.0);
  if (tl_ != nullptr) tl_->draw("pte_clear", start, now_ps(), TimelineArgs().hex("va", va).num("pages", pages));
}

void GpuVm::map_noretry(DriverThread& t, uint64_t va) {
  t.compute_ns(cfg_.update_ns());
  std::vector<mmu::PtWrite> writes;
  builder_.map(va & ~(mmu::kPageBytes - 1), 0, 1, mmu::pte::kExecutable | mmu::pte::kTf, writes, 0);
  // The builder keeps PDE_PTE for directory-level pages; the marker wants it in the PTE.
  for (mmu::PtWrite& w : writes) {
    if (w.level == mmu::kPtb && w.count == 1) w.value |= mmu::pte::kPdePte;
  }
  ++updates_;
  if (cpu_update(t, writes)) return;
  std::vector<hw::SdmaPacket> pkts;
  SdmaJobs& jobs = jobs_.pick_for_pte();
  uint32_t fence = 0;
  {
    LockGuard resv(t, root_resv_, /*shared=*/false);
    add_writes(t, writes, pkts);
    fence = submit(t, jobs, std::move(pkts), 0);
  }
  jobs.wait(t, fence);
}

void GpuVm::flush_tlb(DriverThread& t, TlbFlush type) {
  ++flushes_;
  const uint64_t start = now_ps();
  t.compute_ns(cfg_.tlb_flush_ns());
  // gmc_v9_0_get_invalidate_req: the VMID, the flush type, and every cache level.
  const uint32_t req = (1u << vmid_) |
                       (static_cast<uint32_t>(type) & hw::regs::kInvReqFlushTypeMask)
                           << hw::regs::kInvReqFlushTypeShift |
                       hw::regs::kInvReqAllCaches;
  t.mmio_write(hw::regs::kVmInvalidateEng17Req, req);
  const uint64_t deadline = now_ps() + from_ns(cfg_.tlb_timeout_ns()).value();
  for (;;) {
    ++polls_;
    const uint32_t ack = t.mmio_read(hw::regs::kVmInvalidateEng17Ack);
    if ((ack >> vmid_) & 1) break;
    if (now_ps() >= deadline) {
      throw SimError(std::string(name()) + ": TLB flush of VMID " + std::to_string(vmid_) +
                     " not acknowledged within driver.vm.tlb_timeout_ns");
    }
    t.compute_ns(cfg_.tlb_poll_interval_ns());
  }
  flush_ns_.sample(static_cast<double>(now_ps() - start) / 1000.0);
  if (tl_ != nullptr) {
    static const char* const kTypes[] = {"legacy", "lightweight", "heavyweight"};
    tl_->draw("tlb_flush", start, now_ps(), TimelineArgs().str("type", kTypes[static_cast<uint32_t>(type) % 3]));
  }
}

}  // namespace fl::driver
