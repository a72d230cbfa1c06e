// Shared by the fuzz targets: a scratch directory holding the shipped configs (so that a
// fuzzed config's `base:` can name them) and a file writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fl::fuzz {

// A directory made once per process, holding copies of configs/*.textproto.
const std::string& scratch_dir();
// Writes `size` bytes to `scratch_dir()/name` and returns the path.
std::string write_input(const std::string& name, const uint8_t* data, size_t size);

}  // namespace fl::fuzz
