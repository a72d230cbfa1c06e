#include "harness.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include <google/protobuf/text_format.h>

namespace fl::test {

namespace fs = std::filesystem;

namespace {
std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}
}  // namespace

double RunResult::num(const std::string& key) const {
  if (!stats.contains(key)) throw std::runtime_error("no stat " + key);
  return stats.at(key).get<double>();
}

double RunResult::hist(const std::string& key, const char* field) const {
  if (!stats.contains(key)) throw std::runtime_error("no stat " + key);
  return stats.at(key).at(field).get<double>();
}

std::string temp_dir(const std::string& tag) {
  static std::atomic<int> n{0};
  const fs::path p = fs::temp_directory_path() /
                     ("faultline-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string write_file(const std::string& dir, const std::string& name, const std::string& content) {
  const std::string path = (fs::path(dir) / name).string();
  std::ofstream(path) << content;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunResult run_faultline(const std::vector<std::string>& args, const std::string& out_dir) {
  RunResult r;
  const std::string io = temp_dir("io");
  std::string cmd = quote(FAULTLINE_BIN);
  for (const auto& a : args) cmd += " " + quote(a);
  if (!out_dir.empty()) cmd += " --out " + quote(out_dir);
  cmd += " > " + quote(io + "/stdout") + " 2> " + quote(io + "/stderr");
  const int raw = std::system(cmd.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + (WIFSIGNALED(raw) ? WTERMSIG(raw) : 0);
  r.out = read_file(io + "/stdout");
  r.err = read_file(io + "/stderr");
  fs::remove_all(io);
  r.dir = out_dir;
  if (!out_dir.empty() && fs::exists(fs::path(out_dir) / "stats.json")) {
    const auto doc = nlohmann::json::parse(read_file((fs::path(out_dir) / "stats.json").string()));
    r.stats = doc.at("stats");
    r.meta = doc.at("meta");
    google::protobuf::TextFormat::ParseFromString(
        read_file((fs::path(out_dir) / "config.resolved.textproto").string()), &r.config);
  }
  return r;
}

std::string workload(const std::string& dir, const std::string& ops) {
  return write_file(dir, "workload.textproto", "name: \"test\"\n" + ops);
}

}  // namespace fl::test
