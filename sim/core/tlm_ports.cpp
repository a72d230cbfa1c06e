#include "sim/core/tlm_ports.h"

#include "sim/core/time.h"

#include <algorithm>

namespace fl {

using sc_core::sc_time;
using sc_core::sc_time_stamp;

// ---------------------------------------------------------------------------- initiator

AtInitiatorPort::AtInitiatorPort(const char* name, ResponseFn on_response)
    : socket((std::string(name) + "_socket").c_str()),
      name_(name),
      on_response_(std::move(on_response)),
      queue_((std::string(name) + "_resp").c_str()) {
  socket.bind(*this);
}

AtInitiatorPort::AtInitiatorPort(const char* name, ReleaseOnResponse)
    : AtInitiatorPort(name, ResponseFn{}) {
  release_only_ = true;
}

namespace {
// The delay from `now` to `at`, reusing `asked` (the delay the sender gave) when it is the
// same: sc_time::from_value is an out-of-line call, and most messages are not held back.
sc_time delay_to(uint64_t at, uint64_t now, const sc_time* asked) {
  if (asked != nullptr && now + asked->value() == at) return *asked;
  return at == now ? sc_core::SC_ZERO_TIME : sc_time::from_value(at - now);
}
}  // namespace

void AtInitiatorPort::send(Payload& gp, const sc_time& delay) {
  const uint64_t at = now_ps() + delay.value();
  if (pending_.empty() && req_free_ps_ != kBlocked) {
    issue(gp, at, &delay);
  } else {
    pending_.push_back(Pending{&gp, at});
  }
}

void AtInitiatorPort::issue(Payload& gp, uint64_t at_ps, const sc_time* asked) {
  // A request may not overtake the previous one's END_REQ.
  const uint64_t now = now_ps();
  const uint64_t at = std::max({at_ps, req_free_ps_, now});
  tlm::tlm_phase phase = tlm::BEGIN_REQ;
  sc_time d = delay_to(at, now, asked);
  switch (socket->nb_transport_fw(gp, phase, d)) {
    case tlm::TLM_ACCEPTED:
      req_free_ps_ = kBlocked;
      open_request_ = &gp;
      break;
    case tlm::TLM_UPDATED:
      if (phase == tlm::END_REQ) {
        req_free_ps_ = now + d.value();
      } else if (phase == tlm::BEGIN_RESP) {  // early response implies END_REQ
        req_free_ps_ = now + d.value();
        deliver(gp, d);
      } else {
        SC_REPORT_ERROR(name_.c_str(), "target returned an unexpected phase for BEGIN_REQ");
      }
      break;
    case tlm::TLM_COMPLETED:
      req_free_ps_ = now + d.value();
      deliver(gp, d);
      break;
  }
}

void AtInitiatorPort::drain() {
  while (!pending_.empty() && req_free_ps_ != kBlocked) {
    Pending p = pending_.front();
    pending_.pop_front();
    issue(*p.gp, p.at_ps);
  }
}

void AtInitiatorPort::deliver(Payload& gp, const sc_time& delay) {
  if (release_only_) {
    gp.release();
    return;
  }
  queue_.schedule(delay, [this, &gp] { on_response_(gp); });
}

tlm::tlm_sync_enum AtInitiatorPort::nb_transport_bw(Payload& gp, tlm::tlm_phase& phase,
                                                    sc_time& delay) {
  if (phase == tlm::END_REQ) {
    if (open_request_ == &gp) open_request_ = nullptr;
    req_free_ps_ = now_ps() + delay.value();
    drain();
    return tlm::TLM_ACCEPTED;
  }
  if (phase == tlm::BEGIN_RESP) {
    if (open_request_ == &gp) {  // BEGIN_RESP implies END_REQ
      open_request_ = nullptr;
      req_free_ps_ = now_ps() + delay.value();
      drain();
    }
    deliver(gp, delay);
    return tlm::TLM_COMPLETED;  // END_RESP implied
  }
  SC_REPORT_ERROR(name_.c_str(), "unexpected phase on the backward path");
  return tlm::TLM_COMPLETED;
}

// ---------------------------------------------------------------------------- target

AtTargetPort::AtTargetPort(const char* name, RequestFn on_request, DebugFn on_debug)
    : socket((std::string(name) + "_socket").c_str()),
      name_(name),
      on_request_(std::move(on_request)),
      on_debug_(std::move(on_debug)),
      queue_((std::string(name) + "_req").c_str()) {
  socket.bind(*this);
}

tlm::tlm_sync_enum AtTargetPort::nb_transport_fw(Payload& gp, tlm::tlm_phase& phase,
                                                 sc_time& delay) {
  if (phase == tlm::BEGIN_REQ) {
    queue_.schedule(delay, [this, &gp] { on_request_(gp); });
    phase = tlm::END_REQ;  // accepted on arrival, at the same annotated time
    return tlm::TLM_UPDATED;
  }
  if (phase == tlm::END_RESP) {
    resp_open_ = false;
    const uint64_t free_at = now_ps() + delay.value();
    while (!pending_.empty() && !resp_open_) {
      Pending p = pending_.front();
      pending_.pop_front();
      issue_response(*p.gp, std::max(p.at_ps, free_at));
    }
    return tlm::TLM_COMPLETED;
  }
  SC_REPORT_ERROR(name_.c_str(), "unexpected phase on the forward path");
  return tlm::TLM_COMPLETED;
}

void AtTargetPort::respond(Payload& gp, const sc_time& delay) {
  const uint64_t at = now_ps() + delay.value();
  if (resp_open_) {
    pending_.push_back(Pending{&gp, at});
  } else {
    issue_response(gp, at, &delay);
  }
}

void AtTargetPort::issue_response(Payload& gp, uint64_t at_ps, const sc_time* asked) {
  const uint64_t now = now_ps();
  tlm::tlm_phase phase = tlm::BEGIN_RESP;
  sc_time d = delay_to(std::max(at_ps, now), now, asked);
  const tlm::tlm_sync_enum s = socket->nb_transport_bw(gp, phase, d);
  if (s == tlm::TLM_ACCEPTED) resp_open_ = true;  // wait for END_RESP
}

void AtTargetPort::b_transport(Payload&, sc_time&) {
  SC_REPORT_ERROR(name_.c_str(),
                  "b_transport is not supported: this link uses the AT base protocol");
}

unsigned int AtTargetPort::transport_dbg(Payload& gp) {
  return on_debug_ ? on_debug_(gp) : 0;
}

}  // namespace fl
