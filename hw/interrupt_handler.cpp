#include "hw/interrupt_handler.h"

#include <cstring>

#include "hw/gpu_regs.h"
#include "mmu/fault_report.h"
#include "sim/core/errors.h"

namespace fl::hw {

namespace {
bool is_retry_fault(const IhEntry& e) {
  const bool vm_fault = (e.client_id == ih_client::kUtcl2 && e.src_id == ih_src::kUtcl2Fault) ||
                        (e.client_id == ih_client::kVmc && e.src_id == ih_src::kVmFault);
  return vm_fault && mmu::fault_retry(e.src_data);
}

void check_ring_size(const std::string& key, uint32_t size, bool zero_ok) {
  if (size == 0 && zero_ok) return;
  if ((size & (size - 1)) != 0 || size < 2 * kIhEntryBytes) {
    throw InputError(key + " = " + std::to_string(size) + ": must be a power of two of at least 64" +
                     (zero_ok ? " (or 0)" : ""));
  }
}
}  // namespace

InterruptHandler::InterruptHandler(sc_core::sc_module_name name,
                                   const config::InterruptHandler& cfg, const Clock& clock,
                                   const std::vector<std::string>& sources, FaultTrace* trace)
    : sc_module(name),
      out("out", AtInitiatorPort::ReleaseOnResponse{}),
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
  check_ring_size(std::string(this->name()) + ".ring_bytes", cfg.ring_bytes(), false);
  check_ring_size(std::string(this->name()) + ".ring1_bytes", cfg.ring1_bytes(), true);
  rings_[0].bytes = cfg.ring_bytes();
  rings_[1].bytes = cfg.ring1_bytes();
  moderation_ = from_ns(cfg.moderation_ns());
  if (retry_cam()) {
    cam_keys_.assign(cfg.cam_entries(), 0);
    cam_busy_.assign(cfg.cam_entries(), false);
    ring0_slot_cam_.assign(rings_[0].bytes / kIhEntryBytes, -1);
  }
}

namespace {
const char* entry_kind(const IhEntry& e) {
  const bool vm_fault = (e.client_id == ih_client::kUtcl2 && e.src_id == ih_src::kUtcl2Fault) ||
                        (e.client_id == ih_client::kVmc && e.src_id == ih_src::kVmFault);
  if (vm_fault) return mmu::fault_retry(e.src_data) ? "retry_fault" : "vm_fault";
  if (e.client_id == ih_client::kIh && e.src_id == ih_src::kIhSelf) return "self_irq";
  if (e.src_id == ih_src::kSdmaTrap) return "sdma_trap";
  return "entry";
}
}  // namespace

void InterruptHandler::set_timeline(Timeline* t) {
  const std::string n = name();
  tl_ring_[0] = std::make_unique<TimelineLanes>(*t, n + ".ring0", timeline_sort::kIhRing0);
  tl_slots_[0].assign(rings_[0].bytes / kIhEntryBytes, TlSlot{});
  if (has_ring1()) {
    tl_ring_[1] = std::make_unique<TimelineLanes>(*t, n + ".ring1", timeline_sort::kIhRing1);
    tl_slots_[1].assign(rings_[1].bytes / kIhEntryBytes, TlSlot{});
  }
  // Entries still unread when the run ends are drawn up to its end.
  t->at_finish([this] {
    for (int ring = 0; ring < 2; ++ring) {
      for (TlSlot& sl : tl_slots_[ring]) {
        if (!sl.open) continue;
        sl.open = false;
        tl_ring_[ring]->close(sl.lane, sl.kind, sl.written_ps, now_ps(), TimelineArgs().num("unread", 1));
      }
    }
  });
}

void InterruptHandler::tl_written(int ring, uint32_t offset, const IhEntry& e) {
  TlSlot& sl = tl_slots_[ring][offset / kIhEntryBytes];
  const uint64_t now = now_ps();
  if (sl.open) {
    // Overwritten before the host read it (a full IH0).
    tl_ring_[ring]->close(sl.lane, "overwritten", sl.written_ps, now, TimelineArgs().str("entry", sl.kind));
  }
  sl.open = true;
  sl.lane = tl_ring_[ring]->open(now);
  sl.written_ps = now;
  sl.kind = entry_kind(e);
  const bool fault = (e.client_id == ih_client::kUtcl2 && e.src_id == ih_src::kUtcl2Fault) ||
                     (e.client_id == ih_client::kVmc && e.src_id == ih_src::kVmFault);
  sl.va = fault ? mmu::fault_address(e.src_data) : 0;
}

void InterruptHandler::tl_consumed(int ring, uint32_t from, uint32_t to) {
  const uint32_t mask = rings_[ring].bytes - 1;
  const uint64_t now = now_ps();
  for (uint32_t o = from; o != to; o = (o + kIhEntryBytes) & mask) {
    TlSlot& sl = tl_slots_[ring][o / kIhEntryBytes];
    if (!sl.open) continue;
    sl.open = false;
    TimelineArgs a;
    a.num("slot", o / kIhEntryBytes);
    if (sl.va != 0) a.hex("va", sl.va);
    tl_ring_[ring]->close(sl.lane, sl.kind, sl.written_ps, now, a);
  }
}

void InterruptHandler::tl_dropped(const char* why, const IhEntry& e) {
  TimelineLanes& lanes = *tl_ring_[has_ring1() ? 1 : 0];
  const uint64_t now = now_ps();
  lanes.close(lanes.open(now), why, now, now, TimelineArgs().hex("va", mmu::fault_address(e.src_data)).num("pasid", e.pasid));
}

AtTargetPort& InterruptHandler::source(const std::string& name) {
  for (size_t i = 0; i < source_names_.size(); ++i) {
    if (source_names_[i] == name) return *sources_[i];
  }
  SC_REPORT_FATAL(this->name(), ("no interrupt source port " + name).c_str());
  return *sources_.front();
}

void InterruptHandler::program(uint64_t ring0_base, uint64_t ring0_wptr_wb, uint64_t ring1_base,
                               uint64_t msi_addr, uint32_t msi_data) {
  rings_[0].base = ring0_base;
  rings_[1].base = ring1_base;
  wptr_wb_addr_ = ring0_wptr_wb;
  msi_addr_ = msi_addr;
  msi_data_ = msi_data;
  programmed_ = true;
}

uint64_t InterruptHandler::timestamp_at(const sc_core::sc_time& t) const {
  // ticks = t[ps] * f[MHz] / 10^6, kept to 48 bits like the hardware counter.
  const double ticks = static_cast<double>(t.value()) * cfg_.timestamp_mhz() / 1.0e6;
  return static_cast<uint64_t>(ticks) & ((uint64_t{1} << 48) - 1);
}

bool InterruptHandler::idle() const {
  return !busy_ && pending_.empty() && rings_[0].rptr == rings_[0].wptr &&
         rings_[1].rptr == rings_[1].wptr;
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
    SC_REPORT_ERROR(name(), "interrupt before the driver programmed the IH rings");
    return;
  }
  p.entry.timestamp = timestamp_at(sc_core::sc_time_stamp());
  if (is_retry_fault(p.entry) && retry_cam() && !cam_admit(p.entry, p.trace_id)) {
    if (pending_.empty()) {
      busy_ = false;
    } else {
      queue_.schedule(entry_latency_, [this] { process_next(); });
    }
    return;
  }
  if (is_retry_fault(p.entry)) ++fault_entries_;
  if (has_ring1() && is_retry_fault(p.entry)) {
    write_ring1(p.entry, p.trace_id);
  } else {
    write_ring0(p.entry, p.trace_id);
  }
  if (pending_.empty()) {
    busy_ = false;
  } else {
    queue_.schedule(entry_latency_, [this] { process_next(); });
  }
}

void InterruptHandler::write_ring0(const IhEntry& e, uint64_t trace_id) {
  Ring& r = rings_[0];
  occupancy_.sample(static_cast<double>(r.unread));
  if (r.unread * kIhEntryBytes >= r.bytes) {
    // Full: this write overwrites the oldest unread entry.
    if (!r.overflow) ++overflows_;
    r.overflow = true;
    ++overwritten_;
    if (retry_cam() && ring0_slot_cam_[r.wptr / kIhEntryBytes] >= 0) {
      ++cam_lost_;
      cam_free(static_cast<uint32_t>(ring0_slot_cam_[r.wptr / kIhEntryBytes]));
    }
  } else {
    ++r.unread;
  }
  if (retry_cam()) ring0_slot_cam_[r.wptr / kIhEntryBytes] = cam_index(e);
  if (tl_ring_[0] != nullptr) tl_written(0, r.wptr, e);
  const uint64_t slot = r.base + r.wptr;
  const IhEntry::Words words = e.encode();
  write_host(slot, words.data(), kIhEntryBytes);
  if (trace_ != nullptr && trace_id != 0) trace_->ih_written(trace_id, slot);
  ++entries_;
  r.wptr = (r.wptr + kIhEntryBytes) & (r.bytes - 1);
  const uint32_t wb = r.wptr | (r.overflow ? 1u : 0u);
  write_host(wptr_wb_addr_, &wb, 4);
  request_msi();
}

void InterruptHandler::request_msi() {
  if (rings_[0].notify_pending || msi_timer_armed_) return;
  if (moderation_ == sc_core::SC_ZERO_TIME) {
    raise_msi();
    return;
  }
  // Coalesce: entries written before the timer expires share one MSI.
  msi_timer_armed_ = true;
  ++moderated_;
  queue_.schedule(moderation_, [this] {
    msi_timer_armed_ = false;
    const Ring& r = rings_[0];
    if (!r.notify_pending && (r.rptr != r.wptr || r.overflow)) raise_msi();
  });
}

bool InterruptHandler::cam_admit(IhEntry& e, uint64_t trace_id) {
  const uint64_t key = mmu::fault_address(e.src_data) << 4 | e.pasid;
  size_t free_index = cam_keys_.size();
  for (size_t i = 0; i < cam_keys_.size(); ++i) {
    if (cam_busy_[i] && cam_keys_[i] == key) {
      ++cam_suppressed_;
      if (trace_ != nullptr && trace_id != 0) trace_->outcome(trace_id, Outcome::kFiltered);
      if (tl_ring_[0] != nullptr) tl_dropped("cam_suppressed", e);
      return false;
    }
    if (!cam_busy_[i] && free_index == cam_keys_.size()) free_index = i;
  }
  if (free_index == cam_keys_.size()) {
    ++cam_full_drops_;
    if (trace_ != nullptr && trace_id != 0) trace_->outcome(trace_id, Outcome::kRingLost);
    if (tl_ring_[0] != nullptr) tl_dropped("cam_full_drop", e);
    return false;
  }
  cam_busy_[free_index] = true;
  cam_keys_[free_index] = key;
  cam_max_used_.set_max(++cam_used_);
  e.src_data[2] = (e.src_data[2] & ~regs::kIhCamIndexMask) | static_cast<uint32_t>(free_index);
  return true;
}

void InterruptHandler::cam_ack(uint32_t index) {
  index &= regs::kIhCamIndexMask;
  if (index >= cam_busy_.size() || !cam_busy_[index]) return;
  ++cam_acks_;
  cam_free(index);
}

void InterruptHandler::cam_free(uint32_t index) {
  if (index >= cam_busy_.size() || !cam_busy_[index]) return;
  cam_busy_[index] = false;
  --cam_used_;
}

int32_t InterruptHandler::cam_index(const IhEntry& e) const {
  if (!retry_cam() || !is_retry_fault(e)) return -1;
  return static_cast<int32_t>(e.src_data[2] & regs::kIhCamIndexMask);
}

void InterruptHandler::write_ring1(const IhEntry& e, uint64_t trace_id) {
  Ring& r = rings_[1];
  ring1_occupancy_.sample(static_cast<double>(r.unread));
  if ((r.unread + 1) * kIhEntryBytes >= r.bytes) {
    // RB_FULL_DRAIN: a full IH1 drops the new entry (one slot stays free so WPTR never
    // catches up with RPTR).
    ++ring1_drops_;
    if (trace_ != nullptr && trace_id != 0) trace_->outcome(trace_id, Outcome::kRingLost);
    if (tl_ring_[0] != nullptr) tl_dropped("dropped_ring_full", e);
    if (cam_index(e) >= 0) {
      ++cam_lost_;
      cam_free(static_cast<uint32_t>(cam_index(e)));
    }
    return;
  }
  ++r.unread;
  if (tl_ring_[0] != nullptr) tl_written(1, r.wptr, e);
  const uint64_t slot = r.base + r.wptr;
  const IhEntry::Words words = e.encode();
  write_host(slot, words.data(), kIhEntryBytes);
  if (trace_ != nullptr && trace_id != 0) trace_->ih_written(trace_id, slot);
  ++ring1_entries_;
  r.wptr = (r.wptr + kIhEntryBytes) & (r.bytes - 1);
  if (!r.notify_pending) announce_ring1();
}

void InterruptHandler::announce_ring1() {
  rings_[1].notify_pending = true;
  ++self_interrupts_;
  IhEntry self;
  self.client_id = ih_client::kIh;
  self.src_id = ih_src::kIhSelf;
  self.ring_id = 1;
  self.timestamp = timestamp_at(sc_core::sc_time_stamp());
  self.src_data[0] = rings_[1].wptr;
  write_ring0(self, 0);
}

void InterruptHandler::write_host(uint64_t addr, const void* data, uint32_t len) {
  Txn& t = pool_.acquire();
  t.setup(tlm::TLM_WRITE_COMMAND, addr, len);
  std::memcpy(t.buffer(), data, len);
  t.ext().system = true;
  out.send(t);
}

void InterruptHandler::raise_msi() {
  rings_[0].notify_pending = true;
  ++msis_;
  write_host(msi_addr_, &msi_data_, 4);
}

void InterruptHandler::acknowledge(int ring, uint32_t value) {
  Ring& r = rings_[ring];
  const uint32_t new_rptr = value & (r.bytes - 1) & ~(kIhEntryBytes - 1);
  if (tl_ring_[0] != nullptr) tl_consumed(ring, r.rptr, new_rptr);
  // Entries between the new RPTR and WPTR are still unread.
  r.unread = ((r.wptr - new_rptr) & (r.bytes - 1)) / kIhEntryBytes;
  if (r.overflow && r.unread == 0 && new_rptr != r.wptr) r.unread = r.bytes / kIhEntryBytes;
  r.rptr = new_rptr;
  r.notify_pending = false;
  if (r.rptr != r.wptr) {
    if (ring == 0) {
      request_msi();
    } else {
      announce_ring1();
    }
  }
}

uint32_t InterruptHandler::read_reg(uint64_t offset) {
  if (offset == regs::kIhRbRptr) return rings_[0].rptr;
  if (offset == regs::kIhRbRptrRing1) return rings_[1].rptr;
  if (offset == regs::kIhRbWptrRing1) return rings_[1].wptr;
  return 0;
}

void InterruptHandler::write_reg(uint64_t offset, uint32_t value) {
  if (offset == regs::kIhRbRptr) {
    acknowledge(0, value);
  } else if (offset == regs::kIhRbRptrRing1 && has_ring1()) {
    acknowledge(1, value);
  } else if (offset == regs::kIhRetryCamDoorbell) {
    cam_ack(value);
  } else if (offset == regs::kIhRbCntl) {
    if ((value & regs::kIhRbCntlWptrOverflowClear) != 0) rings_[0].overflow = false;
  }
}

}  // namespace fl::hw
