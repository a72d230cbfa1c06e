// The documents generated from the schema are in sync with it: docs/config.md and the
// annotated default config configs/mi200-pcie4.textproto (sim/core/params_doc.h).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "sim/core/params.h"
#include "sim/core/params_doc.h"
#include "sim/core/schema.h"

namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// 1-based line number and text of the first line where `a` and `b` differ.
std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(sa, la));
    const bool more_b = static_cast<bool>(std::getline(sb, lb));
    if (!more_a && !more_b) return "only in line endings or trailing newline";
    if (!more_a) la = "<end of file>";
    if (!more_b) lb = "<end of file>";
    if (!more_a || !more_b || la != lb) {
      return "line " + std::to_string(line) + ":\n  file:      " + la + "\n  generated: " + lb;
    }
  }
}

// Checks that the file at `rel` (relative to the source root) equals `generated`.
void expect_in_sync(const std::string& rel, const std::string& generated,
                    const std::string& regen) {
  const fs::path path = fs::path(FAULTLINE_SOURCE_DIR) / rel;
  const std::string how = "regenerate it from the source root with: " + regen +
                          " (or scripts/regen-docs.sh)";
  if (!fs::exists(path)) {
    ADD_FAILURE() << rel << " is missing; " << how;
    return;
  }
  const std::string content = read_file(path);
  if (content != generated) {
    ADD_FAILURE() << rel << " is out of date with configs/schema/config.proto; " << how
                  << "\nfirst difference at " << first_difference(content, generated);
  }
}

}  // namespace

TEST(GeneratedDocs, ConfigMarkdownMatchesSchema) {
  expect_in_sync("docs/config.md", fl::render_params(fl::ParamsFormat::kMarkdown),
                 "faultline params --format markdown > docs/config.md");
}

TEST(GeneratedDocs, DefaultConfigTextprotoMatchesSchema) {
  expect_in_sync("configs/mi200-pcie4.textproto", fl::render_params(fl::ParamsFormat::kTextproto),
                 "faultline params --format textproto > configs/mi200-pcie4.textproto");
}

TEST(GeneratedDocs, DefaultConfigTextprotoParsesToTheSchemaDefaults) {
  fl::config::Config parsed;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      fl::render_params(fl::ParamsFormat::kTextproto), &parsed));
  EXPECT_EQ(parsed.name(), "mi200-pcie4");
  fl::config::Config defaults;
  fl::params::fill_defaults(defaults);
  parsed.clear_name();
  parsed.clear_description();
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(defaults, parsed)) << diff;
}

TEST(GeneratedDocs, MarkdownListsEveryParameterOnce) {
  const std::string md = fl::render_params(fl::ParamsFormat::kMarkdown);
  for (const auto& p : fl::params::all()) {
    const std::string cell = "| `" + p.key + "` |";
    const auto first = md.find(cell);
    EXPECT_NE(first, std::string::npos) << p.key;
    if (first != std::string::npos) {
      EXPECT_EQ(md.find(cell, first + 1), std::string::npos) << p.key;
    }
  }
}
