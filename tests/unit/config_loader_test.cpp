// Config resolution (sim/core/config_loader.h): --set overrides, config files with errors
// located by file:line, base chains with origins, text-format round trip and digest.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "tests/support/unit_support.h"

#include "sim/core/config_loader.h"
#include "sim/core/errors.h"
#include "sim/core/params.h"

namespace {

using fl::test::input_error;
using fl::test::TempDir;

namespace fs = std::filesystem;


// The message of the fl::InputError `f` throws; fails the test if it throws nothing else.

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

std::string override_error(const std::string& assignment) {
  fl::config::Config cfg;
  return input_error([&] { fl::apply_override(cfg, assignment, nullptr); });
}

std::string resolve_error(const std::string& path) {
  return input_error([&] { fl::resolve_config(path, {}, std::nullopt); });
}

}  // namespace

// ------------------------------------------------------------------ --set overrides

TEST(ConfigOverride, SetsTheValueAndRecordsItsOrigin) {
  fl::config::Config cfg;
  std::map<std::string, std::string> origin;
  fl::apply_override(cfg, "soc.pcie.gen=5", &origin);
  EXPECT_EQ(cfg.soc().pcie().gen(), 5u);
  EXPECT_EQ(origin["soc.pcie.gen"], "--set");
}

TEST(ConfigOverride, ValueMayContainEqualsSign) {
  // Only the first '=' separates key and value; "5=5" is not a number.
  const std::string msg = override_error("soc.pcie.gen=5=5");
  EXPECT_TRUE(contains(msg, "'5=5'")) << msg;
}

TEST(ConfigOverride, UnknownKeyNamesItAndSuggestsTheNearest) {
  const std::string msg = override_error("soc.gpu.utcl2.entires=8");
  EXPECT_TRUE(contains(msg, "'soc.gpu.utcl2.entires'")) << msg;
  EXPECT_TRUE(contains(msg, "did you mean 'soc.gpu.utcl2.entries'")) << msg;
}

TEST(ConfigOverride, KeyWithoutModulePrefixSuggestsTheFullKey) {
  const std::string msg = override_error("utcl2.entries=8");
  EXPECT_TRUE(contains(msg, "did you mean 'soc.gpu.utcl2.entries'")) << msg;
}

TEST(ConfigOverride, GroupKeyIsRejected) {
  const std::string msg = override_error("soc.gpu=1");
  EXPECT_TRUE(contains(msg, "soc.gpu")) << msg;
  EXPECT_TRUE(contains(msg, "group")) << msg;
}

TEST(ConfigOverride, MissingEqualsSignIsRejected) {
  EXPECT_TRUE(contains(override_error("soc.pcie.gen"), "KEY=VALUE"));
  EXPECT_TRUE(contains(override_error("=5"), "KEY=VALUE"));
  EXPECT_TRUE(contains(override_error(""), "KEY=VALUE"));
}

TEST(ConfigOverride, MalformedValueIsRejected) {
  const std::string msg = override_error("soc.pcie.gen=four");
  EXPECT_TRUE(starts_with(msg, "--set soc.pcie.gen=four")) << msg;
  EXPECT_TRUE(contains(msg, "soc.pcie.gen")) << msg;
}

TEST(ConfigOverride, OutOfRangeValueNamesTheRange) {
  const std::string msg = override_error("soc.pcie.gen=7");
  EXPECT_TRUE(contains(msg, "soc.pcie.gen")) << msg;
  EXPECT_TRUE(contains(msg, "[1, 6]")) << msg;
  const std::string msg2 = override_error("soc.gpu.utcl2.entries=0");
  EXPECT_TRUE(contains(msg2, "[1, 1048576]")) << msg2;
}

// ------------------------------------------------------------------ config files

TEST(ConfigFile, BuiltinConfigStatesEveryDefault) {
  const fl::ResolvedConfig rc = fl::resolve_config("", {}, std::nullopt);
  EXPECT_EQ(rc.name(), "mi200-pcie4");
  EXPECT_TRUE(rc.files.empty());
  for (const auto& p : fl::params::all()) {
    EXPECT_TRUE(fl::params::is_set(rc.msg, p)) << p.key;
    EXPECT_EQ(rc.origin.at(p.key), "default") << p.key;
  }
}

TEST(ConfigFile, SetsAndSeedApplyInOrder) {
  const fl::ResolvedConfig rc =
      fl::resolve_config("", {"sim.seed=5", "soc.pcie.lanes=8", "soc.pcie.lanes=4"}, 99);
  EXPECT_EQ(rc.msg.sim().seed(), 99u) << "--seed overrides --set sim.seed";
  EXPECT_EQ(rc.origin.at("sim.seed"), "--seed");
  EXPECT_EQ(rc.msg.soc().pcie().lanes(), 4u) << "the last --set wins";
  EXPECT_EQ(rc.origin.at("soc.pcie.lanes"), "--set");
}

TEST(ConfigFile, ValuesAndOriginsFromAFile) {
  TempDir dir;
  const std::string path = dir.write("plat.textproto",
                                     "name: \"plat\"\n"
                                     "soc {\n"
                                     "  pcie {\n"
                                     "    gen: 5\n"
                                     "  }\n"
                                     "}\n");
  const fl::ResolvedConfig rc = fl::resolve_config(path, {}, std::nullopt);
  EXPECT_EQ(rc.name(), "plat");
  EXPECT_EQ(rc.msg.soc().pcie().gen(), 5u);
  EXPECT_EQ(rc.origin.at("soc.pcie.gen"), path + ":4");
  EXPECT_EQ(rc.origin.at("soc.pcie.lanes"), "default");
  EXPECT_EQ(rc.files, std::vector<std::string>{path});
}

TEST(ConfigFile, NameDefaultsToFileStem) {
  TempDir dir;
  const std::string path = dir.write("my-platform.textproto", "soc { pcie { gen: 3 } }\n");
  EXPECT_EQ(fl::resolve_config(path, {}, std::nullopt).name(), "my-platform");
}

TEST(ConfigFile, SetOverridesTheFile) {
  TempDir dir;
  const std::string path = dir.write("plat.textproto", "soc { pcie { gen: 5 } }\n");
  const fl::ResolvedConfig rc = fl::resolve_config(path, {"soc.pcie.gen=3"}, std::nullopt);
  EXPECT_EQ(rc.msg.soc().pcie().gen(), 3u);
  EXPECT_EQ(rc.origin.at("soc.pcie.gen"), "--set");
}

TEST(ConfigFile, SyntaxErrorNamesFileAndLine) {
  TempDir dir;
  const std::string path = dir.write("bad.textproto",
                                     "# a platform\n"
                                     "soc {\n"
                                     "  pcie {\n"
                                     "    gen: \"four\"\n"
                                     "  }\n"
                                     "}\n");
  const std::string msg = resolve_error(path);
  EXPECT_TRUE(starts_with(msg, path + ":4:")) << msg;
}

TEST(ConfigFile, UnbalancedBraceNamesFileAndLine) {
  TempDir dir;
  const std::string path = dir.write("bad.textproto",
                                     "soc {\n"
                                     "  pcie { gen: 4 }\n"
                                     "  host_link: PCIE }\n"
                                     "}\n");
  const std::string msg = resolve_error(path);
  EXPECT_TRUE(starts_with(msg, path + ":4:")) << msg;
}

TEST(ConfigFile, UnknownFieldNamesFileLineAndSuggests) {
  TempDir dir;
  const std::string path = dir.write("typo.textproto",
                                     "soc {\n"
                                     "  gpu {\n"
                                     "    utcl2 { entires: 8 }\n"
                                     "  }\n"
                                     "}\n");
  const std::string msg = resolve_error(path);
  EXPECT_TRUE(starts_with(msg, path + ":3:")) << msg;
  EXPECT_TRUE(contains(msg, "entires")) << msg;
  EXPECT_TRUE(contains(msg, "did you mean \"entries\"")) << msg;
}

TEST(ConfigFile, OutOfRangeValueNamesFileLineAndRange) {
  TempDir dir;
  const std::string path = dir.write("range.textproto",
                                     "soc {\n"
                                     "  gpu {\n"
                                     "    clock_mhz: 1700\n"
                                     "    utcl2 {\n"
                                     "      ways: 16\n"
                                     "      entries: 0\n"
                                     "    }\n"
                                     "  }\n"
                                     "}\n");
  const std::string msg = resolve_error(path);
  EXPECT_TRUE(starts_with(msg, path + ":6:")) << msg;
  EXPECT_TRUE(contains(msg, "soc.gpu.utcl2.entries")) << msg;
  EXPECT_TRUE(contains(msg, "[1, 1048576]")) << msg;
}

TEST(ConfigFile, MissingFileIsAnInputErrorNamingIt) {
  TempDir dir;
  const std::string path = (dir.path() / "absent.textproto").string();
  const std::string msg = resolve_error(path);
  EXPECT_TRUE(starts_with(msg, path)) << msg;
}

TEST(ConfigFile, ChildExtendsBase) {
  TempDir dir;
  const std::string base = dir.write("common/base.textproto",
                                     "name: \"base\"\n"
                                     "soc {\n"
                                     "  pcie {\n"
                                     "    gen: 3\n"
                                     "    lanes: 8\n"
                                     "  }\n"
                                     "}\n");
  const std::string child = dir.write("child.textproto",
                                      "base: \"common/base.textproto\"\n"
                                      "name: \"child\"\n"
                                      "soc {\n"
                                      "  pcie {\n"
                                      "    gen: 5\n"
                                      "  }\n"
                                      "}\n");
  const fl::ResolvedConfig rc = fl::resolve_config(child, {}, std::nullopt);
  EXPECT_EQ(rc.name(), "child");
  EXPECT_EQ(rc.msg.soc().pcie().gen(), 5u) << "the child's value overrides the base";
  EXPECT_EQ(rc.msg.soc().pcie().lanes(), 8u) << "the base's value is kept";
  EXPECT_EQ(rc.msg.soc().pcie().max_payload_bytes(), 256u) << "the rest are defaults";
  EXPECT_EQ(rc.origin.at("soc.pcie.gen"), child + ":5");
  EXPECT_EQ(rc.origin.at("soc.pcie.lanes"), base + ":5");
  EXPECT_EQ(rc.origin.at("soc.pcie.max_payload_bytes"), "default");
  ASSERT_EQ(rc.files.size(), 2u);
  EXPECT_EQ(rc.files[0], base) << "the root base comes first";
  EXPECT_EQ(rc.files[1], child);
  EXPECT_FALSE(rc.msg.has_base()) << "a resolved config does not name a base";
}

TEST(ConfigFile, ThreeLevelChain) {
  TempDir dir;
  dir.write("a.textproto", "soc { pcie { gen: 1 lanes: 1 max_payload_bytes: 128 } }\n");
  dir.write("b.textproto", "base: \"a.textproto\"\nsoc { pcie { gen: 2 lanes: 2 } }\n");
  const std::string c = dir.write("c.textproto", "base: \"b.textproto\"\nsoc { pcie { gen: 3 } }\n");
  const fl::ResolvedConfig rc = fl::resolve_config(c, {}, std::nullopt);
  EXPECT_EQ(rc.msg.soc().pcie().gen(), 3u);
  EXPECT_EQ(rc.msg.soc().pcie().lanes(), 2u);
  EXPECT_EQ(rc.msg.soc().pcie().max_payload_bytes(), 128u);
  EXPECT_EQ(rc.files.size(), 3u);
}

TEST(ConfigFile, ErrorInBaseNamesTheBaseFile) {
  TempDir dir;
  const std::string base = dir.write("base.textproto", "soc {\n  pcie { lanes: 99 }\n}\n");
  const std::string child = dir.write("child.textproto", "base: \"base.textproto\"\n");
  const std::string msg = resolve_error(child);
  EXPECT_TRUE(starts_with(msg, base + ":2:")) << msg;
  EXPECT_TRUE(contains(msg, "[1, 32]")) << msg;
}

TEST(ConfigFile, BaseCycleIsRejected) {
  TempDir dir;
  dir.write("a.textproto", "base: \"b.textproto\"\n");
  const std::string b = dir.write("b.textproto", "base: \"a.textproto\"\n");
  const std::string msg = resolve_error(b);
  EXPECT_TRUE(contains(msg, "cycle")) << msg;
}

TEST(ConfigFile, SelfBaseIsRejected) {
  TempDir dir;
  const std::string a = dir.write("a.textproto", "base: \"a.textproto\"\n");
  EXPECT_TRUE(contains(resolve_error(a), "cycle"));
}

// ------------------------------------------------------------------ text format and digest

TEST(ConfigText, PlainTextProtoParsesBackToTheSameMessage) {
  const fl::ResolvedConfig rc = fl::resolve_config(
      "",
      {"soc.gpu.clock_mhz=1234.5678901234567", "soc.pcie.latency_ns=0.30000000000000004",
       "soc.host_link=ON_DIE", "soc.gpu.vram.capacity_bytes=1099511627776", "sim.seed=18446744073709551615"},
      std::nullopt);
  const std::string text = fl::to_textproto(rc.msg, fl::Annotate::kNone);
  fl::config::Config parsed;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &parsed)) << text;
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(rc.msg, parsed)) << diff;
}

TEST(ConfigText, AnnotatedTextProtosAlsoParseBack) {
  const fl::ResolvedConfig rc = fl::resolve_config("", {"soc.pcie.gen=5"}, std::nullopt);
  for (fl::Annotate a : {fl::Annotate::kOrigin, fl::Annotate::kSchema}) {
    const std::string text = fl::to_textproto(rc.msg, a, &rc.origin);
    fl::config::Config parsed;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &parsed)) << text;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(rc.msg, parsed));
  }
}

TEST(ConfigText, OriginAnnotationShowsUnitAndOrigin) {
  const fl::ResolvedConfig rc = fl::resolve_config("", {"soc.gpu.clock_mhz=1800"}, std::nullopt);
  const std::string text = fl::to_textproto(rc.msg, fl::Annotate::kOrigin, &rc.origin);
  EXPECT_TRUE(contains(text, "clock_mhz: 1800  # MHz; --set\n")) << text;
  EXPECT_TRUE(contains(text, "lanes: 16  # lanes; default\n")) << text;
}

TEST(ConfigText, ResolvedFileConfigRoundTripsThroughItsText) {
  TempDir dir;
  const std::string path = dir.write("plat.textproto",
                                     "name: \"quote\\\"d \\\\ name\"\n"
                                     "description: \"two\\nlines\"\n"
                                     "soc { gpu { clock_mhz: 1e3 } }\n");
  const fl::ResolvedConfig rc = fl::resolve_config(path, {}, std::nullopt);
  const std::string out = dir.write("out.textproto", fl::to_textproto(rc.msg, fl::Annotate::kNone));
  const fl::ResolvedConfig again = fl::resolve_config(out, {}, std::nullopt);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(rc.msg, again.msg))
      << fl::to_textproto(again.msg, fl::Annotate::kNone);
  EXPECT_EQ(fl::config_digest(rc.msg), fl::config_digest(again.msg));
}

TEST(ConfigText, DigestIsStableAndFormatted) {
  const fl::ResolvedConfig a = fl::resolve_config("", {}, std::nullopt);
  const fl::ResolvedConfig b = fl::resolve_config("", {}, std::nullopt);
  const std::string d = fl::config_digest(a.msg);
  EXPECT_EQ(d, fl::config_digest(b.msg));
  ASSERT_EQ(d.size(), std::string("fnv1a64:").size() + 16) << d;
  EXPECT_TRUE(starts_with(d, "fnv1a64:")) << d;
  EXPECT_EQ(d.find_first_not_of("0123456789abcdef", 8), std::string::npos) << d;
}

TEST(ConfigText, DigestChangesWithAnyValue) {
  const std::string base = fl::config_digest(fl::resolve_config("", {}, std::nullopt).msg);
  for (const char* set : {"soc.pcie.gen=3", "soc.gpu.clock_mhz=1700.5", "sim.seed=2",
                          "driver.irq.filter_timeout_ticks=5001"}) {
    EXPECT_NE(fl::config_digest(fl::resolve_config("", {set}, std::nullopt).msg), base) << set;
  }
}

TEST(ConfigText, DigestIgnoresWhereValuesCameFrom) {
  // A value set to its default gives the same resolved config as leaving it unset.
  EXPECT_EQ(fl::config_digest(fl::resolve_config("", {"soc.pcie.gen=4"}, std::nullopt).msg),
            fl::config_digest(fl::resolve_config("", {}, std::nullopt).msg));
}

TEST(ConfigText, Fnv1a64ReferenceValues) {
  // Test vectors of the FNV-1a 64-bit hash.
  EXPECT_EQ(fl::fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fl::fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fl::fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

// fuzz_config finding (2026-12-07, build-fuzz/findings/config/crash-65d40d41...): a base
// whose file name is longer than NAME_MAX made std::filesystem::exists throw
// filesystem_error instead of the loader's input error.
TEST(ConfigFile, ABaseNameTooLongForTheFileSystemIsAnInputError) {
  const fs::path dir = fs::temp_directory_path() / ("faultline-cfg-long-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "long.textproto").string();
  std::ofstream(path) << "base: \"h200-" << std::string(300, 'x') << ".textproto\"\n";
  const std::string e = resolve_error(path);
  EXPECT_TRUE(contains(e, "cannot open")) << e;
  fs::remove_all(dir);
}
