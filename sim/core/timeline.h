// A timeline of a run in the Chrome JSON trace format ("JSON Object Format" of the Trace
// Event Format), which Perfetto UI (ui.perfetto.dev), chrome://tracing and
// scripts/plot_timeline.py load: tracks (one "thread" each of one "process", faultline),
// complete slices on them, and flow arrows between slices.
//
// Events stream to PATH.tmp.PID as the run makes them and finish() renames the file into
// place, so memory does not grow with the run and a killed run leaves no partial file.
// Times are simulated picoseconds, written as microseconds with six decimals (exact).
// Slices of one track must nest (a slice inside another starts and ends within it); the
// writers (sim/platform/fault_ledger.cpp) keep that by giving overlapping work separate
// lanes (tracks "NAME 0", "NAME 1", ...).
#pragma once

#include <cstdint>
#include <fstream>
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
  // Closes the JSON and renames the file into place.
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
};

// Lanes for work items that may overlap: each item takes the lowest lane free at its start.
class TimelineLanes {
 public:
  TimelineLanes(Timeline& t, std::string name, int sort_base) : t_(t), name_(std::move(name)), sort_base_(sort_base) {}
  // The track of a lane free from `begin_ps`, busy until `end_ps` (UINT64_MAX: until release()).
  int take(uint64_t begin_ps, uint64_t end_ps, size_t* lane = nullptr);
  void release(size_t lane, uint64_t end_ps) { busy_until_[lane] = end_ps; }

 private:
  Timeline& t_;
  std::string name_;
  int sort_base_;
  std::vector<uint64_t> busy_until_;
  std::vector<int> tracks_;
};

}  // namespace fl
