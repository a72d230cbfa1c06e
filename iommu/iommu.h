// The host IOMMU (AMD-IOMMU-like) on the GPU's DMA path.
//
// Models: every DMA request from the GPU (requester id kGpuRequesterId) looks up the GPU's
// device table entry in host memory (the lookup and, when translating, an IOTLB hit cost
// passthrough_latency_ns). A DTE that is not valid, or valid with paging mode 0, passes the
// address through (iommu=pt). Otherwise the IOVA is translated through the domain's IO page
// table: IOTLB (set-associative, all page sizes), else an IO page walk by one of `walkers`
// walkers (misses to a page being walked wait for it), starting below the deepest PDE in
// the page-walk cache, each level a timed 8-byte read of host memory plus walk_step_ns. A
// missing or read-only translation is an IO page fault: an IO_PAGE_FAULT entry in the
// event log, an interrupt, and the DMA ends with an error (a read returns no data, a write
// is dropped). Requests the GPU's ATC marked translated pass untranslated when the DTE
// allows ATS. ATS translation requests use the same IOTLB and walkers and are answered
// over the link; PRI page requests go to the PPR log with an interrupt. Commands (written
// by the driver into the command buffer in host memory, started by a tail-register write)
// execute in order, command_ns each: INVALIDATE_IOMMU_PAGES drops IOTLB and page-walk-cache
// entries, INVALIDATE_IOTLB_PAGES sends an ATS invalidation request to the device,
// COMPLETE_PPR_REQUEST sends the page request group response, and COMPLETION_WAIT waits for
// every earlier command, device invalidations included, then stores its semaphore.
// Writes to the x86 MSI window (0xFEE00000-0xFEEFFFFF) go to the host interrupt controller.
// Abstracts away: interrupt remapping, the device-table cache (every lookup hits), guest
// (v2) page tables and PASID-tagged translation, nested translation, the exclusion range,
// event types other than IO_PAGE_FAULT, log overflow interrupts, performance counters.
//
// Ports: dma_in (AT target, from the host side of the GPU link), mem_out (AT initiator, to
// host DRAM: forwarded DMA and the walkers' reads), msi_out (AT initiator, to the host
// interrupt controller: GPU MSIs and the IOMMU's own interrupt).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>
#include <systemc>

#include "hw/host_link.h"
#include "hw/sparse_memory.h"
#include "iommu/amd_iommu_types.h"
#include "iommu/translation_cache.h"
#include "sim/core/event_queue.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"
#include "sim/core/tlm_ports.h"
#include "sim/core/txn.h"

namespace fl::iommu {

constexpr uint64_t kMsiBase = 0xFEE00000ULL;
constexpr uint64_t kMsiSize = 0x100000ULL;
// The GPU's PCI requester id, bus 03 device 00 function 0 (the first discrete GPU slot).
constexpr uint16_t kGpuRequesterId = 0x0300;

inline bool is_msi_address(uint64_t a) { return a >= kMsiBase && a < kMsiBase + kMsiSize; }

// `entries`, after checking it is a positive multiple of `ways` (InputError naming the keys).
uint32_t checked_geometry(uint32_t entries, uint32_t ways, const char* entries_key, const char* ways_key);

// "03:00.0" for a requester id.
std::string bdf(uint16_t devid);

// The answer to an ATS translation request (a Translation Completion): R = W = 0 when the
// IOVA has no mapping.
struct AtsTranslation {
  uint64_t pa_base = 0;
  uint64_t page_bytes = 4096;
  bool read = false;
  bool write = false;
};

// What the IOMMU reaches on an ATS device (its ATC), called when a message arrives there.
class AtsDevice {
 public:
  virtual ~AtsDevice() = default;
  // An invalidation request for [addr, addr + bytes); the device answers with
  // Iommu::invalidation_completion once its ATC no longer holds those translations.
  virtual void invalidate_request(uint64_t addr, uint64_t bytes, uint32_t itag) = 0;
  // The page request group response for page request `tag`.
  virtual void prg_response(uint16_t tag, bool success) = 0;
};

class Iommu : public sc_core::sc_module {
 public:
  Iommu(sc_core::sc_module_name name, const config::Iommu& cfg);

  AtTargetPort dma_in;
  AtInitiatorPort mem_out;
  AtInitiatorPort msi_out;

  // Wiring (elaboration): host memory holding the tables and logs, the GPU link for ATS
  // messages, and the GPU's ATC.
  void attach(hw::SparseMemory& host_mem, hw::HostLink* link, AtsDevice* device);

  // Driver initialisation (the MMIO base registers, untimed): where the tables, buffers
  // and logs are, and the MSI vector of the IOMMU's interrupt.
  struct Programming {
    uint64_t device_table = 0;
    uint32_t device_table_entries = 0;
    uint64_t command_buffer = 0;
    uint32_t command_entries = 0;
    uint64_t event_log = 0;
    uint64_t ppr_log = 0;
    uint32_t log_entries = 0;
    uint32_t msi_vector = 0;
  };
  void program(const Programming& p);

  // Host MMIO (the driver charges the core time): the command-buffer tail, the logs' heads
  // and the interrupt status (writing it re-arms the interrupt).
  void write_command_tail(uint32_t tail);
  uint32_t event_tail() const { return event_tail_; }
  uint32_t ppr_tail() const { return ppr_tail_; }
  void write_event_head(uint32_t head) { event_head_ = head; }
  void write_ppr_head(uint32_t head) { ppr_head_ = head; }
  void ack_interrupt() { irq_pending_ = false; }

  // ATS, each called when the request has arrived over the link.
  void translation_request(uint16_t devid, uint64_t iova, bool write,
                           std::function<void(const AtsTranslation&)> reply);
  void page_request(uint16_t devid, uint32_t pasid, uint64_t iova, bool write, uint16_t tag);
  void invalidation_completion(uint32_t itag);

  bool idle() const;

 private:
  struct Outcome {
    bool present = false;
    uint64_t pa = 0;          // physical address of the page (its base)
    uint64_t page_bytes = 0;
    bool read = false;
    bool write = false;
  };
  using OutcomeFn = std::function<void(const Outcome&)>;
  struct Walk {
    uint16_t domain;
    uint64_t iova;
    uint64_t root;
    int level = 4;
    uint64_t table = 0;
    sc_core::sc_time start;
    std::vector<OutcomeFn> waiters;
  };

  Dte read_dte(uint16_t devid) const;
  void on_dma(Payload& gp);
  void pass(Payload& gp);
  // Ends `gp` with an IO page fault at `addr` (logged, interrupt, error response).
  void fault(Payload& gp, uint16_t domain, bool present, uint64_t addr);
  struct MultiPage {
    uint32_t left = 0;
    uint64_t pa = 0;
    bool bad = false;
    uint64_t bad_page = 0;
    bool bad_present = false;
  };
  // IOTLB lookup, else a walk; `done` runs when the translation is known.
  void translate(uint16_t domain, uint64_t root, uint64_t iova, OutcomeFn done);
  void start_walks();
  void walk_step(Walk* w);
  void on_walk_read(Payload& gp);
  void log_event(const Event& e);
  bool log_ppr(const PprEntry& e);
  void raise_interrupt();
  void process_commands();
  void execute(const Command& c);

  config::Iommu cfg_;
  sc_core::sc_time latency_;
  sc_core::sc_time step_;
  sc_core::sc_time command_time_;
  hw::SparseMemory* mem_ = nullptr;
  hw::HostLink* link_ = nullptr;
  AtsDevice* device_ = nullptr;
  Programming prog_;
  bool programmed_ = false;
  EventQueue queue_;
  TxnPool pool_;  // walker reads and the IOMMU's own MSIs
  IoTlb iotlb_;
  PageWalkCache pwc_;
  std::deque<std::unique_ptr<Walk>> walk_queue_;
  std::map<std::pair<uint16_t, uint64_t>, Walk*> walking_;  // (domain, 4 KiB page) -> walk
  std::vector<std::unique_ptr<Walk>> active_;
  std::unordered_map<Payload*, Walk*> walk_reads_;
  std::unordered_map<Payload*, uint64_t> rewritten_;  // forwarded DMA -> its IOVA
  uint32_t cmd_head_ = 0;
  uint32_t cmd_tail_ = 0;
  bool cmd_busy_ = false;
  bool cmd_waiting_ = false;     // a COMPLETION_WAIT waits for device invalidations
  std::function<void()> pending_wait_;  // finishes that COMPLETION_WAIT
  uint32_t ats_outstanding_ = 0;
  uint32_t next_itag_ = 0;
  uint32_t event_head_ = 0;
  uint32_t event_tail_ = 0;
  uint32_t ppr_head_ = 0;
  uint32_t ppr_tail_ = 0;
  bool irq_pending_ = false;
  std::map<uint16_t, sc_core::sc_time> ppr_start_;  // tag -> page request arrival
  hw::TlpList tlps_;

  stats::Group stats_;
  stats::Counter dma_reads_{stats_, "dma_reads", "count", "DMA reads passed to host memory"};
  stats::Counter dma_writes_{stats_, "dma_writes", "count", "DMA writes passed to host memory"};
  stats::Counter msis_{stats_, "msis", "count", "MSI writes passed to the interrupt controller"};
  stats::Counter passthrough_{stats_, "passthrough", "count", "DMA requests passed untranslated (pass-through DTE)"};
  stats::Counter pretranslated_{stats_, "ats_translated", "count", "DMA requests the device's ATC had translated, passed as they are"};
  stats::Counter iotlb_hits_{stats_, "iotlb_hits", "count", "IOTLB hits (DMA and ATS translation requests)"};
  stats::Counter iotlb_misses_{stats_, "iotlb_misses", "count", "IOTLB misses"};
  stats::Counter walks_{stats_, "walks", "count", "IO page walks"};
  stats::Counter walk_reads_n_{stats_, "walk_reads", "count", "Page-table entries read by IO page walks"};
  stats::Counter pwc_hits_{stats_, "pwc_hits", "count", "Walks that started below a cached PDE"};
  stats::Counter merged_{stats_, "walks_merged", "count", "Misses that waited for a walk of the same page"};
  stats::Histogram walk_ns_{stats_, "walk_ns", "ns", "IO page walk latency, queueing for a walker included"};
  stats::Counter io_page_faults_{stats_, "io_page_faults", "count", "DMA requests with no valid translation (IO_PAGE_FAULT events)"};
  stats::Counter events_{stats_, "events", "count", "Entries written to the event log"};
  stats::Counter events_dropped_{stats_, "events_dropped", "count", "Events dropped because the event log was full"};
  stats::Counter interrupts_{stats_, "interrupts", "count", "IOMMU interrupts raised (event or PPR log)"};
  stats::Counter commands_{stats_, "commands", "count", "Commands executed"};
  stats::Counter invalidations_{stats_, "invalidations", "count", "INVALIDATE_IOMMU_PAGES commands"};
  stats::Counter invalidated_{stats_, "invalidated_entries", "count", "IOTLB and page-walk-cache entries dropped by invalidations"};
  stats::Counter completion_waits_{stats_, "completion_waits", "count", "COMPLETION_WAIT commands"};
  stats::Histogram completion_wait_ns_{stats_, "completion_wait_ns", "ns", "Time a COMPLETION_WAIT waited for device invalidations"};
  stats::Counter ats_requests_{stats_, "ats_translation_requests", "count", "ATS translation requests served"};
  stats::Counter ats_invalidations_{stats_, "ats_invalidations", "count", "ATS invalidation requests sent to the device"};
  stats::Counter ats_inv_completions_{stats_, "ats_invalidation_completions", "count", "ATS invalidation completions received"};
  stats::Counter ppr_requests_{stats_, "ppr_requests", "count", "PRI page requests logged to the PPR log"};
  stats::Counter ppr_rejected_{stats_, "ppr_rejected", "count", "Page requests answered with failure at once (DTE without PPR, or PPR log full)"};
  stats::Counter ppr_responses_{stats_, "ppr_responses", "count", "Page request group responses sent (COMPLETE_PPR_REQUEST)"};
  stats::Histogram ppr_service_ns_{stats_, "ppr_service_ns", "ns", "Page request arrival to its COMPLETE_PPR_REQUEST executing"};
};

}  // namespace fl::iommu
