// A memory (VRAM as HBM, or host DRAM): functional sparse storage plus a timed model of
// its channels and banks.
//
// Models: addresses interleave across `channels` every interleave_bytes; a request is split
// at those boundaries and each piece is served by its channel, in arrival order (FIFO),
// for max(piece, access granularity) rounded up to whole granules over the channel's share
// of the bandwidth. Each channel has `banks` banks with one open row each (rows of
// row_bytes, consecutive rows of a channel in consecutive banks); a piece whose row is
// not open pays row_miss_ns more latency (precharge and activate) and opens it. The
// response leaves when the last piece is done, plus the access latency. Writes take effect
// when they arrive, so a later reader always sees them.
// Abstracts away: refresh, read/write turnaround, bank conflicts on the data bus (a row
// miss adds latency, not channel occupancy), the controller's scheduling (FR-FCFS), and any
// cache in front of the memory.
//
// Ports: `port` (AT target) for timed reads and writes; transport_dbg on the same socket
// and storage() for functional access where timing does not matter.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>
#include <systemc>

#include "hw/sparse_memory.h"
#include "sim/core/stats.h"
#include "sim/core/tlm_ports.h"

namespace fl::hw {

struct MemoryParams {
  uint64_t bytes;
  double latency_ns;
  double bandwidth_gb_per_s;  // all channels together
  uint32_t access_bytes;
  uint32_t channels = 1;
  uint32_t interleave_bytes = 256;
  uint32_t banks = 1;
  uint32_t row_bytes = 2048;
  double row_miss_ns = 0;
};

class Memory : public sc_core::sc_module {
 public:
  // `key` is the config prefix used in error messages.
  Memory(sc_core::sc_module_name name, const MemoryParams& p, const std::string& key = "");

  AtTargetPort port;

  SparseMemory& storage() { return storage_; }
  const SparseMemory& storage() const { return storage_; }

  // Calls `fn` each time a timed write covering `addr` lands (measurements: a fence
  // landing in host memory). One watch at a time; an empty `fn` removes it.
  void watch_writes(uint64_t addr, std::function<void()> fn);

  // The channel, bank and row of `addr` (exposed for tests).
  struct Place {
    uint32_t channel;
    uint32_t bank;
    uint64_t row;
  };
  Place place(uint64_t addr) const;

 private:
  void on_request(Payload& gp);
  unsigned on_debug(Payload& gp);
  // Channel time to move `granules` access granules.
  uint64_t service_ps(uint64_t granules);

  MemoryParams params_;
  SparseMemory storage_;
  sc_core::sc_time latency_;
  uint64_t row_miss_ps_;
  double channel_gb_per_s_;
  std::vector<uint64_t> busy_until_ps_;   // per channel
  std::vector<uint64_t> open_row_;        // per channel x bank; ~0 = none
  uint64_t service_granules_ = 0;         // service_ps()'s last question and answer
  uint64_t service_ps_ = 0;
  uint64_t watch_addr_ = 0;
  std::function<void()> watch_;

  stats::Group stats_;
  stats::Counter reads_{stats_, "reads", "count", "Read requests served"};
  stats::Counter writes_{stats_, "writes", "count", "Write requests served"};
  stats::Counter read_bytes_{stats_, "read_bytes", "bytes", "Bytes read"};
  stats::Counter write_bytes_{stats_, "write_bytes", "bytes", "Bytes written"};
  stats::Counter row_hits_{stats_, "row_hits", "count", "Request pieces that found their row open"};
  stats::Counter row_misses_{stats_, "row_misses", "count", "Request pieces that opened a row"};
  stats::Value busy_ns_{stats_, "busy_ns", "ns", "Channel time spent transferring data, summed over channels"};
  stats::Histogram queue_ns_{stats_, "queue_ns", "ns",
                             "Time a request waited for earlier requests before its service"};
  stats::Formula utilisation_{stats_, "utilisation", "ratio",
                              "Busy time over simulated time and channels", [this] {
                                const double t = to_ns_now();
                                return t > 0 ? busy_ns_.value() / t / params_.channels : 0.0;
                              }};
  static double to_ns_now();
};

}  // namespace fl::hw
