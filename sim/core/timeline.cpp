#include "sim/core/timeline.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "sim/core/errors.h"

namespace fl {

namespace {
// ps as microseconds, exactly.
std::string us(uint64_t ps) {
  char b[32];
  std::snprintf(b, sizeof b, "%llu.%06llu", static_cast<unsigned long long>(ps / 1000000),
                static_cast<unsigned long long>(ps % 1000000));
  return b;
}
constexpr int kPid = 1;
}  // namespace

Timeline::Timeline(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp." + std::to_string(::getpid())) {
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_) throw InputError(path_ + ": cannot create the timeline: " + std::strerror(errno));
  out_ << "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"source\":\"faultline\",\"time\":\"simulated\"},\"traceEvents\":[\n";
  begin_event();
  out_ << "{\"ph\":\"M\",\"pid\":" << kPid << ",\"name\":\"process_name\",\"args\":{\"name\":\"faultline\"}}";
}

Timeline::~Timeline() {
  if (!finished_) {
    out_.close();
    ::unlink(tmp_.c_str());
  }
}

void Timeline::begin_event() {
  if (events_++ != 0) out_ << ",\n";
}

int Timeline::track(const std::string& name, int sort) {
  const int tid = next_track_++;
  if (finished_) return tid;
  const std::string n = nlohmann::json(name).dump();
  begin_event();
  out_ << "{\"ph\":\"M\",\"pid\":" << kPid << ",\"tid\":" << tid << ",\"name\":\"thread_name\",\"args\":{\"name\":" << n << "}}";
  begin_event();
  out_ << "{\"ph\":\"M\",\"pid\":" << kPid << ",\"tid\":" << tid << ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":" << sort
       << "}}";
  return tid;
}

void Timeline::slice(int track, const std::string& name, uint64_t begin_ps, uint64_t end_ps, const std::string& args) {
  if (finished_) return;
  begin_event();
  out_ << "{\"ph\":\"X\",\"pid\":" << kPid << ",\"tid\":" << track << ",\"name\":" << nlohmann::json(name).dump()
       << ",\"ts\":" << us(begin_ps) << ",\"dur\":" << us(end_ps >= begin_ps ? end_ps - begin_ps : 0);
  if (!args.empty()) out_ << ",\"args\":{" << args << "}";
  out_ << "}";
}

void Timeline::flow(const char* name, int from, uint64_t from_ps, int to, uint64_t to_ps) {
  if (finished_) return;
  const uint64_t id = next_flow_++;
  begin_event();
  out_ << "{\"ph\":\"s\",\"pid\":" << kPid << ",\"tid\":" << from << ",\"name\":\"" << name << "\",\"cat\":\"flow\",\"id\":" << id
       << ",\"ts\":" << us(from_ps) << "}";
  begin_event();
  out_ << "{\"ph\":\"f\",\"bp\":\"e\",\"pid\":" << kPid << ",\"tid\":" << to << ",\"name\":\"" << name
       << "\",\"cat\":\"flow\",\"id\":" << id << ",\"ts\":" << us(to_ps) << "}";
}

void Timeline::finish() {
  if (finished_) return;
  // Each may draw; none may add another (the list is taken first).
  const auto pending = std::move(at_finish_);
  at_finish_.clear();
  for (const auto& fn : pending) fn();
  out_ << "\n]}\n";
  out_.flush();
  const bool ok = static_cast<bool>(out_);
  out_.close();
  if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(tmp_.c_str());
    finished_ = true;
    throw InputError(path_ + ": cannot write the timeline: " + reason);
  }
  finished_ = true;
}

int TimelineLanes::take(uint64_t begin_ps, uint64_t end_ps, size_t* lane) {
  size_t i = 0;
  while (i < busy_until_.size() && busy_until_[i] > begin_ps) ++i;
  if (i == busy_until_.size()) {
    busy_until_.push_back(0);
    tracks_.push_back(t_.track(name_ + " " + std::to_string(i), sort_base_ + static_cast<int>(i)));
  }
  busy_until_[i] = end_ps;
  if (lane != nullptr) *lane = i;
  return tracks_[i];
}

void TimelineArgs::key(const char* k) {
  if (!s_.empty()) s_ += ',';
  s_ += '"';
  s_ += k;
  s_ += "\":";
}

TimelineArgs& TimelineArgs::num(const char* k, uint64_t v) {
  key(k);
  s_ += std::to_string(v);
  return *this;
}

TimelineArgs& TimelineArgs::real(const char* k, double v) {
  key(k);
  s_ += nlohmann::json(v).dump();
  return *this;
}

TimelineArgs& TimelineArgs::hex(const char* k, uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "\"0x%llx\"", static_cast<unsigned long long>(v));
  key(k);
  s_ += b;
  return *this;
}

TimelineArgs& TimelineArgs::str(const char* k, const std::string& v) {
  key(k);
  s_ += nlohmann::json(v).dump();
  return *this;
}

int TimelineTrack::id() {
  if (id_ < 0) id_ = t_.track(name_, sort_);
  return id_;
}

}  // namespace fl
