// Recording a run as a trace and replaying one (configs/schema/trace.proto, docs/traces.md).
//
// Recording (faultline record, or run --record FILE): every workload operation is written
// as a CpuOp when it starts, and every GPU access as a GpuAccess when it ends (its kernel,
// wave, index in the wave, offset into the kernel's footprint, size, direction, issue time
// since the launch, latency, outcome). Records stream to the file as the run makes them.
//
// Replay (faultline replay TRACE): load_trace reads the trace once for its CPU operations
// (they become the run's workload, validated like any workload) and counts each stream's
// accesses; then, as each recorded launch runs, a ReplaySource reads the trace again for
// that kernel's accesses and feeds them to its waves in stream order. Memory holds the CPU
// operations, one counter per stream and, per stream, the accesses read ahead of where its
// wave is (accesses are recorded in completion order, so a stream runs at most its
// outstanding window ahead of another's; a replay whose streams drift far apart buffers
// the difference).
//
// Two modes. Closed loop (the default): a wave issues its next access when the launch's
// outstanding_per_wave and the CU's issue interval allow, so with outstanding_per_wave 1
// each stream is a dependent chain; a recording replays closed-loop to the same stats.
// Open loop (--open-loop): each access issues at its recorded time since the launch (or
// later, if the CU's issue interval does not allow it then), however many are in flight.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hw/compute_units.h"
#include "sim/platform/workload.h"
#include "sim/trace/trace_file.h"

namespace fl::platform {

// What a recording or a replay adds to a workload's run (WorkloadRunner calls these).
class WorkloadHooks {
 public:
  virtual ~WorkloadHooks() = default;
  // An operation is about to run.
  virtual void on_op(const wl::Op&) {}
  // Launch number `index` (0-based, in workload order) is about to be dispatched as `spec`.
  virtual void on_launch(size_t /*index*/, hw::KernelSpec& /*spec*/) {}
};

class Recorder : public WorkloadHooks {
 public:
  Recorder(const std::string& path, trace::pb::Header header);
  void on_op(const wl::Op& op) override;
  void on_launch(size_t index, hw::KernelSpec& spec) override;
  // ComputeUnits' access observer.
  void on_access(const hw::AccessRecord& r);
  // Writes the trace into place (at the end of the run, whatever its status).
  void finish() { writer_.finish(); }
  uint64_t records() const { return writer_.records(); }

 private:
  trace::Writer writer_;
  std::map<std::string, uint32_t> kernels_;  // kernel name -> launch index
  trace::pb::Record rec_;                    // reused: one record's storage
};

// A trace's CPU operations as a workload, and how many accesses each stream has.
struct TraceWorkload {
  Workload workload;
  // [launch index][stream] -> accesses
  std::vector<std::map<uint32_t, uint64_t>> counts;
  uint64_t accesses = 0;
  uint64_t driver_events = 0;
  trace::pb::Header header;
};
// Throws fl::InputError naming the file and record for a trace it cannot use.
TraceWorkload load_trace(const std::string& path);

class Replayer : public WorkloadHooks {
 public:
  Replayer(const std::string& path, const TraceWorkload& tw, bool open_loop) : path_(path), tw_(tw), open_loop_(open_loop) {}
  void on_launch(size_t index, hw::KernelSpec& spec) override;

 private:
  std::string path_;
  const TraceWorkload& tw_;
  bool open_loop_;
};

}  // namespace fl::platform
