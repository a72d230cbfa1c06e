// Approximately-timed (AT) TLM-2.0 base-protocol endpoints, so that each module deals in
// "a request arrived" and "a response arrived" callbacks and never in phases.
//
// Protocol as implemented (IEEE 1666-2011 section 15.2, four phases):
// - AtInitiatorPort::send issues BEGIN_REQ. Our targets accept a request when it arrives
//   (END_REQ returned on the forward path, TLM_UPDATED) so requests never block, but the
//   initiator also honours a target that returns TLM_ACCEPTED and sends END_REQ later:
//   further requests wait (request exclusion rule) and go out in order.
// - AtTargetPort delivers each request to its owner at the annotated arrival time, through
//   the port's EventQueue. The owner later calls respond(); BEGIN_RESP is sent on the
//   backward path. Our initiators complete the response at once (TLM_COMPLETED); a
//   response the initiator accepts (TLM_ACCEPTED) holds later responses until END_RESP
//   (response exclusion rule).
// - Responses are delivered to the initiator's owner at their annotated time.
// - b_transport is refused (these links are AT); transport_dbg is forwarded to the owner
//   for functional access (loading page tables, reading rings) where timing does not matter.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <systemc>
#include <tlm>

#include "sim/core/event_queue.h"

namespace fl {

using Payload = tlm::tlm_generic_payload;

class AtInitiatorPort : public tlm::tlm_bw_transport_if<> {
 public:
  using ResponseFn = std::function<void(Payload&)>;

  AtInitiatorPort(const char* name, ResponseFn on_response);
  // An initiator that needs nothing from its responses (posted writes, interrupts): each
  // response releases the payload as it is sent instead of being delivered later. Nothing
  // observes the difference (the payload is back in its pool a little earlier), and it
  // saves a scheduler callback per message.
  struct ReleaseOnResponse {};
  AtInitiatorPort(const char* name, ReleaseOnResponse);

  // Sends `gp` to arrive at the target `delay` from now. The caller holds a reference
  // (gp.acquire()) for as long as it needs the payload after the response.
  void send(Payload& gp, const sc_core::sc_time& delay = sc_core::SC_ZERO_TIME);

  tlm::tlm_initiator_socket<> socket;

 private:
  tlm::tlm_sync_enum nb_transport_bw(Payload& gp, tlm::tlm_phase& phase,
                                     sc_core::sc_time& delay) override;
  void invalidate_direct_mem_ptr(sc_dt::uint64, sc_dt::uint64) override {}

  // `asked`: the sender's own delay, if this is its send (reused when nothing held it back).
  void issue(Payload& gp, uint64_t at_ps, const sc_core::sc_time* asked = nullptr);
  void drain();
  void deliver(Payload& gp, const sc_core::sc_time& delay);

  std::string name_;
  ResponseFn on_response_;
  bool release_only_ = false;
  EventQueue queue_;
  // The request channel is free from this time on; kBlocked while waiting for END_REQ.
  static constexpr uint64_t kBlocked = ~uint64_t{0};
  uint64_t req_free_ps_ = 0;
  Payload* open_request_ = nullptr;
  struct Pending {
    Payload* gp;
    uint64_t at_ps;
  };
  std::deque<Pending> pending_;
};

class AtTargetPort : public tlm::tlm_fw_transport_if<> {
 public:
  using RequestFn = std::function<void(Payload&)>;
  using DebugFn = std::function<unsigned(Payload&)>;

  AtTargetPort(const char* name, RequestFn on_request, DebugFn on_debug = {});

  // Sends the response for `gp` to arrive at the initiator `delay` from now.
  void respond(Payload& gp, const sc_core::sc_time& delay = sc_core::SC_ZERO_TIME);

  tlm::tlm_target_socket<> socket;

 private:
  tlm::tlm_sync_enum nb_transport_fw(Payload& gp, tlm::tlm_phase& phase,
                                     sc_core::sc_time& delay) override;
  void b_transport(Payload& gp, sc_core::sc_time& delay) override;
  bool get_direct_mem_ptr(Payload&, tlm::tlm_dmi&) override { return false; }
  unsigned int transport_dbg(Payload& gp) override;

  void issue_response(Payload& gp, uint64_t at_ps, const sc_core::sc_time* asked = nullptr);

  std::string name_;
  RequestFn on_request_;
  DebugFn on_debug_;
  EventQueue queue_;
  bool resp_open_ = false;  // a BEGIN_RESP awaits END_RESP
  struct Pending {
    Payload* gp;
    uint64_t at_ps;
  };
  std::deque<Pending> pending_;
};

}  // namespace fl
