#include "hw/host_link.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "sim/core/errors.h"
#include "sim/core/time.h"

namespace fl::hw {

using sc_core::sc_time_stamp;

// ------------------------------------------------------------------ credits

uint64_t CreditPool::acquire(uint64_t t_ps, uint32_t n) {
  if (limit_ == 0) return t_ps;
  while (!returns_.empty() && (returns_.front().first <= t_ps || free_ < n)) {
    t_ps = std::max(t_ps, returns_.front().first);
    free_ += returns_.front().second;
    returns_.pop_front();
  }
  free_ -= n;  // n <= limit, and every taken credit is in returns_: free_ >= n here
  return t_ps;
}

void CreditPool::release_at(uint64_t t_ps, uint32_t n) {
  if (limit_ == 0 || n == 0) return;
  if (!returns_.empty() && returns_.back().first == t_ps) {
    returns_.back().second += n;
  } else {
    returns_.emplace_back(t_ps, n);
  }
}

uint64_t CreditPool::free_at(uint64_t t_ps) const {
  uint64_t f = free_;
  for (const auto& [t, n] : returns_) {
    if (t > t_ps) break;
    f += n;
  }
  return f;
}

// ------------------------------------------------------------------ one direction

namespace {
std::array<CreditPool, kFcClasses> headers(const config::FlowControlCredits* c) {
  if (c == nullptr) return {CreditPool(0), CreditPool(0), CreditPool(0)};
  return {CreditPool(c->posted_header()), CreditPool(c->nonposted_header()),
          CreditPool(c->completion_header())};
}
std::array<CreditPool, kFcClasses> data(const config::FlowControlCredits* c) {
  // Non-posted requests here carry no data (reads, translation requests).
  if (c == nullptr) return {CreditPool(0), CreditPool(0), CreditPool(0)};
  return {CreditPool(c->posted_data()), CreditPool(0), CreditPool(c->completion_data())};
}
}  // namespace

LinkDirection::LinkDirection(sc_core::sc_module_name name, const LinkTiming& timing,
                             const config::FlowControlCredits* credits, double update_fc_ns)
    : sc_module(name),
      timing_(timing),
      header_(headers(credits)),
      data_(data(credits)),
      update_fc_ps_(from_ns(update_fc_ns).value()),
      utilisation_(stats_, "utilisation", "ratio", "Serialising time over simulated time", [this] {
        const double t = to_ns(sc_time_stamp());
        return t > 0 ? busy_ns_.value() / t : 0.0;
      }),
      payload_gb_per_s_(stats_, "payload_gb_per_s", "GB/s", "Payload bytes over simulated time", [this] {
        const double t = to_ns(sc_time_stamp());
        return t > 0 ? static_cast<double>(payload_bytes_.value()) / t : 0.0;
      }) {}

void LinkDirection::set_timeline(Timeline* t, int sort) {
  tl_ = std::make_unique<TimelineTrack>(*t, name(), sort);
  t->at_finish([this] { tl_flush(); });
}

void LinkDirection::tl_add(uint64_t start_ps, uint64_t end_ps, const Tlp& tlp) {
  TlBurst& b = tl_burst_;
  if (b.tlps > 0 && start_ps > b.end_ps + kTimelineBurstGapPs) tl_flush();
  if (b.tlps == 0) b.begin_ps = start_ps;
  b.end_ps = end_ps;
  b.busy_ps += end_ps - start_ps;
  ++b.tlps;
  b.payload_bytes += tlp.payload;
  b.wire_bytes += tlp.wire_bytes;
}

void LinkDirection::tl_flush() {
  TlBurst& b = tl_burst_;
  if (b.tlps == 0) return;
  const uint64_t dur = b.end_ps - b.begin_ps;
  tl_->slice("burst", b.begin_ps, b.end_ps,
             TimelineArgs()
                 .num("tlps", b.tlps)
                 .num("payload_bytes", b.payload_bytes)
                 .real("wire_bytes", b.wire_bytes)
                 .real("busy_ns", static_cast<double>(b.busy_ps) / 1000.0)
                 .real("utilisation", dur > 0 ? static_cast<double>(b.busy_ps) / static_cast<double>(dur) : 1.0));
  b = TlBurst{};
}

void LinkDirection::owe_dllp(uint64_t from_ps, double bytes) {
  if (bytes <= 0) return;
  if (dllp_debt_bytes_ <= 0) dllp_since_ps_ = from_ps;
  dllp_debt_bytes_ += bytes;
  dllp_bytes_.add(bytes);
}

LinkDirection::Slot LinkDirection::transmit(const TlpList& tlps, LinkDirection* reverse) {
  const uint64_t now = now_ps();
  const double gbps = timing_.wire_gb_per_s();
  const double batch = timing_.dllp_batch_bytes();
  Slot slot{now, now};
  bool first = true;
  // TLPs sent back to back form a burst whose end is rounded once, so a transfer's
  // serialisation is its bytes over the rate however it is split.
  uint64_t burst_start = 0;
  double burst_bytes = 0;
  for (const Tlp& tlp : tlps) {
    uint64_t ready = std::max(now, busy_until_ps_);
    bool contiguous = !first && ready == busy_until_ps_;
    // Owed DLLPs go out in idle time; once a whole Ack + UpdateFC is owed and no idle time
    // took it, it goes ahead of this TLP.
    if (dllp_debt_bytes_ > 0) {
      const uint64_t idle_from = std::max(busy_until_ps_, dllp_since_ps_);
      if (ready > idle_from) {
        dllp_debt_bytes_ -= std::min(dllp_debt_bytes_, static_cast<double>(ready - idle_from) / 1000.0 * gbps);
        dllp_since_ps_ = ready;
      }
      if (batch > 0 && dllp_debt_bytes_ >= batch) {
        const auto d = static_cast<uint64_t>(std::llround(dllp_debt_bytes_ / gbps * 1000.0));
        busy_ns_.add(static_cast<double>(d) / 1000.0);
        dllp_delay_ns_.add(static_cast<double>(d) / 1000.0);
        ready += d;
        dllp_debt_bytes_ = 0;
        contiguous = false;
      }
    }
    if (first) queue_ns_.sample(static_cast<double>(ready - now) / 1000.0);
    first = false;
    const int c = static_cast<int>(tlp.fc);
    uint64_t start = header_[c].acquire(ready, 1);
    if (tlp.payload > 0) start = data_[c].acquire(start, tlp.data_credits());
    if (start > ready) {
      ++credit_stalls_;
      credit_stall_ns_.add(static_cast<double>(start - ready) / 1000.0);
      contiguous = false;
    }
    if (!contiguous) {
      burst_start = start;
      burst_bytes = 0;
    }
    burst_bytes += tlp.wire_bytes;
    const uint64_t end = burst_start + static_cast<uint64_t>(std::llround(burst_bytes / gbps * 1000.0));
    busy_ns_.add(static_cast<double>(end - start) / 1000.0);
    busy_until_ps_ = end;
    if (tl_ != nullptr) tl_add(start, end, tlp);
    const uint64_t arrive = busy_until_ps_ + timing_.latency().value();
    const uint64_t freed = busy_until_ps_ + timing_.link_latency().value() + update_fc_ps_;
    header_[c].release_at(freed, 1);
    if (tlp.payload > 0) data_[c].release_at(freed, tlp.data_credits());
    if (reverse != nullptr) reverse->owe_dllp(arrive, timing_.dllp_bytes(1));
    ++packets_;
    payload_bytes_ += tlp.payload;
    wire_bytes_.add(tlp.wire_bytes);
    slot = Slot{busy_until_ps_, arrive};
  }
  return slot;
}

// ------------------------------------------------------------------ the link

namespace {
void check_credits(const config::PcieLink& p, const config::FlowControlCredits& c, const std::string& key) {
  const uint32_t mps_credits = p.max_payload_bytes() / 16;
  const auto bad = [&](const char* field, uint32_t v) {
    if (v != 0 && v < mps_credits) {
      throw InputError(key + "." + field + " = " + std::to_string(v) +
                       ": must be 0 (infinite) or at least max_payload_bytes / 16 = " +
                       std::to_string(mps_credits) + " so a largest TLP fits");
    }
  };
  bad("posted_data", c.posted_data());
  bad("completion_data", c.completion_data());
}
}  // namespace

HostLink::HostLink(sc_core::sc_module_name name, std::unique_ptr<LinkTiming> timing,
                   const config::PcieLink* pcie)
    : sc_module(name),
      gpu_in("gpu_in", [this](Payload& gp) {
        (gp.is_read() ? ++dma_reads_ : ++dma_writes_);
        forward(gp, up_, down_, gpu_in, host_out);
      }),
      host_out("host_out", [this](Payload& gp) {
        if (from_pool(gp, pool_)) {
          gp.release();  // a posted write's copy has landed
        } else {
          complete(gp, down_, up_, gpu_in);
        }
      }),
      host_in("host_in", [this](Payload& gp) {
        (gp.is_read() ? ++mmio_reads_ : ++mmio_writes_);
        forward(gp, down_, up_, host_in, gpu_out);
      }),
      gpu_out("gpu_out", [this](Payload& gp) {
        if (from_pool(gp, pool_)) {
          gp.release();
        } else {
          complete(gp, up_, down_, host_in);
        }
      }),
      timing_(std::move(timing)),
      up_("up", *timing_, pcie != nullptr ? &pcie->root_port_credits() : nullptr,
          pcie != nullptr ? pcie->update_fc_latency_ns() : 0),
      down_("down", *timing_, pcie != nullptr ? &pcie->endpoint_credits() : nullptr,
            pcie != nullptr ? pcie->update_fc_latency_ns() : 0),
      queue_("events") {
  if (pcie != nullptr) {
    check_credits(*pcie, pcie->root_port_credits(), "soc.pcie.root_port_credits");
    check_credits(*pcie, pcie->endpoint_credits(), "soc.pcie.endpoint_credits");
  }
}

Txn& HostLink::clone(Payload& gp) {
  Txn& c = pool_.acquire();
  const TxnExt& ext = txn_ext(gp);
  if (ext.timing_only || gp.get_data_ptr() == nullptr) {
    c.setup_timing_only(gp.get_command(), gp.get_address(), gp.get_data_length());
  } else {
    c.setup(gp.get_command(), gp.get_address(), gp.get_data_length());
    std::memcpy(c.buffer(), gp.get_data_ptr(), gp.get_data_length());
  }
  c.ext() = ext;
  c.ext().timing_only = ext.timing_only || gp.get_data_ptr() == nullptr;
  const auto* at = gp.get_extension<AddressTypeExt>();
  if (at != nullptr || c.get_extension<AddressTypeExt>() != nullptr) {
    c.ensure<AddressTypeExt>().translated = at != nullptr && at->translated;
  }
  return c;
}

void HostLink::forward(Payload& gp, LinkDirection& dir, LinkDirection& back, AtTargetPort& from,
                       AtInitiatorPort& to) {
  const uint64_t now = now_ps();
  const uint64_t len = gp.get_data_length();
  scratch_.clear();
  if (gp.is_write()) {
    // Posted: the sender is done when the write has left it.
    timing_->write(gp.get_address(), len, scratch_);
    const auto slot = dir.transmit(scratch_, &back);
    Txn& copy = clone(gp);
    to.send(copy, ps(slot.arrive_ps - now));
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
    from.respond(gp, ps(slot.end_ps - now));
  } else {
    timing_->read_request(gp.get_address(), len, scratch_);
    const auto slot = dir.transmit(scratch_, &back);
    to.send(gp, ps(slot.arrive_ps - now));
  }
}

void HostLink::complete(Payload& gp, LinkDirection& back, LinkDirection& fwd, AtTargetPort& to) {
  scratch_.clear();
  timing_->completions(gp.get_address(), gp.get_data_length(), scratch_);
  const auto slot = back.transmit(scratch_, &fwd);
  to.respond(gp, ps(slot.arrive_ps - now_ps()));
}

void HostLink::send(Dir d, const TlpList& tlps, std::function<void()> on_arrival) {
  messages_ += tlps.size();
  LinkDirection& dir = d == Dir::kUp ? up_ : down_;
  LinkDirection& rev = d == Dir::kUp ? down_ : up_;
  const auto slot = dir.transmit(tlps, &rev);
  queue_.schedule_at(ps(slot.arrive_ps), std::move(on_arrival));
}

}  // namespace fl::hw
