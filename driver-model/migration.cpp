#include "driver-model/migration.h"

#include <algorithm>
#include <cstring>

#include "hw/copy_engine.h"
#include "mmu/gpuvm_pte.h"
#include "sim/core/time.h"

namespace fl::driver {

Migration::Migration(sc_core::sc_module_name name, const config::Migration& cfg, SdmaJobs& jobs,
                     uint64_t gart_table)
    : sc_module(name), cfg_(cfg), jobs_(jobs), gart_table_(gart_table) {}

void Migration::to_vram(DriverThread& t, uint64_t sys, uint64_t vram, uint64_t pages,
                        MigrateTrigger why) {
  ++migrations_;
  pages_ += pages;
  move(t, sys, vram, pages, true, why);
}

void Migration::to_ram(DriverThread& t, uint64_t vram, uint64_t sys, uint64_t pages, MigrateTrigger why) {
  ++migrations_to_ram_;
  pages_to_ram_ += pages;
  move(t, sys, vram, pages, false, why);
}

void Migration::move(DriverThread& t, uint64_t sys, uint64_t vram, uint64_t pages, bool to_vram,
                     MigrateTrigger why) {
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  stats::Counter* by_trigger[] = {&bytes_prefetch_, &bytes_fault_, &bytes_cpu_, &bytes_evict_};
  *by_trigger[static_cast<int>(why)] += pages * mmu::kPageBytes;

  t.compute_ns(cfg_.setup_ns() + cfg_.setup_per_page_ns() * static_cast<double>(pages));
  if (iommu_ != nullptr) iommu_->map(&t, sys, pages * mmu::kPageBytes);
  uint32_t fence = 0;
  for (uint64_t done = 0; done < pages;) {
    const uint64_t n = std::min<uint64_t>(cfg_.chunk_pages(), pages - done);
    const uint64_t src = sys + done * mmu::kPageBytes;
    // GART window: the chunk's system pages as GART PTEs (amdgpu_ttm_map_buffer).
    mmu::Entry g;
    g.valid = true;
    g.system = true;
    g.snooped = true;
    g.readable = true;
    g.writeable = true;
    std::vector<uint8_t> gart(n * 8);
    for (uint64_t i = 0; i < n; ++i) {
      g.address = src + i * mmu::kPageBytes;
      const uint64_t v = g.encode_pte();
      std::memcpy(gart.data() + i * 8, &v, 8);
    }
    jobs_.submit(t, {hw::SdmaPacket::write(gart_table_, false, std::move(gart))});
    const uint64_t dev = vram + done * mmu::kPageBytes;
    fence = jobs_.submit(t, {to_vram ? hw::SdmaPacket::copy(src, true, dev, false, n * mmu::kPageBytes)
                                     : hw::SdmaPacket::copy(dev, false, src, true, n * mmu::kPageBytes)});
    ++chunks_;
    done += n;
  }
  jobs_.wait(t, fence);
  if (iommu_ != nullptr) iommu_->unmap(t, sys, pages * mmu::kPageBytes);
  t.compute_ns(cfg_.finalize_per_page_ns() * static_cast<double>(pages));
  migrate_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
  if (tl_ != nullptr) {
    tl_->draw(to_vram ? "to_vram" : "to_ram", start.value(), now_ps(),
              TimelineArgs()
                  .num("bytes", pages * mmu::kPageBytes)
                  .num("pages", pages)
                  .num("chunks", (pages + cfg_.chunk_pages() - 1) / cfg_.chunk_pages())
                  .str("trigger", trigger_name(why))
                  .hex("sys", sys)
                  .hex("vram", vram));
  }
}

}  // namespace fl::driver
