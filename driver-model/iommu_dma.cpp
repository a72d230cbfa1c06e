#include "driver-model/iommu_dma.h"

#include <algorithm>
#include <cstdio>

#include "sim/core/errors.h"
#include "sim/core/format.h"
#include "sim/core/time.h"

namespace fl::driver {

using iommu::k1G;
using iommu::k2M;
using iommu::k4K;

namespace {
uint64_t must(std::optional<uint64_t> a, const char* what) {
  if (!a) throw InputError(std::string("soc.host.dram.capacity_bytes is too small for the IOMMU's ") + what);
  return *a;
}
// The smallest aligned power-of-two range covering [a, a + n) (what build_inv_address flushes).
std::pair<uint64_t, uint64_t> covering(uint64_t a, uint64_t n) {
  uint64_t size = k4K;
  while ((a & ~(size - 1)) + size < a + n) size <<= 1;
  return {a & ~(size - 1), size};
}
}  // namespace

IommuDma::IommuDma(sc_core::sc_module_name name, const config::IommuDriver& cfg,
                   const config::Iommu& hw_cfg, iommu::Iommu* hw, hw::HostCpu& cpu,
                   hw::HostIntc& intc, hw::SparseMemory& host_mem, PhysAllocator& host_alloc)
    : sc_module(name),
      cfg_(cfg),
      hw_(hw),
      cpu_(cpu),
      mem_(host_mem),
      alloc_(host_alloc),
      translating_(hw != nullptr && hw_cfg.mode() == config::Iommu::TRANSLATED),
      ats_(translating_ && hw_cfg.ats()),
      pri_(ats_ && hw_cfg.pri()) {
  const uint64_t max_page = cfg.max_io_page_bytes();
  if (max_page != k4K && max_page != k2M && max_page != k1G) {
    throw InputError("driver.iommu.max_io_page_bytes = " + std::to_string(max_page) +
                     ": must be 4096, 2097152 or 1073741824");
  }
  if (hw == nullptr) return;  // no IOMMU on the DMA path
  // Start-up (amd_iommu_init, untimed): tables, buffers and logs in host memory.
  const uint32_t dev_entries = uint32_t{iommu::kGpuRequesterId} + 1;
  const uint64_t dev_bytes = (uint64_t{dev_entries} * iommu::kDteBytes + k4K - 1) / k4K * k4K;
  const uint64_t dev_table = must(alloc_.alloc(dev_bytes, k4K), "device table");
  mem_.fill(dev_table, 0, dev_bytes);
  cmd_buf_ = must(alloc_.alloc(kCommandEntries * iommu::kCommandBytes, k4K), "command buffer");
  log_entries_ = hw_cfg.log_entries();
  const uint64_t log_bytes = (uint64_t{log_entries_} * iommu::kLogEntryBytes + k4K - 1) / k4K * k4K;
  event_log_ = must(alloc_.alloc(log_bytes, k4K), "event log");
  ppr_log_ = must(alloc_.alloc(log_bytes, k4K), "PPR log");
  sem_ = must(alloc_.alloc(k4K, k4K), "completion-wait semaphore");
  mem_.write64(sem_, 0);

  iommu::Dte dte = iommu::Dte::passthrough(kDomain);
  if (translating_) {
    table_ = std::make_unique<iommu::IoPageTable>(mem_, [this] {
      const uint64_t p = must(alloc_.alloc(k4K, k4K), "IO page tables");
      mem_.fill(p, 0, k4K);
      return p;
    });
    dte = iommu::Dte::translated(kDomain, table_->root(), iommu::kPageMode4Level, ats_, pri_);
  }
  for (size_t i = 0; i < 4; ++i) {
    mem_.write64(dev_table + uint64_t{iommu::kGpuRequesterId} * iommu::kDteBytes + 8 * i, dte.data[i]);
  }
  hw_->program(iommu::Iommu::Programming{dev_table, dev_entries, cmd_buf_, kCommandEntries, event_log_,
                                         ppr_log_, log_entries_, kMsiVector});
  intc.connect(kMsiVector, [this](uint32_t) { on_irq(); });
  SC_HAS_PROCESS(IommuDma);
  SC_THREAD(isr_thread);
  SC_THREAD(ppr_thread);
}

// ------------------------------------------------------------------ DMA API

void IommuDma::map(DriverThread* t, uint64_t pa, uint64_t bytes) {
  if (!translating_) return;
  ++maps_;
  const uint64_t end = pa + bytes;
  double cost = 0;
  for (uint64_t a = pa; a < end;) {
    if (refs_[a]++ > 0) {
      a += k4K;  // already mapped (identity IOVA): only counted
      continue;
    }
    // The largest IO page that is aligned, fits, and has no mapped page inside.
    uint64_t size = k4K;
    for (uint64_t s : {k1G, k2M}) {
      if (s <= cfg_.max_io_page_bytes() && a % s == 0 && a + s <= end) {
        const auto next = refs_.upper_bound(a);
        if (next == refs_.end() || next->first >= a + s) {
          size = s;
          break;
        }
      }
    }
    const int tables = table_->map(a, a, size, true, true);
    leaves_[a] = size;
    tables_ += static_cast<uint64_t>(tables);
    ++mapped_pages_;
    cost += cfg_.map_per_page_ns() + cfg_.table_alloc_ns() * tables;
    for (uint64_t p = a + k4K; p < a + size; p += k4K) refs_[p] = 1;
    a += size;
  }
  if (t != nullptr && cost > 0) t->compute_ns(cost);
}

void IommuDma::unmap(DriverThread& t, uint64_t pa, uint64_t bytes) {
  if (!translating_) return;
  double cost = 0;
  bool any = false;
  for (uint64_t a = pa; a < pa + bytes; a += k4K) {
    auto it = refs_.find(a);
    if (it == refs_.end() || --it->second > 0) continue;
    refs_.erase(it);
    // The leaf covering `a` goes once none of its pages is mapped.
    auto leaf = leaves_.upper_bound(a);
    if (leaf == leaves_.begin()) continue;
    --leaf;
    const uint64_t base = leaf->first;
    const uint64_t size = leaf->second;
    if (a >= base + size) continue;
    const auto inside = refs_.lower_bound(base);
    if (inside != refs_.end() && inside->first < base + size) continue;
    table_->unmap(base);
    leaves_.erase(leaf);
    ++unmapped_pages_;
    cost += cfg_.unmap_per_page_ns();
    any = true;
  }
  if (cost > 0) t.compute_ns(cost);
  if (any) flush(t, pa, bytes);
}

void IommuDma::add_process_memory(uint64_t pa, uint64_t bytes) { process_[pa] = pa + bytes; }

void IommuDma::queue_command(DriverThread& t, const iommu::Command& c) {
  // iommu_queue_command: write the entry, advance the tail register.
  t.compute_ns(cfg_.command_ns());
  mem_.write(cmd_buf_ + uint64_t{cmd_tail_} * iommu::kCommandBytes, c.data.data(), iommu::kCommandBytes);
  cmd_tail_ = (cmd_tail_ + 1) % kCommandEntries;
  hw_->write_command_tail(cmd_tail_);
}

void IommuDma::flush(DriverThread& t, uint64_t pa, uint64_t bytes) {
  // domain_flush_pages + domain_flush_complete (strict invalidation).
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  ++flushes_;
  const auto [base, size] = covering(pa, bytes);
  queue_command(t, iommu::cmd::inv_iommu_pages(kDomain, base, size));
  if (ats_) queue_command(t, iommu::cmd::inv_iotlb_pages(iommu::kGpuRequesterId, base, size));
  const uint64_t want = ++sem_value_;
  queue_command(t, iommu::cmd::completion_wait(sem_, want));
  while (mem_.read64(sem_) != want) t.compute_ns(cfg_.completion_poll_ns());
  flush_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
}

// ------------------------------------------------------------------ interrupt, events, PPR

void IommuDma::on_irq() {
  irq_latched_ = true;
  irq_event_.notify(sc_core::SC_ZERO_TIME);
}

void IommuDma::report_event(const iommu::Event& e) {
  char buf[200];
  if (e.type() == iommu::event::kIoPageFault) {
    ++io_page_faults_;
    // As iommu_print_event prints it.
    std::snprintf(buf, sizeof buf,
                  "AMD-Vi: Event logged [IO_PAGE_FAULT device=%s domain=0x%04x address=0x%llx flags=0x%04x]",
                  iommu::bdf(e.devid()).c_str(), e.domain(), static_cast<unsigned long long>(e.address()),
                  e.flags());
  } else {
    std::snprintf(buf, sizeof buf, "AMD-Vi: Event logged [type 0x%x device=%s address=0x%llx]", e.type(),
                  iommu::bdf(e.devid()).c_str(), static_cast<unsigned long long>(e.address()));
  }
  if (reports_.size() < 16) reports_.push_back(std::string(buf) + " at " + format_duration_ns(to_ns(sc_core::sc_time_stamp())));
  SC_REPORT_WARNING(name(), buf);
}

void IommuDma::isr_thread() {
  for (;;) {
    while (!irq_latched_) sc_core::wait(irq_event_);
    irq_latched_ = false;
    isr_running_ = true;
    ++interrupts_;
    DriverThread t(cpu_, hw::WorkClass::kHardIrq);
    t.compute_ns(cfg_.isr_ns());
    hw_->ack_interrupt();  // clear the status bits first, so later entries interrupt again
    while (event_head_ != hw_->event_tail()) {
      iommu::Event e;
      mem_.read(event_log_ + uint64_t{event_head_} * iommu::kLogEntryBytes, e.data.data(), iommu::kLogEntryBytes);
      t.compute_ns(cfg_.event_ns());
      report_event(e);
      event_head_ = (event_head_ + 1) % log_entries_;
      hw_->write_event_head(event_head_);
    }
    while (ppr_head_ != hw_->ppr_tail()) {
      iommu::PprEntry p;
      mem_.read(ppr_log_ + uint64_t{ppr_head_} * iommu::kLogEntryBytes, p.raw.data(), iommu::kLogEntryBytes);
      ppr_queue_.push_back(p);
      ppr_head_ = (ppr_head_ + 1) % log_entries_;
      hw_->write_ppr_head(ppr_head_);
      ppr_event_.notify(sc_core::SC_ZERO_TIME);
    }
    t.release();
    isr_running_ = false;
  }
}

void IommuDma::ppr_thread() {
  for (;;) {
    while (ppr_queue_.empty()) sc_core::wait(ppr_event_);
    ppr_running_ = true;
    const sc_core::sc_time start = sc_core::sc_time_stamp();
    const iommu::PprEntry p = ppr_queue_.front();
    ppr_queue_.pop_front();
    DriverThread t(cpu_, hw::WorkClass::kWorker);
    t.compute_ns(cfg_.ppr_ns());
    const uint64_t page = p.address() & ~(k4K - 1);
    auto it = process_.upper_bound(page);
    bool ok = false;
    if (it != process_.begin() && page < std::prev(it)->second) {
      ok = true;
      if (refs_.count(page) == 0) map(&t, page, k4K);
      ++ppr_resolved_;
    } else {
      ++ppr_invalid_;
    }
    queue_command(t, iommu::cmd::complete_ppr(p.devid(), p.pasid(), p.tag(),
                                              ok ? iommu::cmd::kPprSuccess : iommu::cmd::kPprInvalid));
    ppr_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
    t.release();
    ppr_running_ = false;
  }
}

}  // namespace fl::driver
