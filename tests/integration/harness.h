// Running the faultline executable from tests and reading what it wrote.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/schema.h"

namespace fl::test {

struct RunResult {
  int status = -1;            // exit status
  std::string out;            // stdout
  std::string err;            // stderr
  std::string dir;            // --out directory (empty if none)
  nlohmann::json stats;       // stats.json "stats" object
  nlohmann::json meta;        // stats.json "meta" object
  config::Config config;      // config.resolved.textproto

  double num(const std::string& key) const;                 // a counter or value
  double hist(const std::string& key, const char* field) const;  // a histogram field
  bool has(const std::string& key) const { return stats.contains(key); }
};

// A fresh empty directory under the system temp directory.
std::string temp_dir(const std::string& tag);
// Writes `content` to `dir`/`name` and returns the path.
std::string write_file(const std::string& dir, const std::string& name, const std::string& content);
std::string read_file(const std::string& path);

// Runs `faultline args...`. With `out_dir` non-empty, adds --out and loads the outputs.
RunResult run_faultline(const std::vector<std::string>& args, const std::string& out_dir = "");

// A workload file in `dir` with the given operations (protobuf text, `op { ... }` lines).
std::string workload(const std::string& dir, const std::string& ops);

}  // namespace fl::test
