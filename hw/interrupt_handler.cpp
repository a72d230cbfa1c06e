#include "hw/interrupt_handler.h"

#include <cstring>

#include "hw/gpu_regs.h"
#include "sim/core/errors.h"

namespace fl::hw {

InterruptHandler::InterruptHandler(sc_core::sc_module_name name,
                                   const config::InterruptHandler& cfg, const Clock& clock,
                                   const std::vector<std::string>& sources, FaultTrace* trace)
    : sc_module(name),
      out("out", [](Payload& gp) { gp.release(); }),
      regs("regs", [this](uint64_t o) { return read_reg(o); },
           [this](uint64_t o, uint32_t v) { write_reg(o, v); }),
      source_names_(sources),
      cfg_(cfg),
      entry_latency_(clock.cycles(cfg.entry_latency_cycles())),
      trace_(trace),
      queue_("queue") {
  for (size_t i = 0; i < sources.size(); ++i) {
    sources_.push_back(std::make_unique<AtTargetPort>(
        ("from_" + sources[i]).c_str(), [this, i](Payload& gp) { accept(gp, *sources_[i]); }));
  }
  const uint32_t size = cfg.ring_bytes();
  if ((size & (size - 1)) != 0 || size % kIhEntryBytes != 0) {
    throw InputError(std::string(this->name()) + ".ring_bytes = " + std::to_string(size) +
                     ": must be a power of two of at least 64");
  }
}

void InterruptHandler::program(uint64_t ring_base, uint64_t wptr_wb_addr, uint64_t msi_addr,
                               uint32_t msi_data) {
  ring_base_ = ring_base;
  wptr_wb_addr_ = wptr_wb_addr;
  msi_addr_ = msi_addr;
  msi_data_ = msi_data;
  programmed_ = true;
}

uint64_t InterruptHandler::timestamp_at(const sc_core::sc_time& t) const {
  // ticks = t[ps] * f[MHz] / 10^6, kept to 48 bits like the hardware counter.
  const double ticks = static_cast<double>(t.value()) * cfg_.timestamp_mhz() / 1.0e6;
  return static_cast<uint64_t>(ticks) & ((uint64_t{1} << 48) - 1);
}

AtTargetPort& InterruptHandler::source(const std::string& name) {
  for (size_t i = 0; i < source_names_.size(); ++i) {
    if (source_names_[i] == name) return *sources_[i];
  }
  SC_REPORT_FATAL(this->name(), ("no interrupt source port " + name).c_str());
  return *sources_.front();
}

void InterruptHandler::accept(Payload& gp, AtTargetPort& from) {
  Pending p{};
  const InterruptExt* irq = gp.get_extension<InterruptExt>();
  if (irq == nullptr) {
    SC_REPORT_ERROR(name(), "interrupt transaction without an InterruptExt");
    return;
  }
  p.entry.client_id = irq->client_id;
  p.entry.src_id = irq->src_id;
  p.entry.vmid = irq->vmid;
  p.entry.pasid = irq->pasid;
  p.entry.src_data = irq->src_data;
  p.trace_id = txn_ext(gp).trace_id;
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  from.respond(gp);
  pending_.push_back(p);
  if (!busy_) {
    busy_ = true;
    queue_.schedule(entry_latency_, [this] { process_next(); });
  }
}

void InterruptHandler::process_next() {
  Pending p = pending_.front();
  pending_.pop_front();
  if (!programmed_) {
    SC_REPORT_ERROR(name(), "interrupt before the driver programmed the IH ring");
    return;
  }
  IhEntry e = p.entry;
  e.ring_id = 0;
  e.timestamp = timestamp_at(sc_core::sc_time_stamp());
  const IhEntry::Words words = e.encode();

  const uint32_t size = cfg_.ring_bytes();
  occupancy_.sample(static_cast<double>(unread_));
  if (unread_ * kIhEntryBytes >= size) {
    // The ring is full: this write overwrites the oldest unread entry.
    if (!overflow_) ++overflows_;
    overflow_ = true;
    ++overwritten_;
  } else {
    ++unread_;
  }
  const uint64_t slot = ring_base_ + wptr_;
  write_host(slot, words.data(), kIhEntryBytes);
  if (trace_ != nullptr && p.trace_id != 0) trace_->ih_written(p.trace_id, slot);
  ++entries_;
  if (e.client_id == ih_client::kUtcl2 || e.client_id == ih_client::kVmc) ++fault_entries_;
  wptr_ = (wptr_ + kIhEntryBytes) & (size - 1);

  const uint32_t wb = wptr_ | (overflow_ ? 1u : 0u);
  write_host(wptr_wb_addr_, &wb, 4);
  if (!msi_pending_) raise_msi();

  if (pending_.empty()) {
    busy_ = false;
  } else {
    queue_.schedule(entry_latency_, [this] { process_next(); });
  }
}

void InterruptHandler::write_host(uint64_t addr, const void* data, uint32_t len) {
  Txn& t = pool_.acquire();
  t.setup(tlm::TLM_WRITE_COMMAND, addr, len);
  std::memcpy(t.buffer(), data, len);
  t.ext().system = true;
  out.send(t);
}

void InterruptHandler::raise_msi() {
  msi_pending_ = true;
  ++msis_;
  write_host(msi_addr_, &msi_data_, 4);
}

uint32_t InterruptHandler::read_reg(uint64_t offset) {
  if (offset == regs::kIhRbRptr) return rptr_;
  return 0;
}

void InterruptHandler::write_reg(uint64_t offset, uint32_t value) {
  if (offset == regs::kIhRbRptr) {
    const uint32_t size = cfg_.ring_bytes();
    const uint32_t new_rptr = value & (size - 1) & ~(kIhEntryBytes - 1);
    // Entries between WPTR and the new RPTR are still unread.
    unread_ = ((wptr_ - new_rptr) & (size - 1)) / kIhEntryBytes;
    if (overflow_ && unread_ == 0 && new_rptr != wptr_) unread_ = size / kIhEntryBytes;
    rptr_ = new_rptr;
    msi_pending_ = false;
    if (rptr_ != wptr_) raise_msi();
  } else if (offset == regs::kIhRbCntl) {
    if ((value & regs::kIhRbCntlWptrOverflowClear) != 0) overflow_ = false;
  }
}

}  // namespace fl::hw
