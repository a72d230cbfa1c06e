#include "iommu/atc.h"

#include <algorithm>

namespace fl::iommu {

namespace {
void mark(Payload& gp, bool translated) {
  auto* e = gp.get_extension<hw::AddressTypeExt>();
  if (e == nullptr) {
    e = new hw::AddressTypeExt();
    gp.set_extension(e);  // freed with the payload
  }
  e->translated = translated;
}
}  // namespace

Atc::Atc(sc_core::sc_module_name name, const config::Atc& cfg, const Clock& clock, bool pri)
    : sc_module(name),
      in("in", [this](Payload& gp) { on_request(gp); }),
      out("out",
          [this](Payload& gp) {
            const auto it = rewritten_.find(&gp);
            if (it != rewritten_.end()) {
              gp.set_address(it->second);
              rewritten_.erase(it);
            }
            in.respond(gp);
          }),
      cfg_(cfg),
      lookup_time_(clock.cycles(cfg.lookup_cycles())),
      pri_(pri),
      queue_("events"),
      cache_(checked_geometry(cfg.entries(), cfg.ways(), "soc.gpu.atc.entries", "soc.gpu.atc.ways"), cfg.ways()) {}

void Atc::attach(hw::HostLink* link, Iommu* iommu) {
  link_ = link;
  iommu_ = iommu;
}

void Atc::send(Payload& gp, bool translated, uint64_t addr) {
  mark(gp, translated);
  if (addr != gp.get_address()) {
    rewritten_[&gp] = gp.get_address();
    gp.set_address(addr);
  }
  out.send(gp);
}

void Atc::on_request(Payload& gp) {
  if (gp.is_write() && is_msi_address(gp.get_address())) {
    ++msis_;
    send(gp, false, gp.get_address());
    return;
  }
  queue_.schedule(lookup_time_, [this, &gp] { lookup(gp, true); });
}

void Atc::lookup(Payload& gp, bool first_try) {
  // Every 4 KiB page the request covers must hit (a TLP never crosses a page); the first
  // page without a usable translation is requested, and the lookup repeats when it comes.
  const uint64_t a = gp.get_address();
  const uint64_t first = a & ~0xFFFULL;
  const uint64_t last = (a + std::max<uint64_t>(gp.get_data_length(), 1) - 1) & ~0xFFFULL;
  uint64_t translated = 0;
  for (uint64_t page = first; page <= last; page += 4096) {
    const auto t = cache_.lookup(0, page == first ? a : page);
    if (!t || !(gp.is_write() ? t->write : t->read)) {
      if (first_try) ++misses_;
      Pending& p = pending_[page];
      p.waiters.push_back(&gp);
      p.write = p.write || gp.is_write();
      if (p.waiters.size() == 1) {
        p.start = sc_core::sc_time_stamp();
        request_translation(page);
      }
      return;
    }
    if (page == first) translated = t->pa_base + (a & (t->page_bytes - 1));
  }
  if (first_try) ++hits_;
  send(gp, true, translated);
}

void Atc::request_translation(uint64_t page) {
  ++translation_requests_;
  const bool write = pending_[page].write;
  tlps_.clear();
  link_->timing().translation_request(tlps_);
  link_->send(hw::HostLink::Dir::kUp, tlps_, [this, page, write] {
    iommu_->translation_request(kGpuRequesterId, page, write,
                                [this, page](const AtsTranslation& t) { on_translation(page, t); });
  });
}

void Atc::on_translation(uint64_t page, const AtsTranslation& t) {
  auto it = pending_.find(page);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  if (t.read || t.write) {
    cache_.insert(0, page, CachedTranslation{t.pa_base, t.page_bytes, t.read, t.write});
    translation_ns_.sample(to_ns(sc_core::sc_time_stamp() - p.start));
    std::vector<Payload*> waiters = std::move(p.waiters);
    pending_.erase(it);
    for (Payload* gp : waiters) {
      const bool allowed = gp->is_write() ? t.write : t.read;
      if (allowed) {
        lookup(*gp, false);  // hits this page now; may wait for the request's next page
      } else {
        ++untranslated_;
        send(*gp, false, gp->get_address());  // no permission: the IOMMU reports the fault
      }
    }
    return;
  }
  if (pri_ && !p.retried) {
    const uint16_t tag = next_tag_;
    next_tag_ = static_cast<uint16_t>((next_tag_ + 1) & 0x1FF);  // 9-bit PRG index
    pri_tags_[tag] = page;
    ++page_requests_;
    const bool write = p.write;
    tlps_.clear();
    link_->timing().message(0, tlps_);  // Page Request message
    link_->send(hw::HostLink::Dir::kUp, tlps_, [this, page, write, tag] {
      iommu_->page_request(kGpuRequesterId, 0, page, write, tag);
    });
    return;
  }
  translation_ns_.sample(to_ns(sc_core::sc_time_stamp() - p.start));
  release_untranslated(page);
}

void Atc::release_untranslated(uint64_t page) {
  auto it = pending_.find(page);
  if (it == pending_.end()) return;
  std::vector<Payload*> waiters = std::move(it->second.waiters);
  pending_.erase(it);
  for (Payload* gp : waiters) {
    ++untranslated_;
    send(*gp, false, gp->get_address());
  }
}

void Atc::prg_response(uint16_t tag, bool success) {
  const auto t = pri_tags_.find(tag);
  if (t == pri_tags_.end()) return;
  const uint64_t page = t->second;
  pri_tags_.erase(t);
  (success ? prg_success_ : prg_failure_) += 1;
  if (!success) {
    release_untranslated(page);
    return;
  }
  pending_[page].retried = true;
  request_translation(page);
}

void Atc::invalidate_request(uint64_t addr, uint64_t bytes, uint32_t itag) {
  ++invalidations_;
  invalidated_ += cache_.invalidate(0, addr, bytes);
  queue_.schedule(lookup_time_, [this, itag] {
    tlps_.clear();
    link_->timing().message(0, tlps_);  // Invalidate Completion message
    link_->send(hw::HostLink::Dir::kUp, tlps_, [this, itag] { iommu_->invalidation_completion(itag); });
  });
}

}  // namespace fl::iommu
