// Run outputs: files written whole (temporary file + fsync + rename, so a killed run leaves
// either the previous file or the complete new one), and the stats renderings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/stats.h"

namespace fl {

// Throws fl::InputError naming the path if the file cannot be written.
void write_file_atomic(const std::string& path, std::string_view content);

// {"name": number | {"count", "mean", "min", "p50", "p90", "p95", "p99", "max"}}
nlohmann::json stats_to_json(const std::vector<stats::Named>& all);

// gem5 style, one line per value: "name value # description (unit)"; a histogram gives one
// line per field, "name::p50".
std::string stats_to_text(const std::vector<stats::Named>& all);

}  // namespace fl
