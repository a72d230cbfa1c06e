#include "iommu/iommu.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "iommu/io_page_table.h"
#include "sim/core/errors.h"
#include "sim/core/time.h"

namespace fl::iommu {

uint32_t checked_geometry(uint32_t entries, uint32_t ways, const char* entries_key, const char* ways_key) {
  if (ways == 0 || entries % ways != 0) {
    throw InputError(std::string(entries_key) + " = " + std::to_string(entries) + ": must be a multiple of " +
                     ways_key + " (" + std::to_string(ways) + ")");
  }
  return entries;
}

std::string bdf(uint16_t devid) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02x:%02x.%x", devid >> 8, (devid >> 3) & 0x1F, devid & 7);
  return buf;
}

Iommu::Iommu(sc_core::sc_module_name name, const config::Iommu& cfg)
    : sc_module(name),
      dma_in("dma_in", [this](Payload& gp) { on_dma(gp); }),
      mem_out("mem_out",
              [this](Payload& gp) {
                if (from_pool(gp, pool_)) {
                  on_walk_read(gp);
                  return;
                }
                const auto it = rewritten_.find(&gp);
                if (it != rewritten_.end()) {
                  gp.set_address(it->second);
                  rewritten_.erase(it);
                }
                dma_in.respond(gp);
              }),
      msi_out("msi_out",
              [this](Payload& gp) {
                if (from_pool(gp, pool_)) {
                  gp.release();  // the IOMMU's own interrupt was delivered
                } else {
                  dma_in.respond(gp);
                }
              }),
      cfg_(cfg),
      latency_(from_ns(cfg.passthrough_latency_ns())),
      step_(from_ns(cfg.walk_step_ns())),
      command_time_(from_ns(cfg.command_ns())),
      queue_("events"),
      iotlb_(checked_geometry(cfg.iotlb_entries(), cfg.iotlb_ways(), "soc.iommu.iotlb_entries",
                              "soc.iommu.iotlb_ways"),
             cfg.iotlb_ways()),
      pwc_(cfg.pwc_entries()) {}

void Iommu::attach(hw::SparseMemory& host_mem, hw::HostLink* link, AtsDevice* device) {
  mem_ = &host_mem;
  link_ = link;
  device_ = device;
}

void Iommu::program(const Programming& p) {
  prog_ = p;
  programmed_ = true;
}

Dte Iommu::read_dte(uint16_t devid) const {
  Dte d;
  if (!programmed_ || devid >= prog_.device_table_entries) return d;  // not valid: pass-through
  const uint64_t a = prog_.device_table + uint64_t{devid} * kDteBytes;
  for (int i = 0; i < 4; ++i) d.data[static_cast<size_t>(i)] = mem_->read64(a + 8 * static_cast<uint64_t>(i));
  return d;
}

bool Iommu::idle() const {
  return cmd_head_ == cmd_tail_ && !cmd_busy_ && !cmd_waiting_ && active_.empty() && walk_queue_.empty();
}

// ------------------------------------------------------------------ DMA

void Iommu::pass(Payload& gp) { mem_out.send(gp, latency_); }

void Iommu::on_dma(Payload& gp) {
  const uint64_t iova = gp.get_address();
  if (gp.is_write() && is_msi_address(iova)) {
    ++msis_;
    msi_out.send(gp, latency_);
    return;
  }
  (gp.is_read() ? ++dma_reads_ : ++dma_writes_);
  const Dte d = read_dte(kGpuRequesterId);
  if (!d.valid() || !d.translation_valid() || d.mode() == 0) {
    ++passthrough_;
    pass(gp);
    return;
  }
  if (hw::is_translated(gp) && d.iotlb()) {
    ++pretranslated_;
    pass(gp);
    return;
  }
  const bool write = gp.is_write();
  const uint16_t dom = d.domain();
  // A TLP never crosses a 4 KiB boundary, so a longer request stands for one per page:
  // every page it covers is translated, and it faults at the first page without a valid
  // translation. The data goes on as one request at the first page's translation, which
  // is exact when the translations are contiguous (as the driver's identity IOVAs are).
  const uint64_t first = iova & ~0xFFFULL;
  const uint64_t last = (iova + std::max<uint64_t>(gp.get_data_length(), 1) - 1) & ~0xFFFULL;
  auto state = std::make_shared<MultiPage>();
  state->left = static_cast<uint32_t>((last - first) / 4096 + 1);
  for (uint64_t page = first; page <= last; page += 4096) {
    translate(dom, d.root(), page == first ? iova : page,
              [this, &gp, write, iova, dom, page, first, state](const Outcome& o) {
                const bool ok = o.present && (write ? o.write : o.read);
                if (page == first && ok) state->pa = o.pa + (iova & (o.page_bytes - 1));
                if (!ok && (!state->bad || page < state->bad_page)) {
                  state->bad = true;
                  state->bad_page = page;
                  state->bad_present = o.present;
                }
                if (--state->left > 0) return;
                if (state->bad) {
                  fault(gp, dom, state->bad_present, state->bad_page == first ? iova : state->bad_page);
                  return;
                }
                if (state->pa != iova) {
                  rewritten_[&gp] = iova;
                  gp.set_address(state->pa);
                }
                mem_out.send(gp);
              });
  }
}

void Iommu::fault(Payload& gp, uint16_t domain, bool present, uint64_t addr) {
  ++io_page_faults_;
  const uint32_t flags = (gp.is_write() ? event::kFlagWrite : 0) | (present ? event::kFlagPresent : 0);
  log_event(Event::io_page_fault(kGpuRequesterId, domain, addr, flags));
  // The requester gets an Unsupported Request: a read returns no data, a write is dropped.
  gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
  dma_in.respond(gp);
}

// ------------------------------------------------------------------ translation

void Iommu::translate(uint16_t domain, uint64_t root, uint64_t iova, OutcomeFn done) {
  queue_.schedule(latency_, [this, domain, root, iova, done = std::move(done)]() mutable {
    if (const auto t = iotlb_.lookup(domain, iova)) {
      ++iotlb_hits_;
      done(Outcome{true, t->pa_base, t->page_bytes, t->read, t->write});
      return;
    }
    ++iotlb_misses_;
    const auto key = std::make_pair(domain, iova >> 12);
    const auto it = walking_.find(key);
    if (it != walking_.end()) {
      ++merged_;
      it->second->waiters.push_back(std::move(done));
      return;
    }
    auto w = std::make_unique<Walk>();
    w->domain = domain;
    w->iova = iova & ~0xFFFULL;
    w->root = root;
    w->start = sc_core::sc_time_stamp();
    w->waiters.push_back(std::move(done));
    walking_[key] = w.get();
    walk_queue_.push_back(std::move(w));
    start_walks();
  });
}

void Iommu::start_walks() {
  while (active_.size() < cfg_.walkers() && !walk_queue_.empty()) {
    std::unique_ptr<Walk> w = std::move(walk_queue_.front());
    walk_queue_.pop_front();
    ++walks_;
    if (const auto hit = pwc_.lookup(w->domain, w->iova)) {
      ++pwc_hits_;
      w->level = hit->level - 1;
      w->table = hit->table;
    } else {
      w->level = 4;
      w->table = w->root;
    }
    Walk* raw = w.get();
    active_.push_back(std::move(w));
    walk_step(raw);
  }
}

void Iommu::walk_step(Walk* w) {
  queue_.schedule(step_, [this, w] {
    Txn& t = pool_.acquire();
    t.setup(tlm::TLM_READ_COMMAND, w->table + 8 * level_index(w->level, w->iova), 8);
    t.ext().system = true;
    ++walk_reads_n_;
    walk_reads_[&t] = w;
    mem_out.send(t);
  });
}

void Iommu::on_walk_read(Payload& gp) {
  const auto it = walk_reads_.find(&gp);
  Walk* w = it->second;
  walk_reads_.erase(it);
  uint64_t v = 0;
  std::memcpy(&v, gp.get_data_ptr(), 8);
  gp.release();
  const IoPte e = IoPte::decode(v);
  Outcome o;
  bool finished = true;
  if (!e.present) {
    // Not present: a fault for DMA, R = W = 0 for a translation request.
  } else if (e.next_level == 0) {
    o = Outcome{true, e.addr & ~(level_page_bytes(w->level) - 1), level_page_bytes(w->level), e.read, e.write};
    iotlb_.insert(w->domain, w->iova, CachedTranslation{o.pa, o.page_bytes, o.read, o.write});
  } else if (static_cast<int>(e.next_level) == w->level - 1) {
    pwc_.insert(w->domain, w->level, w->iova, e.addr);
    w->level -= 1;
    w->table = e.addr;
    finished = false;
  }  // else a malformed NextLevel: treated as not present
  if (!finished) {
    walk_step(w);
    return;
  }
  walk_ns_.sample(to_ns(sc_core::sc_time_stamp() - w->start));
  walking_.erase(std::make_pair(w->domain, w->iova >> 12));
  std::vector<OutcomeFn> waiters = std::move(w->waiters);
  for (auto a = active_.begin(); a != active_.end(); ++a) {
    if (a->get() == w) {
      active_.erase(a);
      break;
    }
  }
  for (auto& fn : waiters) fn(o);
  start_walks();
}

// ------------------------------------------------------------------ logs and interrupt

void Iommu::log_event(const Event& e) {
  const uint32_t n = prog_.log_entries;
  if (!programmed_ || n == 0 || (event_tail_ + 1) % n == event_head_) {
    ++events_dropped_;
    return;
  }
  mem_->write(prog_.event_log + uint64_t{event_tail_} * kLogEntryBytes, e.data.data(), kLogEntryBytes);
  event_tail_ = (event_tail_ + 1) % n;
  ++events_;
  raise_interrupt();
}

bool Iommu::log_ppr(const PprEntry& e) {
  const uint32_t n = prog_.log_entries;
  if (!programmed_ || n == 0 || (ppr_tail_ + 1) % n == ppr_head_) return false;
  mem_->write(prog_.ppr_log + uint64_t{ppr_tail_} * kLogEntryBytes, e.raw.data(), kLogEntryBytes);
  ppr_tail_ = (ppr_tail_ + 1) % n;
  raise_interrupt();
  return true;
}

void Iommu::raise_interrupt() {
  if (irq_pending_) return;  // the handler reads everything logged before it acknowledges
  irq_pending_ = true;
  ++interrupts_;
  Txn& t = pool_.acquire();
  t.setup(tlm::TLM_WRITE_COMMAND, kMsiBase, 4);
  std::memcpy(t.buffer(), &prog_.msi_vector, 4);
  msi_out.send(t, latency_);
}

// ------------------------------------------------------------------ commands

void Iommu::write_command_tail(uint32_t tail) {
  cmd_tail_ = tail;
  if (!cmd_busy_) process_commands();
}

void Iommu::process_commands() {
  if (cmd_waiting_ || cmd_head_ == cmd_tail_ || prog_.command_entries == 0) {
    cmd_busy_ = false;
    return;
  }
  cmd_busy_ = true;
  queue_.schedule(command_time_, [this] {
    Command c;
    mem_->read(prog_.command_buffer + uint64_t{cmd_head_} * kCommandBytes, c.data.data(), kCommandBytes);
    cmd_head_ = (cmd_head_ + 1) % prog_.command_entries;
    execute(c);
    cmd_busy_ = false;
    process_commands();
  });
}

void Iommu::execute(const Command& c) {
  ++commands_;
  switch (c.opcode()) {
    case cmd::kInvIommuPages: {
      ++invalidations_;
      const cmd::Range r = cmd::decode_range(cmd::command_range_field(c));
      const uint16_t dom = cmd::command_domain(c);
      invalidated_ += iotlb_.invalidate(dom, r.addr, r.bytes) + pwc_.invalidate(dom, r.addr, r.bytes);
      break;
    }
    case cmd::kInvIotlbPages: {
      const cmd::Range r = cmd::decode_range(cmd::command_range_field(c));
      ++ats_invalidations_;
      if (device_ == nullptr || link_ == nullptr) break;  // no ATS device: nothing to wait for
      ++ats_outstanding_;
      const uint32_t itag = next_itag_++;
      tlps_.clear();
      link_->timing().message(8, tlps_);  // Invalidate Request: MsgD with the range
      link_->send(hw::HostLink::Dir::kDown, tlps_,
                  [this, r, itag] { device_->invalidate_request(r.addr, r.bytes, itag); });
      break;
    }
    case cmd::kCompletionWait: {
      ++completion_waits_;
      if (ats_outstanding_ > 0) {
        cmd_waiting_ = true;
        const sc_core::sc_time start = sc_core::sc_time_stamp();
        // Finished by invalidation_completion.
        pending_wait_ = [this, c, start] {
          completion_wait_ns_.sample(to_ns(sc_core::sc_time_stamp() - start));
          if (c.data[0] & cmd::kStoreMask) mem_->write64(cmd::completion_wait_addr(c), cmd::completion_wait_data(c));
        };
      } else {
        completion_wait_ns_.sample(0);
        if (c.data[0] & cmd::kStoreMask) mem_->write64(cmd::completion_wait_addr(c), cmd::completion_wait_data(c));
      }
      break;
    }
    case cmd::kCompletePpr: {
      ++ppr_responses_;
      const uint16_t tag = cmd::ppr_tag(c);
      const bool ok = cmd::ppr_status(c) == cmd::kPprSuccess;
      const auto it = ppr_start_.find(tag);
      if (it != ppr_start_.end()) {
        ppr_service_ns_.sample(to_ns(sc_core::sc_time_stamp() - it->second));
        ppr_start_.erase(it);
      }
      if (device_ == nullptr || link_ == nullptr) break;
      tlps_.clear();
      link_->timing().message(0, tlps_);  // PRG Response message
      link_->send(hw::HostLink::Dir::kDown, tlps_, [this, tag, ok] { device_->prg_response(tag, ok); });
      break;
    }
    case cmd::kInvAll:
      invalidated_ += iotlb_.invalidate_all();
      break;
    case cmd::kInvDevEntry:
      break;  // DTEs are read from memory on every lookup: nothing cached
    default:
      SC_REPORT_WARNING(name(), ("ILLEGAL_COMMAND_ERROR: opcode " + std::to_string(c.opcode()) + " ignored").c_str());
      break;
  }
}

void Iommu::invalidation_completion(uint32_t) {
  ++ats_inv_completions_;
  if (ats_outstanding_ > 0) --ats_outstanding_;
  if (cmd_waiting_ && ats_outstanding_ == 0) {
    cmd_waiting_ = false;
    if (pending_wait_) pending_wait_();
    pending_wait_ = nullptr;
    if (!cmd_busy_) process_commands();
  }
}

// ------------------------------------------------------------------ ATS and PRI

void Iommu::translation_request(uint16_t devid, uint64_t iova, bool,
                                std::function<void(const AtsTranslation&)> reply) {
  ++ats_requests_;
  const auto answer = [this, reply = std::move(reply)](const AtsTranslation& t) {
    tlps_.clear();
    link_->timing().translation_completion(tlps_);
    link_->send(hw::HostLink::Dir::kDown, tlps_, [reply, t] { reply(t); });
  };
  const Dte d = read_dte(devid);
  if (!d.valid() || !d.translation_valid() || d.mode() == 0) {
    // Pass-through: the translation is the address itself.
    queue_.schedule(latency_, [answer, iova] { answer(AtsTranslation{iova & ~0xFFFULL, 4096, true, true}); });
    return;
  }
  if (!d.iotlb()) {
    queue_.schedule(latency_, [answer, iova] { answer(AtsTranslation{iova & ~0xFFFULL, 4096, false, false}); });
    return;
  }
  translate(d.domain(), d.root(), iova, [answer, iova](const Outcome& o) {
    answer(o.present ? AtsTranslation{o.pa, o.page_bytes, o.read, o.write}
                     : AtsTranslation{iova & ~0xFFFULL, 4096, false, false});
  });
}

void Iommu::page_request(uint16_t devid, uint32_t pasid, uint64_t iova, bool write, uint16_t tag) {
  const Dte d = read_dte(devid);
  const uint32_t flags = (write ? ppr::kFlagWrite : ppr::kFlagRead);
  if (!d.ppr() || !log_ppr(PprEntry::fault(devid, pasid, tag, flags, iova & ~0xFFFULL))) {
    ++ppr_rejected_;
    if (device_ == nullptr || link_ == nullptr) return;
    tlps_.clear();
    link_->timing().message(0, tlps_);
    link_->send(hw::HostLink::Dir::kDown, tlps_, [this, tag] { device_->prg_response(tag, false); });
    return;
  }
  ++ppr_requests_;
  ppr_start_[tag] = sc_core::sc_time_stamp();
}

}  // namespace fl::iommu
