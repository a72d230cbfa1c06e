// A timeline of a run in the Chrome JSON trace format ("JSON Object Format" of the Trace
// Event Format), which Perfetto UI (ui.perfetto.dev), chrome://tracing and
// scripts/plot_timeline.py load: tracks (one "thread" each of one "process", faultline),
// complete slices on them, and flow arrows between slices.
//
// Events stream to PATH.tmp.PID as the run makes them and finish() renames the file into
// place, so memory does not grow with the run and a killed run leaves no partial file.
// Times are simulated picoseconds, written as microseconds with six decimals (exact).
// Slices of one track must nest (a slice inside another starts and ends within it); the
// writers keep that by giving overlapping work separate lanes (tracks "NAME 0", "NAME 1",
// ...): the fault ledger (sim/platform/fault_ledger.cpp) and the hardware and driver
// models, each given the timeline by set_timeline() when the run has one (docs/timeline.md).
// A model without a timeline holds a null pointer and pays one predictable branch per hook.
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fl {

class Timeline {
 public:
  // Throws fl::InputError naming the path if it cannot be created.
  explicit Timeline(std::string path);
  // Unfinished (an error): the temporary file is removed.
  ~Timeline();
  Timeline(const Timeline&) = delete;
  Timeline& operator=(const Timeline&) = delete;

  // A track named `name`, listed in ascending `sort` order; its id for the calls below.
  int track(const std::string& name, int sort);
  // A slice [begin_ps, end_ps) on `track`; `args` is a JSON object's members ("" for none),
  // e.g. "\"va\":\"0x1000\"".
  void slice(int track, const std::string& name, uint64_t begin_ps, uint64_t end_ps, const std::string& args = "");
  // A flow arrow from the slice enclosing `from_ps` on `from` to the one enclosing `to_ps`
  // on `to`.
  void flow(const char* name, int from, uint64_t from_ps, int to, uint64_t to_ps);
  // Runs `fn` at the start of finish(): models draw what is still open then (a link's
  // current burst, a queue's current state), ending at the end of the run.
  void at_finish(std::function<void()> fn) { at_finish_.push_back(std::move(fn)); }
  // Closes the JSON and renames the file into place. Nothing is written after it.
  void finish();

  uint64_t events() const { return events_; }
  const std::string& path() const { return path_; }

 private:
  void begin_event();
  std::string path_;
  std::string tmp_;
  std::ofstream out_;
  uint64_t events_ = 0;
  uint64_t next_flow_ = 1;
  int next_track_ = 1;
  bool finished_ = false;
  std::vector<std::function<void()>> at_finish_;
};

// Where each group of tracks is listed (thread_sort_index): hardware in data-path order,
// then driver threads, then the fault ledger's lanes. A group's lanes take base + lane, so
// each group leaves kGroup places.
namespace timeline_sort {
constexpr int kGroup = 10000;
constexpr int kUtcl2 = 1 * kGroup;
constexpr int kUtcl2Invalidation = 2 * kGroup;
constexpr int kWalker = 3 * kGroup;
constexpr int kIhRing0 = 4 * kGroup;
constexpr int kIhRing1 = 5 * kGroup;
constexpr int kCopyEngine = 6 * kGroup;  // + engine
constexpr int kLink = 7 * kGroup;        // + 0 up, + 1 down
constexpr int kQueue = 8 * kGroup;       // + queue id
constexpr int kIrqIsr = 20 * kGroup;
constexpr int kIrqIh1Worker = 21 * kGroup;
constexpr int kIrqSoftWorker = 22 * kGroup;
constexpr int kSvmRestorePages = 23 * kGroup;
constexpr int kMigrate = 24 * kGroup;
constexpr int kGpuVm = 25 * kGroup;
constexpr int kSvmNotifier = 26 * kGroup;
constexpr int kSvmRestoreWorker = 27 * kGroup;
constexpr int kQueueEviction = 28 * kGroup;
constexpr int kFaultService = 100 * kGroup;
constexpr int kFaultedAccess = 200 * kGroup;
}  // namespace timeline_sort

// A slice's args (a JSON object's members) built from typed values.
class TimelineArgs {
 public:
  TimelineArgs& num(const char* key, uint64_t v);
  TimelineArgs& real(const char* key, double v);
  TimelineArgs& hex(const char* key, uint64_t v);
  TimelineArgs& str(const char* key, const std::string& v);
  const std::string& get() const { return s_; }
  operator const std::string&() const { return s_; }  // NOLINT: passed straight to slice()

 private:
  void key(const char* k);
  std::string s_;
};

// One track, created with its first slice, so a unit that never works draws nothing.
// For work that never overlaps on it (one thread's, one engine's).
class TimelineTrack {
 public:
  TimelineTrack(Timeline& t, std::string name, int sort) : t_(t), name_(std::move(name)), sort_(sort) {}
  int id();
  void slice(const std::string& name, uint64_t begin_ps, uint64_t end_ps, const std::string& args = "") {
    t_.slice(id(), name, begin_ps, end_ps, args);
  }
  Timeline& timeline() { return t_; }

 private:
  Timeline& t_;
  std::string name_;
  int sort_;
  int id_ = -1;
};

// Lanes for work items that may overlap: each item takes the lowest lane free at its start.
class TimelineLanes {
 public:
  TimelineLanes(Timeline& t, std::string name, int sort_base) : t_(t), name_(std::move(name)), sort_base_(sort_base) {}
  // The track of a lane free from `begin_ps`, busy until `end_ps` (UINT64_MAX: until release()).
  int take(uint64_t begin_ps, uint64_t end_ps, size_t* lane = nullptr);
  void release(size_t lane, uint64_t end_ps) { busy_until_[lane] = end_ps; }
  // Work whose end is not known yet: open() takes a lane from `begin_ps` on, close() draws
  // [begin_ps, end_ps) on it and frees it. Slices inside the work go on track(lane).
  size_t open(uint64_t begin_ps) {
    size_t lane = 0;
    take(begin_ps, UINT64_MAX, &lane);
    return lane;
  }
  void close(size_t lane, const std::string& name, uint64_t begin_ps, uint64_t end_ps, const std::string& args = "") {
    t_.slice(tracks_[lane], name, begin_ps, end_ps, args);
    release(lane, end_ps);
  }
  int track(size_t lane) const { return tracks_[lane]; }
  // Work that has ended: [begin_ps, end_ps) on a lane free over it; returns the lane's
  // track, where slices inside the work go.
  int draw(const std::string& name, uint64_t begin_ps, uint64_t end_ps, const std::string& args = "") {
    const int tr = take(begin_ps, end_ps);
    t_.slice(tr, name, begin_ps, end_ps, args);
    return tr;
  }
  Timeline& timeline() { return t_; }

 private:
  Timeline& t_;
  std::string name_;
  int sort_base_;
  std::vector<uint64_t> busy_until_;
  std::vector<int> tracks_;
};

}  // namespace fl
