#include "sim/core/output.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <iomanip>
#include <sstream>
#include <unistd.h>

#include "sim/core/errors.h"
#include "sim/core/format.h"

namespace fl {

void write_file_atomic(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const auto fail = [&](const char* what) {
    const std::string reason = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw InputError(path + ": cannot " + what + ": " + reason);
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("create file");
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      fail("write file");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("sync file");
  }
  if (::close(fd) != 0) fail("close file");
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename temporary file into place");
}

namespace {

nlohmann::json number(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

struct HistField {
  const char* name;
  double (*get)(const stats::Histogram&);
};
const HistField kHistFields[] = {
    {"count", [](const stats::Histogram& h) { return static_cast<double>(h.count()); }},
    {"mean", [](const stats::Histogram& h) { return h.mean(); }},
    {"min", [](const stats::Histogram& h) { return h.min(); }},
    {"p50", [](const stats::Histogram& h) { return h.percentile(50); }},
    {"p90", [](const stats::Histogram& h) { return h.percentile(90); }},
    {"p95", [](const stats::Histogram& h) { return h.percentile(95); }},
    {"p99", [](const stats::Histogram& h) { return h.percentile(99); }},
    {"max", [](const stats::Histogram& h) { return h.max(); }},
};

}  // namespace

nlohmann::json stats_to_json(const std::vector<stats::Named>& all) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& n : all) {
    switch (n.stat->kind()) {
      case stats::Stat::Kind::kCounter:
        out[n.name] = static_cast<const stats::Counter*>(n.stat)->value();
        break;
      case stats::Stat::Kind::kValue:
        out[n.name] = number(static_cast<const stats::Value*>(n.stat)->value());
        break;
      case stats::Stat::Kind::kFormula:
        out[n.name] = number(static_cast<const stats::Formula*>(n.stat)->value());
        break;
      case stats::Stat::Kind::kHistogram: {
        const auto& h = *static_cast<const stats::Histogram*>(n.stat);
        nlohmann::json obj = nlohmann::json::object();
        for (const auto& f : kHistFields) {
          if (std::strcmp(f.name, "count") == 0) {
            obj[f.name] = h.count();
          } else {
            obj[f.name] = number(f.get(h));
          }
        }
        out[n.name] = obj;
        break;
      }
    }
  }
  return out;
}

std::string stats_to_text(const std::vector<stats::Named>& all) {
  std::ostringstream os;
  const auto line = [&](const std::string& name, const std::string& value, const std::string& desc,
                        const std::string& unit) {
    os << std::left << std::setw(56) << name << " " << std::setw(16) << value << " # " << desc
       << " (" << unit << ")\n";
  };
  for (const auto& n : all) {
    const stats::Stat& s = *n.stat;
    switch (s.kind()) {
      case stats::Stat::Kind::kCounter:
        line(n.name, std::to_string(static_cast<const stats::Counter&>(s).value()), s.desc(), s.unit());
        break;
      case stats::Stat::Kind::kValue:
        line(n.name, format_number(static_cast<const stats::Value&>(s).value()), s.desc(), s.unit());
        break;
      case stats::Stat::Kind::kFormula:
        line(n.name, format_number(static_cast<const stats::Formula&>(s).value()), s.desc(), s.unit());
        break;
      case stats::Stat::Kind::kHistogram: {
        const auto& h = static_cast<const stats::Histogram&>(s);
        for (const auto& f : kHistFields) {
          const bool is_count = std::strcmp(f.name, "count") == 0;
          line(n.name + "::" + f.name,
               is_count ? std::to_string(h.count()) : format_number(f.get(h)),
               s.desc() + " [" + f.name + "]", is_count ? "count" : s.unit());
        }
        break;
      }
    }
  }
  return os.str();
}

}  // namespace fl
