// Resolving a run's configuration: built-in defaults, then a config file and the chain of
// `base` files it extends, then `--set key=value` overrides, then the seed. The result
// states every parameter explicitly and remembers where each value came from.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/schema.h"

namespace fl {

struct ResolvedConfig {
  config::Config msg;                         // every parameter set; no `base`
  std::map<std::string, std::string> origin;  // key -> "default", "file:line", "--set", "--seed"
  std::vector<std::string> files;             // config files read, the root base first

  const std::string& name() const { return msg.name(); }
};

// Throws fl::InputError naming the file and line, or the key, of any problem.
ResolvedConfig resolve_config(const std::string& path, const std::vector<std::string>& sets,
                              std::optional<uint64_t> seed);

// Parses one "KEY=VALUE" override into `cfg`, checking key, type and range.
void apply_override(config::Config& cfg, std::string_view assignment,
                    std::map<std::string, std::string>* origin);

enum class Annotate {
  kNone,    // plain text format
  kOrigin,  // each value followed by its unit and where it came from
  kSchema,  // each value preceded by its description, unit, range and source
};
std::string to_textproto(const config::Config& msg, Annotate annotate,
                         const std::map<std::string, std::string>* origin = nullptr);

// "fnv1a64:<16 hex digits>" of the plain text format of a fully resolved config.
std::string config_digest(const config::Config& msg);
uint64_t fnv1a64(std::string_view data);

}  // namespace fl
