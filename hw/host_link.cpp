#include "hw/host_link.h"

#include <algorithm>
#include <cstring>

#include "sim/core/time.h"

namespace fl::hw {

using sc_core::sc_time_stamp;

LinkDirection::LinkDirection(sc_core::sc_module_name name, const LinkTiming& timing)
    : sc_module(name),
      timing_(timing),
      utilisation_(stats_, "utilisation", "ratio", "Serialising time over simulated time", [this] {
        const double t = to_ns(sc_time_stamp());
        return t > 0 ? busy_ns_.value() / t : 0.0;
      }) {}

LinkDirection::Slot LinkDirection::transmit(const Wire& w, uint64_t payload_bytes) {
  const uint64_t now = now_ps();
  const uint64_t start = std::max(now, busy_until_ps_);
  const uint64_t ser = transfer_time(w.bytes, timing_.wire_gb_per_s()).value();
  busy_until_ps_ = start + ser;
  packets_ += w.packets;
  payload_bytes_ += payload_bytes;
  wire_bytes_ += w.bytes;
  busy_ns_.add(static_cast<double>(ser) / 1000.0);
  queue_ns_.sample(static_cast<double>(start - now) / 1000.0);
  return Slot{busy_until_ps_, busy_until_ps_ + timing_.latency().value()};
}

HostLink::HostLink(sc_core::sc_module_name name, std::unique_ptr<LinkTiming> timing)
    : sc_module(name),
      gpu_in("gpu_in", [this](Payload& gp) {
        (gp.is_read() ? ++dma_reads_ : ++dma_writes_);
        forward(gp, up_, gpu_in, host_out);
      }),
      host_out("host_out", [this](Payload& gp) {
        if (from_pool(gp, pool_)) {
          gp.release();  // a posted write's copy has landed
        } else {
          complete(gp, down_, gpu_in);
        }
      }),
      host_in("host_in", [this](Payload& gp) {
        (gp.is_read() ? ++mmio_reads_ : ++mmio_writes_);
        forward(gp, down_, host_in, gpu_out);
      }),
      gpu_out("gpu_out", [this](Payload& gp) {
        if (from_pool(gp, pool_)) {
          gp.release();
        } else {
          complete(gp, up_, host_in);
        }
      }),
      timing_(std::move(timing)),
      up_("up", *timing_),
      down_("down", *timing_) {}

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
  return c;
}

void HostLink::forward(Payload& gp, LinkDirection& dir, AtTargetPort& from, AtInitiatorPort& to) {
  const uint64_t now = now_ps();
  const uint64_t len = gp.get_data_length();
  if (gp.is_write()) {
    // Posted: the sender is done when the write has left it.
    const auto slot = dir.transmit(timing_->data(len), len);
    Txn& copy = clone(gp);
    to.send(copy, ps(slot.arrive_ps - now));
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
    from.respond(gp, ps(slot.end_ps - now));
  } else {
    const auto slot = dir.transmit(timing_->read_request(len), 0);
    to.send(gp, ps(slot.arrive_ps - now));
  }
}

void HostLink::complete(Payload& gp, LinkDirection& back, AtTargetPort& to) {
  const uint64_t len = gp.get_data_length();
  const auto slot = back.transmit(timing_->data(len), len);
  to.respond(gp, ps(slot.arrive_ps - now_ps()));
}

}  // namespace fl::hw
