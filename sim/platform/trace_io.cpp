#include "sim/platform/trace_io.h"

#include <deque>
#include <utility>

#include "sim/core/errors.h"
#include "sim/core/sim_status.h"
#include "sim/core/time.h"

namespace fl::platform {

// ---------------------------------------------------------------------------- recording

Recorder::Recorder(const std::string& path, trace::pb::Header header) : writer_(path, std::move(header)) {}

void Recorder::on_op(const wl::Op& op) {
  rec_.Clear();
  trace::pb::CpuOp* c = rec_.mutable_cpu();
  *c->mutable_op() = op;
  c->set_time_ps(now_ps());
  writer_.write(rec_);
}

void Recorder::on_launch(size_t index, hw::KernelSpec& spec) {
  kernels_[spec.name] = static_cast<uint32_t>(index);
}

void Recorder::on_access(const hw::AccessRecord& r) {
  rec_.Clear();
  trace::pb::GpuAccess* a = rec_.mutable_access();
  a->set_kernel(kernels_.at(*r.kernel));
  a->set_stream(r.wave);
  a->set_index(r.index);
  a->set_offset_bytes(r.offset_bytes);
  a->set_size_bytes(r.bytes);
  if (r.write) a->set_write(true);
  a->set_issue_ps(r.issue_ps);
  if (r.outcome == hw::AccessOutcome::kCompleted) a->set_latency_ns(static_cast<double>(r.latency_ps) / 1000.0);
  if (r.faulted) a->set_faulted(true);
  if (r.outcome == hw::AccessOutcome::kFatal) a->set_outcome(trace::pb::FATAL);
  if (r.outcome == hw::AccessOutcome::kDropped) a->set_outcome(trace::pb::DROPPED);
  writer_.write(rec_);
}

// ---------------------------------------------------------------------------- loading

TraceWorkload load_trace(const std::string& path) {
  TraceWorkload tw;
  trace::Reader in(path);
  tw.header = in.header();
  tw.workload.source = path;
  tw.workload.from_trace = true;
  tw.workload.msg.set_name(path);
  trace::pb::Record r;
  while (in.next(&r)) {
    switch (r.kind_case()) {
      case trace::pb::Record::kCpu:
        if (!r.cpu().has_op()) throw InputError(in.where() + ": a CPU record without an operation");
        *tw.workload.msg.add_op() = r.cpu().op();
        tw.workload.lines.push_back(static_cast<int>(in.records()));
        if (r.cpu().op().has_launch()) tw.counts.emplace_back();
        break;
      case trace::pb::Record::kAccess: {
        const trace::pb::GpuAccess& a = r.access();
        if (a.kernel() >= tw.counts.size()) {
          throw InputError(in.where() + ": an access of kernel " + std::to_string(a.kernel()) +
                           " before its launch (the trace has launched " + std::to_string(tw.counts.size()) +
                           " kernels by then)");
        }
        ++tw.counts[a.kernel()][a.stream()];
        ++tw.accesses;
        break;
      }
      case trace::pb::Record::kDriver:  // what the driver did when the trace was captured: compared, not replayed
        ++tw.driver_events;
        break;
      case trace::pb::Record::kEnd:  // Reader::next does not return it
      case trace::pb::Record::KIND_NOT_SET:
        throw InputError(in.where() + ": an empty record");
    }
  }
  return tw;
}

// ---------------------------------------------------------------------------- replay

namespace {

constexpr uint64_t kPage = 4096;

// One kernel's accesses, read from its own pass over the trace. Accesses are recorded when
// they end, so a stream's come out of order within its outstanding window; each stream
// keeps those read ahead of where its wave is, by index.
class ReplaySource : public hw::AccessSource {
 public:
  ReplaySource(const std::string& path, uint32_t kernel, std::map<uint32_t, uint64_t> counts,
               const hw::KernelSpec& spec, bool open_loop)
      : in_(path), kernel_(kernel), counts_(std::move(counts)), base_va_(spec.base_va),
        footprint_(spec.footprint_bytes), open_loop_(open_loop), streams_(uint64_t{spec.cus} * spec.waves_per_cu) {}

  uint64_t count(uint32_t wave) const override {
    const auto it = counts_.find(wave);
    return it == counts_.end() ? 0 : it->second;
  }

  hw::SourcedAccess next(uint32_t wave, uint64_t index) override {
    Stream& mine = streams_.at(wave);
    for (;;) {
      // The wave asks in order, so `index` is always the stream's next one.
      if (index == mine.served && !mine.ahead.empty() && mine.ahead.front().present) {
        const hw::SourcedAccess a = mine.ahead.front().access;
        mine.ahead.pop_front();
        ++mine.served;
        return a;
      }
      if (failed_) return kHarmless;
      if (!in_.next(&rec_)) {
        fail(in_.path() + ": kernel " + std::to_string(kernel_) + " stream " + std::to_string(wave) +
             " has no access with index " + std::to_string(index) + " (the trace holds " +
             std::to_string(count(wave)) + " accesses for it)");
        return kHarmless;
      }
      if (!rec_.has_access() || rec_.access().kernel() != kernel_) continue;
      take(rec_.access());
    }
  }

 private:
  // A bad access found while the simulation runs stops the run as an input error (exit 2)
  // rather than by throwing: the replay source is called from scheduler callbacks, and the
  // run ends cleanly at the end of the current delta cycle. Until then the source hands out
  // a harmless access (the footprint's first byte, a read).
  static constexpr hw::SourcedAccess kHarmless{0, 1, false, 0};
  void fail(const std::string& message) {
    if (failed_) return;
    failed_ = true;
    report_run_error(kExitInput, message);
  }
  void bad(const std::string& what) { fail(in_.where() + ": " + what); }

  void take(const trace::pb::GpuAccess& a) {
    if (a.stream() >= streams_.size()) {
      return bad("stream " + std::to_string(a.stream()) + " of kernel " + std::to_string(kernel_) + ", which has " +
                 std::to_string(streams_.size()) + " waves");
    }
    if (a.size_bytes() == 0 || a.size_bytes() > kPage) return bad("size_bytes must be 1 to 4096");
    if (a.offset_bytes() >= footprint_ || a.size_bytes() > footprint_ - a.offset_bytes()) {
      return bad("access at offset " + std::to_string(a.offset_bytes()) + " (+" + std::to_string(a.size_bytes()) +
                 " bytes) is beyond the kernel's footprint of " + std::to_string(footprint_) + " bytes");
    }
    if ((base_va_ + a.offset_bytes()) % kPage + a.size_bytes() > kPage) {
      return bad("access at offset " + std::to_string(a.offset_bytes()) + " crosses a 4 KiB page");
    }
    if (a.index() >= count(a.stream())) {
      return bad("index " + std::to_string(a.index()) + " is beyond the " + std::to_string(count(a.stream())) +
                 " accesses of its stream");
    }
    Stream& st = streams_[a.stream()];
    if (a.index() < st.served || (a.index() - st.served < st.ahead.size() && st.ahead[a.index() - st.served].present)) {
      return bad("stream " + std::to_string(a.stream()) + " has two accesses with index " + std::to_string(a.index()));
    }
    const uint64_t pos = a.index() - st.served;
    if (pos >= st.ahead.size()) st.ahead.resize(pos + 1);
    Slot& slot = st.ahead[pos];
    slot.present = true;
    slot.access.offset_bytes = a.offset_bytes();
    slot.access.bytes = a.size_bytes();
    slot.access.write = a.write();
    slot.access.issue_after_ps = open_loop_ ? a.issue_ps() : 0;
  }

  // Accesses read ahead of the wave, by index from `served`: recorded accesses arrive in
  // completion order, at most an outstanding window out of place.
  struct Slot {
    bool present = false;
    hw::SourcedAccess access;
  };
  struct Stream {
    uint64_t served = 0;  // accesses handed to the wave so far
    std::deque<Slot> ahead;
  };

  trace::Reader in_;
  uint32_t kernel_;
  std::map<uint32_t, uint64_t> counts_;
  uint64_t base_va_;
  uint64_t footprint_;
  bool open_loop_;
  std::vector<Stream> streams_;
  trace::pb::Record rec_;
  bool failed_ = false;
};

}  // namespace

void Replayer::on_launch(size_t index, hw::KernelSpec& spec) {
  const std::map<uint32_t, uint64_t>& counts = tw_.counts.at(index);
  const uint64_t waves = uint64_t{spec.cus} * spec.waves_per_cu;
  if (!counts.empty() && counts.rbegin()->first >= waves) {
    throw InputError("the trace has accesses for stream " + std::to_string(counts.rbegin()->first) +
                     " of this kernel, which has " + std::to_string(waves) + " waves");
  }
  spec.source = std::make_shared<ReplaySource>(path_, static_cast<uint32_t>(index), counts, spec, open_loop_);
  // Open loop: accesses issue at their recorded times, however many are in flight.
  if (open_loop_) spec.outstanding_per_wave = ~uint32_t{0};
}

}  // namespace fl::platform
