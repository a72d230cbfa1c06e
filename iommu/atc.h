// The GPU's address translation cache (ATC) for PCIe ATS, SystemC module soc.gpu.atc,
// between the GPU fabric and the host link when soc.iommu.ats is on.
//
// Models: each DMA request to host memory looks up the ATC (lookup_cycles). A hit sends the
// request on with the translated address, marked translated (TLP Address Type), so the
// IOMMU passes it as it is. A miss sends one ATS translation request per 4 KiB page over
// the link (later misses to the page wait for it); the IOMMU answers with a translation
// completion, which fills the ATC and releases the waiting requests. A completion without
// read or write permission (no mapping) becomes, with PRI, a page request to the IOMMU; the
// page request group response (after the driver has resolved the page) makes the ATC
// request the translation again; a failed response, a second miss, or a miss without PRI
// sends the requests untranslated, so the IOMMU translates them and reports any IO page
// fault. Invalidation requests from the IOMMU drop the matching entries and are answered
// with an invalidation completion after a lookup time. MSIs pass untranslated.
// Abstracts away: PASIDs (requests carry none), the invalidation queue depth, translations
// in flight during an invalidation (they fill the ATC anyway), Stop Marker messages, and
// the range translations of ATS completions (one page per completion).
//
// Ports: in (AT target, from the GPU fabric's to_host), out (AT initiator, to the link).
#pragma once

#include <map>
#include <unordered_map>
#include <vector>
#include <systemc>

#include "hw/host_link.h"
#include "iommu/iommu.h"
#include "iommu/translation_cache.h"
#include "sim/core/event_queue.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/time.h"
#include "sim/core/tlm_ports.h"

namespace fl::iommu {

class Atc : public sc_core::sc_module, public AtsDevice {
 public:
  Atc(sc_core::sc_module_name name, const config::Atc& cfg, const Clock& clock, bool pri);

  AtTargetPort in;
  AtInitiatorPort out;

  void attach(hw::HostLink* link, Iommu* iommu);

  void invalidate_request(uint64_t addr, uint64_t bytes, uint32_t itag) override;
  void prg_response(uint16_t tag, bool success) override;

 private:
  struct Pending {
    std::vector<Payload*> waiters;
    bool write = false;
    bool retried = false;
    sc_core::sc_time start;
  };
  void on_request(Payload& gp);
  // `first_try`: the request's own lookup (counted as a hit or miss), not a repeat after
  // one of its pages was translated.
  void lookup(Payload& gp, bool first_try);
  void request_translation(uint64_t page);
  void on_translation(uint64_t page, const AtsTranslation& t);
  void send(Payload& gp, bool translated, uint64_t addr);
  void release_untranslated(uint64_t page);

  config::Atc cfg_;
  sc_core::sc_time lookup_time_;
  bool pri_;
  hw::HostLink* link_ = nullptr;
  Iommu* iommu_ = nullptr;
  EventQueue queue_;
  IoTlb cache_;
  std::map<uint64_t, Pending> pending_;    // 4 KiB page -> requests waiting for it
  std::map<uint16_t, uint64_t> pri_tags_;  // page request tag -> page
  uint16_t next_tag_ = 0;
  std::unordered_map<Payload*, uint64_t> rewritten_;  // request -> its untranslated address
  hw::TlpList tlps_;

  stats::Group stats_;
  stats::Counter hits_{stats_, "hits", "count", "DMA requests that found the translations of all their pages in the ATC"};
  stats::Counter misses_{stats_, "misses", "count", "DMA requests that missed the ATC on some page"};
  stats::Counter translation_requests_{stats_, "translation_requests", "count", "ATS translation requests sent"};
  stats::Histogram translation_ns_{stats_, "translation_ns", "ns", "ATS translation request to completion, page requests included"};
  stats::Counter invalidations_{stats_, "invalidations", "count", "ATS invalidation requests received"};
  stats::Counter invalidated_{stats_, "invalidated_entries", "count", "ATC entries dropped by invalidation requests"};
  stats::Counter page_requests_{stats_, "page_requests", "count", "PRI page requests sent"};
  stats::Counter prg_success_{stats_, "prg_responses_success", "count", "Page request group responses with success"};
  stats::Counter prg_failure_{stats_, "prg_responses_failure", "count", "Page request group responses with failure"};
  stats::Counter untranslated_{stats_, "untranslated", "count", "Requests sent untranslated after their translation failed"};
  stats::Counter msis_{stats_, "msis", "count", "MSIs passed untranslated"};
};

}  // namespace fl::iommu
