// What was built: version, git commit and build type (generated at build time).
#pragma once

namespace fl::build {

const char* version();     // project version, e.g. "0.1.0"
const char* git_hash();    // commit the binary was built from, "-dirty" if modified, or "unknown"
const char* build_type();  // CMake build type, plus "+asan+ubsan" for sanitizer builds

}  // namespace fl::build
