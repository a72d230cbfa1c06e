#include "sim/platform/sweep.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

bool is_variable(const std::string& key) { return !key.empty() && key[0] == '$'; }
// A parameter's name in the table and in point names: a workload variable without its '$'.
std::string column_name(const std::string& key) { return is_variable(key) ? key.substr(1) : key; }

// The workload variables `${NAME}` of TEXT, each with the line it first appears on;
// throws naming FILE:LINE for a `${` that does not close or holds no identifier.
std::map<std::string, int> template_variables(const std::string& text, const std::string& file) {
  std::map<std::string, int> vars;
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') ++line;
    if (text.compare(i, 2, "${") != 0) continue;
    const size_t end = text.find('}', i + 2);
    const std::string name = end == std::string::npos ? "" : text.substr(i + 2, end - i - 2);
    const bool ident = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                       std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
    if (!ident) throw InputError(file + ":" + std::to_string(line) + ": '${' starts no ${NAME} variable (NAME: letters, digits, _)");
    vars.emplace(name, line);
    i = end;
  }
  return vars;
}

// TEXT with each ${NAME} replaced by the value of the point's parameter $NAME.
std::string expand_template(const std::string& text, const std::vector<std::pair<std::string, std::string>>& values) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "${") == 0) {
      const size_t end = text.find('}', i + 2);
      const std::string key = "$" + text.substr(i + 2, end - i - 2);
      // The last value given wins (a command line --set after the spec's own set).
      const std::string* value = nullptr;
      for (const auto& [k, v] : values) {
        if (k == key) value = &v;
      }
      if (value != nullptr) out += *value;
      i = end;
    } else {
      out += text[i];
    }
  }
  return out;
}

// A point's directory name: its values, with anything but [A-Za-z0-9._=+-,] as '_'.
std::string point_name(const std::vector<std::pair<std::string, std::string>>& values, size_t index) {
  std::string n;
  for (const auto& [k, v] : values) n += (n.empty() ? "" : ",") + column_name(k) + "=" + v;
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
  // Workload variables: the workload is a template whose ${NAME}s are exactly the $NAMEs,
  // swept or pinned by a `set: "$NAME=VALUE"`.
  std::map<std::string, std::string> vars;  // $NAME -> where it is given
  for (const auto& [key, n] : keys) {
    if (is_variable(key)) vars[key] = "parameter";
  }
  for (const std::string& kv : m.set()) {
    const std::string key = kv.substr(0, kv.find('='));
    if (keys.count(key) != 0) throw InputError(s.path + ": '" + key + "' is set and swept");
    if (is_variable(key)) vars[key] = "set";
  }
  for (const auto& [key, where] : vars) {
    const std::string name = key.substr(1);
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) ||
        !std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
      throw InputError(s.path + ": " + where + " '" + key + "': a workload variable is $NAME, NAME letters, digits and _");
    }
  }
  if (!vars.empty() && m.workload().empty()) {
    throw InputError(s.path + ": a $NAME parameter is a variable of the workload, and there is no workload" +
                     std::string(m.trace().empty() ? "" : " (a trace is replayed as it is)"));
  }
  if (!m.workload().empty() && (!vars.empty() || fs::exists(s.resolve(m.workload())))) {
    const std::string wl = s.resolve(m.workload());
    const std::map<std::string, int> used = template_variables(read_text_file(wl, "workload template"), wl);
    for (const auto& [name, line] : used) {
      if (vars.count("$" + name) == 0) {
        throw InputError(wl + ":" + std::to_string(line) + ": ${" + name + "} is not a variable of " + s.path +
                         " (sweep it as parameter { key: \"$" + name + "\" ... } or pin it with set: \"$" + name + "=VALUE\")");
      }
    }
    for (const auto& [key, where] : vars) {
      if (used.count(key.substr(1)) == 0) {
        throw InputError(s.path + ": " + where + " '" + key + "': ${" + key.substr(1) + "} does not appear in " + wl);
      }
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

namespace {

// One sweep being run: the spec, its points and where they go.
struct Sweep {
  Spec spec;
  std::vector<SweepPoint> points;
  std::string name, out_dir, binary;
  std::string workload_template;  // the workload's text when it has ${NAME} variables
  std::string dir_of(const SweepPoint& p) const { return (fs::path(out_dir) / "points" / p.name).string(); }
  bool done(const SweepPoint& p) const {
    return fs::exists(dir_of(p) + "/stats.json") || fs::exists(dir_of(p) + "/failed.txt");
  }
};

// The command line of a point's run.
std::vector<std::string> point_command(const Sweep& s, const SweepPoint& p) {
  const sw::Sweep& m = s.spec.msg;
  std::vector<std::string> args = {s.binary};
  if (!m.trace().empty()) {
    args.insert(args.end(), {"replay", s.spec.resolve(m.trace())});
    if (m.open_loop()) args.push_back("--open-loop");
  } else {
    args.push_back("run");
    if (!s.workload_template.empty()) {
      args.insert(args.end(), {"--workload", s.dir_of(p) + "/workload.textproto"});
    } else if (!m.workload().empty()) {
      args.insert(args.end(), {"--workload", s.spec.resolve(m.workload())});
    }
  }
  if (!m.config().empty()) args.insert(args.end(), {"--config", s.spec.resolve(m.config())});
  for (const std::string& kv : m.set()) {
    if (!is_variable(kv)) args.insert(args.end(), {"--set", kv});
  }
  for (const auto& [k, v] : p.values) {
    if (k == "seed") {
      args.insert(args.end(), {"--seed", v});
    } else if (!is_variable(k)) {
      args.insert(args.end(), {"--set", k + "=" + v});
    }
  }
  args.insert(args.end(), {"--out", s.dir_of(p), "--quiet"});
  return args;
}

// Forks and execs ARGS with stdout and stderr to LOG; the child gets SIGKILL when this
// process dies, so a killed sweep leaves nothing running.
pid_t spawn(std::vector<std::string> args, const std::string& log) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw InputError(std::string("cannot start a process: fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

// Waits for PID; its exit status, or 128 + the signal that ended it.
int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 127;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The local executor: runs the points PENDING (indices into s.points), `jobs` at a time.
void run_local(const Sweep& s, const std::vector<size_t>& pending_in, unsigned jobs, bool progress,
               size_t finished, SweepSummary& sum, std::ostream& err) {
  const std::string log_path = s.out_dir + "/sweep.log";
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw InputError(log_path + ": cannot open: " + std::strerror(errno));
  std::deque<size_t> pending(pending_in.begin(), pending_in.end());
  std::map<pid_t, size_t> running;
  while (!pending.empty() || !running.empty()) {
    while (!pending.empty() && running.size() < jobs) {
      const SweepPoint& p = s.points[pending.front()];
      fs::create_directories(s.dir_of(p));
      if (!s.workload_template.empty()) {
        std::vector<std::pair<std::string, std::string>> values = p.values;
        for (const std::string& kv : s.spec.msg.set()) {
          if (is_variable(kv)) values.emplace_back(kv.substr(0, kv.find('=')), kv.substr(kv.find('=') + 1));
        }
        write_file_atomic(s.dir_of(p) + "/workload.textproto", expand_template(s.workload_template, values));
      }
      running[spawn(point_command(s, p), s.dir_of(p) + "/log.txt")] = pending.front();
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
    const SweepPoint& p = s.points[it->second];
    running.erase(it);
    ++sum.ran;
    const std::string dir = s.dir_of(p);
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
    // One write of a short line to an O_APPEND file: whole even when array tasks share it.
    if (::write(log_fd, line.data(), line.size()) < 0) err << "sweep: cannot append to " << log_path << "\n";
    ++finished;
    if (progress) err << "\rsweep: " << finished << "/" << s.points.size() << " points" << "\x1b[K" << std::flush;
  }
  ::close(log_fd);
  if (progress) err << "\n";
}

std::string shell_quote(const std::string& v) {
  std::string q = "'";
  for (const char c : v) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string absolute(const std::string& p) { return fs::absolute(p).lexically_normal().string(); }

// Runs a command to completion, returning its exit status and what it printed.
int capture(const std::vector<std::string>& args, const std::string& log, std::string* output) {
  const int code = wait_for(spawn(args, log));
  *output = tail_lines(log, 50);
  return code;
}

// The Slurm executor: the pending points in chunks of `chunk`, one array task per chunk,
// each task a `faultline sweep SPEC --points-from CHUNK --no-table` on its node (the local
// executor there, -j jobs), submitted with sbatch and waited for with squeue until no task
// is queued or running. The table is then gathered here from the points' directories, as
// for a local sweep. The executable, spec, inputs and OUT must be on a file system the nodes share.
void run_slurm(const Sweep& s, const SweepOptions& o, const std::vector<size_t>& pending, SweepSummary& sum,
               std::ostream& out, std::ostream& err) {
  const std::string sdir = absolute(s.out_dir + "/slurm");
  fs::create_directories(sdir);
  // A job of an earlier submission still running would run the same points twice.
  const std::string job_file = sdir + "/job.txt";
  if (fs::exists(job_file)) {
    const std::string job = tail_lines(job_file, 1);
    const std::string id = job.substr(0, job.find_first_of(";\n"));
    std::string q;
    const int code = capture({"squeue", "--noheader", "--jobs", id, "--format", "%i %T"}, sdir + "/squeue.log", &q);
    if (code == 0 && !q.empty()) {
      throw InputError(s.out_dir + ": Slurm job " + id + " of an earlier submission of this sweep is still queued or "
                       "running (squeue --jobs " + id + "); wait for it or scancel " + id + ", then run again");
    }
  }
  const size_t chunk = o.chunk != 0 ? o.chunk : std::max<size_t>(1, (pending.size() + 999) / 1000);
  const size_t tasks = (pending.size() + chunk - 1) / chunk;
  for (size_t t = 0; t < tasks; ++t) {
    std::string list;
    for (size_t i = t * chunk; i < std::min(pending.size(), (t + 1) * chunk); ++i) list += s.points[pending[i]].name + "\n";
    write_file_atomic(sdir + "/chunk-" + std::to_string(t) + ".txt", list);
  }
  std::string script = "#!/bin/sh\n# faultline sweep " + absolute(s.spec.path) + ": " + std::to_string(pending.size()) +
                       " points in " + std::to_string(tasks) + " array tasks of up to " + std::to_string(chunk) + "\n";
  script += "#SBATCH --job-name=" + shell_quote("faultline-" + s.name) + "\n";
  script += "#SBATCH --array=0-" + std::to_string(tasks - 1) + "\n";
  script += "#SBATCH --output=" + sdir + "/task-%a.log\n";
  script += "#SBATCH --cpus-per-task=" + std::to_string(o.jobs) + "\n";
  for (const std::string& opt : o.slurm_options) script += "#SBATCH " + opt + "\n";
  script += "exec " + shell_quote(absolute(s.binary)) + " sweep " + shell_quote(absolute(s.spec.path)) + " --out " +
            shell_quote(absolute(s.out_dir)) + " --points-from " + shell_quote(sdir) +
            "/chunk-\"$SLURM_ARRAY_TASK_ID\".txt -j " + std::to_string(o.jobs) + " --no-table";
  if (!o.config.empty()) script += " --config " + shell_quote(absolute(o.config));
  for (const std::string& kv : o.sets) script += " --set " + shell_quote(kv);
  script += "\n";
  const std::string script_path = sdir + "/sweep.sbatch";
  write_file_atomic(script_path, script);
  std::string said;
  const int code = capture({o.sbatch, "--parsable", script_path}, sdir + "/sbatch.log", &said);
  const std::string id = said.substr(0, said.find_first_of(";\n"));
  if (code != 0 || id.empty() || !std::isdigit(static_cast<unsigned char>(id[0]))) {
    throw InputError("sbatch could not submit " + script_path + " (exit " + std::to_string(code) + "): " + said);
  }
  write_file_atomic(job_file, said.substr(0, said.find('\n')) + "\n");
  out << "sweep: Slurm job " << id << ": " << tasks << " array tasks (" << sdir << "/task-N.log)\n" << std::flush;
  // Wait until no task of the job is queued or running. squeue lists only those (a job
  // that has ended is not listed, and once purged its id is "invalid"); a failing squeue
  // (slurmctld busy or restarting) is retried, and after ten failures in a row the sweep
  // stops waiting and gathers what is there.
  int failures = 0;
  unsigned wait_ms = 250;
  for (;;) {
    std::string q;
    const int qc = capture({"squeue", "--noheader", "--jobs", id, "--format", "%i %T"}, sdir + "/squeue.log", &q);
    if (qc == 0 && q.find_first_not_of(" \n") == std::string::npos) break;
    if (qc != 0 && q.find("Invalid job id") != std::string::npos) break;
    if (qc != 0) {
      if (++failures == 10) {
        err << "sweep: squeue failed ten times in a row, last: " << q << "sweep: stopped waiting for job " << id << "\n";
        break;
      }
    } else {
      failures = 0;
    }
    if (o.progress) {
      size_t done = 0;
      for (const SweepPoint& p : s.points) done += s.done(p) ? 1 : 0;
      err << "\rsweep: " << done << "/" << s.points.size() << " points (Slurm job " << id << ")\x1b[K" << std::flush;
    }
    ::usleep(wait_ms * 1000);
    wait_ms = std::min(wait_ms * 2, 5000u);
  }
  if (o.progress) err << "\n";
  for (const size_t i : pending) {
    const SweepPoint& p = s.points[i];
    if (!s.done(p)) continue;
    ++sum.ran;
    if (fs::exists(s.dir_of(p) + "/failed.txt")) ++sum.failed;
  }
}

// Gathers the table: a row per point, whatever state it is in.
void write_table(const Sweep& s, SweepSummary& sum, std::ostream& err) {
  const sw::Sweep& m = s.spec.msg;
  std::vector<std::string> keys;
  if (!s.points.empty()) {
    for (const auto& kv : s.points.front().values) keys.push_back(kv.first);
  }
  std::string t = "point";
  for (const std::string& k : keys) t += "," + csv_field(column_name(k));
  t += ",status";
  for (const std::string& st : m.stat()) t += "," + csv_field(st);
  t += "\n";
  std::map<std::string, size_t> found;
  size_t ok = 0;
  for (const SweepPoint& p : s.points) {
    const std::string dir = s.dir_of(p);
    t += csv_field(p.name);
    for (const auto& kv : p.values) t += "," + csv_field(kv.second);
    nlohmann::json stats;
    std::string status = "missing";
    // A run that stopped with exit 3 (a time limit, the watchdog) still writes its stats:
    // the row has them beside its status.
    if (fs::exists(dir + "/stats.json")) {
      status = "ok";
      try {
        stats = nlohmann::json::parse(read_text_file(dir + "/stats.json", "point's stats"))["stats"];
        ++ok;
      } catch (const nlohmann::json::exception& e) {
        status = std::string("unreadable stats.json: ") + e.what();
      }
    }
    if (fs::exists(dir + "/failed.txt")) {
      ++sum.failed_in_table;
      std::ifstream in(dir + "/failed.txt");
      std::getline(in, status);
    } else if (status == "missing") {
      ++sum.missing;
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
  sum.table = s.out_dir + "/results.csv";
  write_file_atomic(sum.table, t);
  for (const std::string& st : m.stat()) {
    if (found[st] == 0 && ok > 0) {
      err << "sweep: stat '" << st << "' is in no point's stats.json (a histogram's field is KEY:FIELD, e.g. "
          << "fault.latency_ns:p50); its column is empty\n";
    }
  }
}

// --config and --set of the command line: the base config replaced, KEY=VALUEs added to the
// spec's `set` (a swept key cannot be set: that would silently drop its axis).
void apply_overrides(Spec& spec, const SweepOptions& o) {
  if (!o.config.empty()) {
    if (!fs::exists(o.config)) throw InputError("--config " + o.config + ": no such file");
    spec.msg.set_config(absolute(o.config));
  }
  std::map<std::string, int> swept;
  for (const sw::Parameter& p : spec.msg.parameter()) ++swept[p.key()];
  for (const sw::Zip& z : spec.msg.zip()) {
    for (const sw::Parameter& p : z.parameter()) ++swept[p.key()];
  }
  for (const std::string& kv : o.sets) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw InputError("--set '" + kv + "': expected KEY=VALUE");
    const std::string key = kv.substr(0, eq);
    if (swept.count(key) != 0) throw InputError("--set " + key + ": " + spec.path + " sweeps it");
    if (key == "sim.seed" && spec.msg.seed_size() > 0) throw InputError("--set sim.seed: " + spec.path + " sweeps seeds");
    spec.msg.add_set(kv);
  }
}

// OUT/sweep.args: the command line's overrides a sweep directory was made with. A point's
// result depends on them, so a later run into the same directory with others is refused
// instead of mixing points of two different sweeps.
void check_invocation(const Sweep& s, const SweepOptions& o) {
  std::string args = "config=" + s.spec.msg.config() + "\n";
  for (const std::string& kv : o.sets) args += "set=" + kv + "\n";
  const std::string path = s.out_dir + "/sweep.args";
  if (!fs::exists(path)) {
    write_file_atomic(path, args);
    return;
  }
  const std::string before = read_text_file(path, "sweep's arguments");
  if (before != args) {
    throw InputError(s.out_dir + " holds a sweep run with other --config/--set (" + path + ": " + before +
                     "); give another --out, or the same options");
  }
}

}  // namespace

SweepSummary run_sweep(const SweepOptions& opts, std::ostream& out, std::ostream& err) {
  Sweep s{load_spec(opts.spec_path), {}, {}, {}, {}, {}};
  apply_overrides(s.spec, opts);
  s.points = points_of(s.spec);
  if (opts.jobs == 0) throw InputError("-j must be at least 1");
  if (opts.executor != "local" && opts.executor != "slurm") {
    throw InputError("--executor '" + opts.executor + "': expected local or slurm");
  }
  const sw::Sweep& m = s.spec.msg;
  s.name = !m.name().empty() ? m.name() : fs::path(opts.spec_path).stem().string();
  s.out_dir = !opts.out_dir.empty() ? opts.out_dir : "out/sweep/" + s.name;
  SweepSummary sum;
  sum.points = s.points.size();
  sum.out_dir = s.out_dir;
  std::error_code ec;
  fs::create_directories(fs::path(s.out_dir) / "points", ec);
  if (ec) throw InputError(s.out_dir + ": cannot create the sweep's directory: " + ec.message());
  for (const std::string& f : {m.config(), m.workload(), m.trace()}) {
    if (!f.empty() && !fs::exists(s.spec.resolve(f))) throw InputError(opts.spec_path + ": " + s.spec.resolve(f) + " does not exist");
  }
  s.binary = !opts.binary.empty() ? opts.binary : self_exe();
  check_invocation(s, opts);
  bool templated = false;
  for (const auto& kv : s.points.empty() ? std::vector<std::pair<std::string, std::string>>{} : s.points.front().values) {
    templated = templated || is_variable(kv.first);
  }
  for (const std::string& kv : m.set()) templated = templated || is_variable(kv);
  if (templated) s.workload_template = read_text_file(s.spec.resolve(m.workload()), "workload template");

  // The points this invocation is for: all of them, or those a --points-from file names.
  std::vector<size_t> mine;
  if (opts.points_from.empty()) {
    for (size_t i = 0; i < s.points.size(); ++i) mine.push_back(i);
  } else {
    std::map<std::string, size_t> by_name;
    for (size_t i = 0; i < s.points.size(); ++i) by_name[s.points[i].name] = i;
    std::istringstream in(read_text_file(opts.points_from, "list of points"));
    size_t line_no = 0;
    for (std::string l; std::getline(in, l);) {
      ++line_no;
      if (l.empty()) continue;
      const auto it = by_name.find(l);
      if (it == by_name.end()) {
        throw InputError(opts.points_from + ":" + std::to_string(line_no) + ": '" + l + "' is no point of " + opts.spec_path);
      }
      mine.push_back(it->second);
    }
  }
  std::vector<size_t> pending;
  for (const size_t i : mine) {
    if (s.done(s.points[i])) {
      ++sum.already_done;
    } else {
      pending.push_back(i);
    }
  }
  if (opts.executor == "slurm" && !pending.empty()) {
    run_slurm(s, opts, pending, sum, out, err);
  } else {
    run_local(s, pending, opts.jobs, opts.progress, sum.already_done, sum, err);
  }
  if (!opts.table) {
    out << mine.size() << " points (" << sum.ran << " run now, " << sum.already_done << " done before, " << sum.failed
        << " failed)\n";
    return sum;
  }
  write_table(s, sum, err);
  out << sum.table << ": " << s.points.size() << " points (" << sum.ran << " run now, " << sum.already_done
      << " done before, " << sum.failed << " failed";
  if (sum.failed_in_table > sum.failed) out << "; " << sum.failed_in_table << " failed in all";
  if (sum.missing > 0) out << ", " << sum.missing << " not finished";
  out << ")\n";
  if (sum.missing > 0) {
    err << "sweep: " << sum.missing << " points did not finish (their rows say 'missing'); run the same command again "
        << "to run them\n";
  }
  return sum;
}

}  // namespace fl::platform
