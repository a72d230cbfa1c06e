#include "sim/platform/sweep.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "configs/schema/sweep.pb.h"
#include "sim/core/errors.h"
#include "sim/core/output.h"
#include "sim/core/textproto.h"

namespace fl::platform {

namespace fs = std::filesystem;
namespace sw = faultline::sweep;

namespace {

constexpr size_t kMaxPoints = 100000;

struct Spec {
  sw::Sweep msg;
  std::string path;
  std::string dir;  // relative paths in the spec are relative to this
  std::string resolve(const std::string& p) const {
    if (p.empty() || fs::path(p).is_absolute()) return p;
    return (fs::path(dir) / p).lexically_normal().string();
  }
};

Spec load_spec(const std::string& path) {
  Spec s;
  s.path = path;
  s.dir = fs::path(path).parent_path().string();
  parse_textproto(read_text_file(path, "sweep spec"), path, &s.msg);
  return s;
}

std::string format_value(double v, bool integer) {
  char b[64];
  if (integer) {
    std::snprintf(b, sizeof b, "%lld", std::llround(v));
  } else {
    std::snprintf(b, sizeof b, "%.10g", v);
  }
  return b;
}

std::vector<std::string> values_of(const sw::Parameter& p, const std::string& where) {
  const std::string at = where + ": parameter '" + p.key() + "'";
  if (p.key().empty()) throw InputError(where + ": a parameter without a key");
  if (p.key().find('=') != std::string::npos) throw InputError(at + ": a key has no '='");
  if (p.values_size() > 0 && p.has_range()) throw InputError(at + ": give values or a range, not both");
  if (p.values_size() > 0) {
    for (const std::string& v : p.values()) {
      if (v.empty()) throw InputError(at + ": an empty value");
    }
    return {p.values().begin(), p.values().end()};
  }
  if (!p.has_range()) throw InputError(at + ": no values and no range");
  const sw::Range& r = p.range();
  if (!r.has_from() || !r.has_to() || !r.has_step()) throw InputError(at + ": a range needs from, to and step");
  if (!std::isfinite(r.from()) || !std::isfinite(r.to()) || !std::isfinite(r.step()) || r.step() <= 0) {
    throw InputError(at + ": range from and to must be numbers and step a positive number");
  }
  if (r.to() < r.from()) throw InputError(at + ": range to is below from");
  const double n = std::floor((r.to() - r.from()) / r.step() + 1e-9) + 1;
  if (n > static_cast<double>(kMaxPoints)) throw InputError(at + ": the range has more than 100000 values");
  std::vector<std::string> v;
  for (int64_t i = 0; i < static_cast<int64_t>(n); ++i) v.push_back(format_value(r.from() + static_cast<double>(i) * r.step(), r.integer()));
  return v;
}

// A point's directory name: its values, with anything but [A-Za-z0-9._=+-,] as '_'.
std::string point_name(const std::vector<std::pair<std::string, std::string>>& values, size_t index) {
  std::string n;
  for (const auto& [k, v] : values) n += (n.empty() ? "" : ",") + k + "=" + v;
  if (n.empty()) n = "base";
  for (char& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::strchr("._=+-,", c) == nullptr) c = '_';
  }
  if (n.size() > 200) {
    char b[32];
    std::snprintf(b, sizeof b, "p%06zu", index);
    n = b;
  }
  return n;
}

std::vector<SweepPoint> points_of(const Spec& s) {
  const sw::Sweep& m = s.msg;
  if (!m.workload().empty() && !m.trace().empty()) throw InputError(s.path + ": give a workload or a trace, not both");
  if (m.open_loop() && m.trace().empty()) throw InputError(s.path + ": open_loop is for a trace replay");
  for (const std::string& kv : m.set()) {
    if (kv.find('=') == std::string::npos) throw InputError(s.path + ": set '" + kv + "' is not KEY=VALUE");
  }
  for (const std::string& st : m.stat()) {
    if (st.empty()) throw InputError(s.path + ": an empty stat name");
  }
  // Axes: each parameter, each zip group, the seeds; an axis's element is a list of values.
  using Element = std::vector<std::pair<std::string, std::string>>;
  std::vector<std::vector<Element>> axes;
  std::map<std::string, int> keys;
  const auto claim = [&](const std::string& key) {
    if (keys[key]++ != 0) throw InputError(s.path + ": parameter '" + key + "' is swept twice");
  };
  for (const sw::Parameter& p : m.parameter()) {
    claim(p.key());
    std::vector<Element> axis;
    for (const std::string& v : values_of(p, s.path)) axis.push_back({{p.key(), v}});
    axes.push_back(std::move(axis));
  }
  for (int z = 0; z < m.zip_size(); ++z) {
    const sw::Zip& zip = m.zip(z);
    if (zip.parameter_size() == 0) throw InputError(s.path + ": zip " + std::to_string(z + 1) + " has no parameter");
    std::vector<std::vector<std::string>> cols;
    for (const sw::Parameter& p : zip.parameter()) {
      claim(p.key());
      cols.push_back(values_of(p, s.path));
      if (cols.back().size() != cols.front().size()) {
        throw InputError(s.path + ": zip " + std::to_string(z + 1) + ": parameter '" + p.key() + "' has " +
                         std::to_string(cols.back().size()) + " values, '" + zip.parameter(0).key() + "' has " +
                         std::to_string(cols.front().size()) + " (zipped parameters advance together)");
      }
    }
    std::vector<Element> axis(cols.front().size());
    for (size_t i = 0; i < axis.size(); ++i) {
      for (int p = 0; p < zip.parameter_size(); ++p) axis[i].push_back({zip.parameter(p).key(), cols[static_cast<size_t>(p)][i]});
    }
    axes.push_back(std::move(axis));
  }
  if (m.seed_size() > 0) {
    if (keys.count("sim.seed") != 0) throw InputError(s.path + ": sim.seed is swept and seeds are given");
    std::vector<Element> axis;
    for (const uint64_t seed : m.seed()) axis.push_back({{"seed", std::to_string(seed)}});
    axes.push_back(std::move(axis));
  }
  double total = 1;
  for (const auto& a : axes) total *= static_cast<double>(a.size());
  if (total > static_cast<double>(kMaxPoints)) throw InputError(s.path + ": more than 100000 points");
  std::vector<SweepPoint> points;
  std::vector<size_t> idx(axes.size(), 0);
  for (size_t n = 0; n < static_cast<size_t>(total); ++n) {
    SweepPoint p;
    for (size_t a = 0; a < axes.size(); ++a) {
      for (const auto& kv : axes[a][idx[a]]) p.values.push_back(kv);
    }
    p.name = point_name(p.values, n);
    points.push_back(std::move(p));
    for (size_t a = axes.size(); a-- > 0;) {  // the last axis varies fastest
      if (++idx[a] < axes[a].size()) break;
      idx[a] = 0;
    }
  }
  std::map<std::string, size_t> names;
  for (SweepPoint& p : points) {
    if (names[p.name]++ != 0) throw InputError(s.path + ": two points named '" + p.name + "' (a value repeats)");
  }
  return points;
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) return v;
  std::string q = "\"";
  for (const char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string tail_lines(const std::string& path, size_t n) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  for (std::string l; std::getline(in, l);) {
    lines.push_back(l);
    if (lines.size() > n) lines.pop_front();
  }
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

std::string self_exe() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw InputError("cannot find the faultline executable (/proc/self/exe): " + ec.message());
  return p.string();
}

}  // namespace

std::vector<SweepPoint> sweep_points(const std::string& spec_path) { return points_of(load_spec(spec_path)); }

SweepSummary run_sweep(const SweepOptions& opts, std::ostream& out, std::ostream& err) {
  const Spec spec = load_spec(opts.spec_path);
  const std::vector<SweepPoint> points = points_of(spec);
  if (opts.jobs == 0) throw InputError("-j must be at least 1");
  const sw::Sweep& m = spec.msg;
  const std::string name = !m.name().empty() ? m.name() : fs::path(opts.spec_path).stem().string();
  SweepSummary sum;
  sum.points = points.size();
  sum.out_dir = !opts.out_dir.empty() ? opts.out_dir : "out/sweep/" + name;
  std::error_code ec;
  fs::create_directories(fs::path(sum.out_dir) / "points", ec);
  if (ec) throw InputError(sum.out_dir + ": cannot create the sweep's directory: " + ec.message());
  for (const std::string& f : {m.config(), m.workload(), m.trace()}) {
    if (!f.empty() && !fs::exists(spec.resolve(f))) throw InputError(opts.spec_path + ": " + spec.resolve(f) + " does not exist");
  }
  const std::string binary = !opts.binary.empty() ? opts.binary : self_exe();
  const auto dir_of = [&](const SweepPoint& p) { return (fs::path(sum.out_dir) / "points" / p.name).string(); };
  const auto done = [&](const SweepPoint& p) {
    return fs::exists(dir_of(p) + "/stats.json") || fs::exists(dir_of(p) + "/failed.txt");
  };

  std::deque<size_t> pending;
  for (size_t i = 0; i < points.size(); ++i) {
    if (done(points[i])) {
      ++sum.already_done;
    } else {
      pending.push_back(i);
    }
  }
  const std::string log_path = sum.out_dir + "/sweep.log";
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw InputError(log_path + ": cannot open: " + std::strerror(errno));
  const pid_t parent = ::getpid();
  std::map<pid_t, size_t> running;
  size_t finished = sum.already_done;
  const auto launch = [&](size_t i) {
    const SweepPoint& p = points[i];
    const std::string dir = dir_of(p);
    fs::create_directories(dir);
    std::vector<std::string> args = {binary};
    if (!m.trace().empty()) {
      args.insert(args.end(), {"replay", spec.resolve(m.trace())});
      if (m.open_loop()) args.push_back("--open-loop");
    } else {
      args.push_back("run");
      if (!m.workload().empty()) args.insert(args.end(), {"--workload", spec.resolve(m.workload())});
    }
    if (!m.config().empty()) args.insert(args.end(), {"--config", spec.resolve(m.config())});
    for (const std::string& kv : m.set()) args.insert(args.end(), {"--set", kv});
    for (const auto& [k, v] : p.values) {
      if (k == "seed") {
        args.insert(args.end(), {"--seed", v});
      } else {
        args.insert(args.end(), {"--set", k + "=" + v});
      }
    }
    args.insert(args.end(), {"--out", dir, "--quiet"});
    const std::string log = dir + "/log.txt";
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) throw InputError(std::string("cannot start a run: fork: ") + std::strerror(errno));
    if (pid == 0) {
      // The run dies with the sweep, so a killed sweep leaves nothing running.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    running[pid] = i;
  };
  while (!pending.empty() || !running.empty()) {
    while (!pending.empty() && running.size() < opts.jobs) {
      launch(pending.front());
      pending.pop_front();
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const SweepPoint& p = points[it->second];
    running.erase(it);
    ++sum.ran;
    const std::string dir = dir_of(p);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::string line;
    if (code == 0 && fs::exists(dir + "/stats.json")) {
      line = "done " + p.name + " ok\n";
    } else {
      ++sum.failed;
      write_file_atomic(dir + "/failed.txt", "exit " + std::to_string(code) + "\n" + tail_lines(dir + "/log.txt", 20));
      line = "done " + p.name + " exit " + std::to_string(code) + "\n";
      err << "sweep: point " << p.name << " failed (exit " << code << "); see " << dir << "/failed.txt\n";
    }
    if (::write(log_fd, line.data(), line.size()) < 0) err << "sweep: cannot append to " << log_path << "\n";
    ++finished;
    if (opts.progress) err << "\rsweep: " << finished << "/" << points.size() << " points" << "\x1b[K" << std::flush;
  }
  ::close(log_fd);
  if (opts.progress) err << "\n";

  // The table: a row per point, whatever state it is in.
  std::vector<std::string> keys;
  if (!points.empty()) {
    for (const auto& kv : points.front().values) keys.push_back(kv.first);
  }
  std::string t = "point";
  for (const std::string& k : keys) t += "," + csv_field(k);
  t += ",status";
  for (const std::string& st : m.stat()) t += "," + csv_field(st);
  t += "\n";
  std::map<std::string, size_t> found;
  for (const SweepPoint& p : points) {
    const std::string dir = dir_of(p);
    t += csv_field(p.name);
    for (const auto& kv : p.values) t += "," + csv_field(kv.second);
    nlohmann::json stats;
    std::string status = "missing";
    if (fs::exists(dir + "/failed.txt")) {
      std::ifstream in(dir + "/failed.txt");
      std::getline(in, status);
    } else if (fs::exists(dir + "/stats.json")) {
      status = "ok";
      try {
        stats = nlohmann::json::parse(read_text_file(dir + "/stats.json", "point's stats"))["stats"];
      } catch (const nlohmann::json::exception& e) {
        status = std::string("unreadable stats.json: ") + e.what();
      }
    }
    t += "," + csv_field(status);
    for (const std::string& st : m.stat()) {
      const size_t colon = st.find(':');
      const std::string key = st.substr(0, colon);
      std::string cell;
      if (stats.is_object() && stats.contains(key)) {
        const nlohmann::json& v = stats[key];
        if (colon != std::string::npos) {
          const std::string field = st.substr(colon + 1);
          if (v.is_object() && v.contains(field)) cell = v[field].dump();
        } else if (!v.is_object()) {
          cell = v.dump();
        }
      }
      if (!cell.empty()) ++found[st];
      t += "," + cell;
    }
    t += "\n";
  }
  sum.table = sum.out_dir + "/results.csv";
  write_file_atomic(sum.table, t);
  for (const std::string& st : m.stat()) {
    if (found[st] == 0 && sum.failed < points.size()) {
      err << "sweep: stat '" << st << "' is in no point's stats.json (a histogram's field is KEY:FIELD, e.g. "
          << "fault.latency_ns:p50); its column is empty\n";
    }
  }
  out << sum.table << ": " << points.size() << " points (" << sum.ran << " run now, " << sum.already_done
      << " done before, " << sum.failed << " failed)\n";
  return sum;
}

}  // namespace fl::platform
