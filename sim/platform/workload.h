// Workloads: what the simulated process does (configs/schema/workload.proto).
//
// load_workload parses a workload file, or the built-in default (traces/workloads/
// stream.textproto, compiled in), keeping each operation's line for error messages;
// validate_workload checks every operation against the config before the simulation is
// built, so input errors name file and line and exit with status 2. WorkloadRunner
// (SystemC module "workload") performs the operations in order on a host thread: mappings
// and SVM attributes through the driver model, kernels on the compute units.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>
#include <systemc>

#include "driver-model/driver.h"
#include "hw/command_processor.h"
#include "hw/compute_units.h"
#include "hw/memory.h"
#include "sim/core/schema.h"
#include "sim/core/stats.h"

namespace fl::platform {

struct Workload {
  wl::Workload msg;
  std::string source;       // file path, or "built-in"
  std::vector<int> lines;   // line of each operation (1-based), 0 if unknown
  bool from_trace = false;  // a replayed trace's operations: `lines` holds record numbers

  // "file:line: op N (kind)" for messages about operation i.
  std::string where(size_t i) const;
};

// `path` empty: the built-in default workload.
Workload load_workload(const std::string& path);
const char* builtin_workload_text();

// Throws fl::InputError naming the file and line of the first bad operation.
void validate_workload(const Workload& w, const config::Config& cfg);

// The kernel a launch describes, on a range of `bytes` at `va`; `index` numbers unnamed
// kernels.
hw::KernelSpec kernel_spec(const wl::Launch& l, uint64_t va, uint64_t bytes, const config::ComputeUnits& cu,
                           size_t index);

class WorkloadHooks;  // trace_io.h

class WorkloadRunner : public sc_core::sc_module {
 public:
  WorkloadRunner(sc_core::sc_module_name name, const Workload& w, const config::Config& cfg,
                 driver::Driver& driver, hw::ComputeUnits& cu, hw::CommandProcessor& cp,
                 std::function<void()> on_done, hw::Memory* host_dram = nullptr);

  // A recording or a replay (trace_io.h); called in the order added. Not owned.
  void add_hooks(WorkloadHooks* h) { hooks_.push_back(h); }
  bool finished() const { return finished_; }
  // Index of the operation being performed (for diagnostics).
  size_t current_op() const { return current_; }
  std::string current_op_name() const;
  // Kernels whose queue the driver killed (fatal faults), in order.
  const std::vector<std::string>& killed_kernels() const { return killed_kernels_; }

 private:
  struct Region {
    uint64_t va;
    uint64_t bytes;
    bool svm;
  };
  void run();
  void exec(const wl::Op& op);
  void dma_copy(const wl::DmaCopy& c);
  void memory_pressure(const wl::MemoryPressure& m);
  // The address and length of [offset, offset + size) of a region (size: the rest).
  std::pair<uint64_t, uint64_t> part(const std::string& name, uint64_t offset, bool has_size, uint64_t size) const;
  static driver::VmaFlags vma_flags(const wl::VmaFlags& f);

  const Workload& w_;
  const config::Config& cfg_;
  driver::Driver& driver_;
  hw::ComputeUnits& cu_;
  hw::CommandProcessor& cp_;
  std::function<void()> on_done_;
  hw::Memory* host_dram_;  // where copy fences land (dma_copy timing)
  std::vector<WorkloadHooks*> hooks_;
  uint64_t copies_ = 0;
  struct CopyBuffer {
    uint64_t host;
    uint64_t bytes;
  };
  std::map<std::string, CopyBuffer> copy_buffers_;  // dma_copy `buffer` names
  std::map<std::string, Region> regions_;
  std::map<std::string, bool> kernel_done_;
  std::vector<std::string> killed_kernels_;
  sc_core::sc_event kernel_event_;
  sc_core::sc_event queue_event_;
  size_t current_ = 0;
  size_t launched_ = 0;
  bool finished_ = false;

  stats::Group stats_;
  stats::Counter ops_{stats_, "ops", "count", "Workload operations performed"};
  stats::Histogram kernel_ns_{stats_, "kernel_ns", "ns", "Kernel duration, launch to last access completed"};
  stats::Histogram preempt_ns_{stats_, "preempt_ns", "ns", "Duration of preempt operations (queue eviction)"};
  stats::Histogram restore_ns_{stats_, "restore_ns", "ns", "Duration of restore operations"};
  stats::Histogram dma_copy_ns_{stats_, "dma_copy_ns", "ns", "dma_copy job time: doorbell write to its fence landing in host memory"};
  stats::Histogram munmap_ns_{stats_, "munmap_ns", "ns", "munmap operations: call to return (includes the time blocked in MMU notifiers)"};
  stats::Histogram mprotect_ns_{stats_, "mprotect_ns", "ns", "mprotect operations: call to return (includes notifier blocking)"};
  stats::Histogram fork_ns_{stats_, "fork_ns", "ns", "fork operations: call to return (includes notifier blocking)"};
  stats::Histogram bo_create_ns_{stats_, "bo_create_ns", "ns", "bo_create operations: call to return (includes reclaim and swapout)"};
  stats::Histogram pressure_ns_{stats_, "memory_pressure_ns", "ns", "memory_pressure allocations: call to return (includes direct reclaim and the shrinker's fence waits)"};
  stats::Histogram cpu_touch_ns_{stats_, "cpu_touch_ns", "ns", "cpu_touch operations: first to last page touched (CPU faults, migrations back, COW copies)"};
  stats::Counter dma_copy_bytes_{stats_, "dma_copy_bytes", "bytes", "Bytes copied by dma_copy operations"};
};

// The kernel a launch describes, on a region of `bytes` at `va` (shared by validation and
// the runner so both agree).
hw::KernelSpec kernel_spec(const wl::Launch& l, uint64_t va, uint64_t bytes,
                           const config::ComputeUnits& cu, size_t index);
// The launch's kernel descriptor: as given, or (no `workgroups`) one single-wave workgroup
// per wave of `s`. With `workgroups`, kernel_spec's CUs and waves per CU are derived from
// the residency on `res` (see workload.proto).
hw::KernelDescriptor kernel_descriptor(const wl::Launch& l, const hw::KernelSpec& s);
void apply_descriptor(const hw::KernelDescriptor& d, const hw::CuResources& res, hw::KernelSpec& s);

}  // namespace fl::platform
