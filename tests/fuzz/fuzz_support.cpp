#include "tests/fuzz/fuzz_support.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace fs = std::filesystem;

// libsystemc.so references sc_main from its own main(); libFuzzer's main runs instead, so
// this one is never called.
extern "C" int sc_main(int, char*[]) { return 0; }

namespace fl::fuzz {

const std::string& scratch_dir() {
  static const std::string dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "faultline-fuzz-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    for (const auto& e : fs::directory_iterator(fs::path(FAULTLINE_SOURCE_DIR) / "configs")) {
      if (e.path().extension() == ".textproto") fs::copy_file(e.path(), fs::path(tmpl) / e.path().filename());
    }
    return tmpl;
  }();
  return dir;
}

std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace fl::fuzz
