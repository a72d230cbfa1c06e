#include "driver-model/gpu_vm.h"

#include <algorithm>
#include <cstring>

#include "hw/gpu_regs.h"
#include "mmu/gpuvm_pte.h"
#include "sim/core/errors.h"
#include "sim/core/time.h"

namespace fl::driver {

using mmu::Entry;
using mmu::kPageBytes;

namespace {

int ctz64(uint64_t v) { return v == 0 ? 64 : __builtin_ctzll(v); }
int floor_log2(uint64_t v) { return 63 - __builtin_clzll(v); }
}  // namespace

GpuVm::GpuVm(sc_core::sc_module_name name, const config::GpuVm& cfg, SdmaScheduler& jobs,
             PhysAllocator& vram_alloc, hw::SparseMemory& vram, mmu::PageWalker& walker,
             uint8_t vmid)
    : sc_module(name), cfg_(cfg), jobs_(jobs), vram_alloc_(vram_alloc), vram_(vram), vmid_(vmid) {
  const auto root = vram_alloc_.alloc(mmu::kTableBytes, mmu::kTableBytes);
  if (!root) throw InputError("soc.gpu.vram.capacity_bytes: no room for the page-table root");
  root_ = *root;
  vram_.fill(root_, 0, mmu::kTableBytes);
  tables_[{mmu::kPdb2, 0}] = root_;
  walker.set_root(vmid, root_, /*system=*/false);
}

uint64_t GpuVm::table_for(DriverThread& t, uint64_t va, int level,
                          std::vector<hw::SdmaPacket>& pkts) {
  if (level == mmu::kPdb2) return root_;
  const uint64_t key = va >> mmu::level_shift(level - 1);
  const auto it = tables_.find({level, key});
  if (it != tables_.end()) return it->second;
  const uint64_t parent = table_for(t, va, level - 1, pkts);
  t.compute_ns(cfg_.pt_alloc_ns());
  const auto addr = vram_alloc_.alloc(mmu::kTableBytes, mmu::kTableBytes);
  if (!addr) throw SimError("VRAM exhausted allocating a page table");
  vram_.fill(*addr, 0, mmu::kTableBytes);
  ++tables_allocated_;
  tables_[{level, key}] = *addr;
  Entry pde;
  pde.valid = true;
  pde.address = *addr;
  const uint64_t v = pde.encode_pde();
  std::vector<uint8_t> bytes(8);
  std::memcpy(bytes.data(), &v, 8);
  pkts.push_back(hw::SdmaPacket::write(parent + mmu::level_index(va, level - 1) * 8, false,
                                       std::move(bytes)));
  return *addr;
}

void GpuVm::add_run(DriverThread& t, const Run& r, bool writeable,
                    std::vector<hw::SdmaPacket>& pkts) {
  uint64_t done = 0;
  while (done < r.pages) {
    const uint64_t cur_va = r.va + done * kPageBytes;
    const uint64_t cur_pa = r.pa + done * kPageBytes;
    // One packet per page table: up to the end of the 2 MiB the PTB covers.
    const uint64_t span = mmu::level_span(mmu::kPdb0) / kPageBytes;
    const uint64_t n = std::min(r.pages - done, span - (cur_va / kPageBytes) % span);
    const uint64_t ptb = table_for(t, cur_va, mmu::kPtb, pkts);
    const uint64_t pe = ptb + mmu::level_index(cur_va, mmu::kPtb) * 8;
    Entry e;
    e.valid = true;
    e.readable = true;
    e.writeable = writeable;
    e.system = r.system;
    e.snooped = r.system;
    if (!r.system) {
      // amdgpu_vm_update_range uses the largest fragment both addresses are aligned to
      // and the run covers.
      const int frag = std::min({ctz64(cur_va / kPageBytes), ctz64(cur_pa / kPageBytes),
                                 floor_log2(n), 31});
      e.fragment = static_cast<uint32_t>(frag);
      pkts.push_back(hw::SdmaPacket::pte_pde(pe, cur_pa, e.encode_pte(), kPageBytes,
                                             static_cast<uint32_t>(n)));
    } else {
      // System pages: the CPU writes each PTE value into the job.
      t.compute_ns(cfg_.per_pte_ns() * static_cast<double>(n));
      std::vector<uint8_t> bytes(n * 8);
      for (uint64_t i = 0; i < n; ++i) {
        e.address = cur_pa + i * kPageBytes;
        const uint64_t v = e.encode_pte();
        std::memcpy(bytes.data() + i * 8, &v, 8);
      }
      pkts.push_back(hw::SdmaPacket::write(pe, false, std::move(bytes)));
    }
    ptes_ += n;
    done += n;
  }
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
      std::vector<hw::SdmaPacket> pkts;
      for (; i < runs.size() && runs[i].system == system; ++i) add_run(t, runs[i], writeable, pkts);
      ++updates_;
      last_fence = jobs.submit(t, std::move(pkts));
    }
  }
  jobs.wait(t, last_fence);
  update_ns_.sample(static_cast<double>(now_ps() - start) / 1000.0);
}

void GpuVm::flush_tlb(DriverThread& t, TlbFlush type) {
  ++flushes_;
  const uint64_t start = now_ps();
  t.compute_ns(cfg_.tlb_flush_ns());
  const uint32_t req = (1u << vmid_) |
                       (static_cast<uint32_t>(type) & hw::regs::kInvReqFlushTypeMask)
                           << hw::regs::kInvReqFlushTypeShift;
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
}

}  // namespace fl::driver
