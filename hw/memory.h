// A memory (VRAM or host DRAM): functional sparse storage plus one timed server.
//
// Models: each request occupies the memory for max(size, access granularity) rounded up
// to whole granules, over the configured bandwidth, in arrival order (FIFO); its response
// leaves after that service time plus the access latency. Writes take effect when they
// arrive, so a later reader always sees them.
// Abstracts away: channels, banks, rows and refresh (a single server at the aggregate
// bandwidth), read/write turnaround, and any cache in front of the memory.
//
// Ports: `port` (AT target) for timed reads and writes; transport_dbg on the same socket
// and storage() for functional access where timing does not matter.
#pragma once

#include <cstdint>
#include <systemc>

#include "hw/sparse_memory.h"
#include "sim/core/stats.h"
#include "sim/core/tlm_ports.h"

namespace fl::hw {

struct MemoryParams {
  uint64_t bytes;
  double latency_ns;
  double bandwidth_gb_per_s;
  uint32_t access_bytes;
};

class Memory : public sc_core::sc_module {
 public:
  Memory(sc_core::sc_module_name name, const MemoryParams& p);

  AtTargetPort port;

  SparseMemory& storage() { return storage_; }
  const SparseMemory& storage() const { return storage_; }

 private:
  void on_request(Payload& gp);
  unsigned on_debug(Payload& gp);

  MemoryParams params_;
  SparseMemory storage_;
  sc_core::sc_time latency_;
  uint64_t busy_until_ps_ = 0;

  stats::Group stats_;
  stats::Counter reads_{stats_, "reads", "count", "Read requests served"};
  stats::Counter writes_{stats_, "writes", "count", "Write requests served"};
  stats::Counter read_bytes_{stats_, "read_bytes", "bytes", "Bytes read"};
  stats::Counter write_bytes_{stats_, "write_bytes", "bytes", "Bytes written"};
  stats::Value busy_ns_{stats_, "busy_ns", "ns", "Time the memory spent transferring data"};
  stats::Histogram queue_ns_{stats_, "queue_ns", "ns",
                             "Time a request waited for earlier requests before its service"};
  stats::Formula utilisation_{stats_, "utilisation", "ratio",
                              "Busy time over simulated time", [this] {
                                const double t = to_ns_now();
                                return t > 0 ? busy_ns_.value() / t : 0.0;
                              }};
  static double to_ns_now();
};

}  // namespace fl::hw
