// Parameters by reflection on the config schema (sim/core/params.h): every parameter is
// documented and consistent, keys resolve and suggest, values parse strictly and range checks
// name the range.
#include <cstdint>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "tests/support/unit_support.h"

#include "sim/core/errors.h"
#include "sim/core/params.h"
#include "sim/core/schema.h"

namespace {

using fl::test::input_error;
using fl::test::TempDir;

namespace params = fl::params;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

struct SchemaField {
  std::string key;
  const FieldDescriptor* field;
};

// Every scalar field below `d`, found by walking the descriptors independently of params.
void scalar_fields(const Descriptor* d, const std::string& prefix, std::vector<SchemaField>& out) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string key = prefix + "." + f->name();
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      scalar_fields(f->message_type(), key, out);
    } else {
      out.push_back(SchemaField{key, f});
    }
  }
}

// The scalar fields of the soc, driver and sim subtrees of the config root.
std::vector<SchemaField> parameter_fields() {
  std::vector<SchemaField> out;
  const Descriptor* root = fl::config::Config::descriptor();
  for (const char* subtree : {"soc", "driver", "sim"}) {
    const FieldDescriptor* f = root->FindFieldByName(subtree);
    EXPECT_NE(f, nullptr) << subtree;
    if (f != nullptr) scalar_fields(f->message_type(), subtree, out);
  }
  return out;
}


double default_as_double(const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return f->default_value_int32();
    case FieldDescriptor::CPPTYPE_INT64: return static_cast<double>(f->default_value_int64());
    case FieldDescriptor::CPPTYPE_UINT32: return f->default_value_uint32();
    case FieldDescriptor::CPPTYPE_UINT64: return static_cast<double>(f->default_value_uint64());
    case FieldDescriptor::CPPTYPE_DOUBLE: return f->default_value_double();
    case FieldDescriptor::CPPTYPE_FLOAT: return f->default_value_float();
    default: return 0;
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const params::Param& param(const std::string& key) {
  const params::Param* p = params::find(key);
  if (p == nullptr) throw std::runtime_error("no parameter " + key);
  return *p;
}

// The message of the fl::InputError `f` throws; fails the test if it throws nothing else.

// Expects set_from_string to reject `text` for `key` with a message naming where it came
// from, the text and the key.
void expect_rejected(const std::string& key, const std::string& text) {
  fl::config::Config cfg;
  const std::string msg =
      input_error([&] { params::set_from_string(cfg, param(key), text, "--set test"); });
  EXPECT_EQ(msg.rfind("--set test", 0), 0u) << msg;
  EXPECT_NE(msg.find("'" + text + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find(key), std::string::npos) << msg;
}

}  // namespace

TEST(Params, EveryScalarFieldIsADocumentedParameter) {
  const auto fields = parameter_fields();
  ASSERT_GT(fields.size(), 50u);
  for (const SchemaField& sf : fields) {
    SCOPED_TRACE(sf.key);
    ASSERT_TRUE(sf.field->options().HasExtension(fl::config::param)) << "no ParamSpec";
    const auto& spec = sf.field->options().GetExtension(fl::config::param);
    EXPECT_FALSE(spec.unit().empty());
    EXPECT_FALSE(spec.desc().empty());
    EXPECT_FALSE(spec.source().empty());
    EXPECT_TRUE(sf.field->has_default_value()) << "the default must be declared explicitly";
  }
}

TEST(Params, AllListsExactlyTheSchemaParameters) {
  std::vector<std::string> expected, listed;
  for (const SchemaField& sf : parameter_fields()) expected.push_back(sf.key);
  for (const params::Param& p : params::all()) listed.push_back(p.key);
  EXPECT_EQ(listed, expected);
}

TEST(Params, KeysAreUnique) {
  std::set<std::string> seen;
  for (const params::Param& p : params::all()) {
    EXPECT_TRUE(seen.insert(p.key).second) << "duplicate " << p.key;
  }
}

TEST(Params, SourceNamesItsKind) {
  for (const params::Param& p : params::all()) {
    const std::string& s = p.spec().source();
    const bool known = s.rfind("driver:", 0) == 0 || s.rfind("published:", 0) == 0 ||
                       s.rfind("spec:", 0) == 0 || s.rfind("estimate", 0) == 0;
    EXPECT_TRUE(known) << p.key << ": source '" << s << "'";
  }
}

TEST(Params, NumericDefaultsLieWithinTheirRange) {
  for (const SchemaField& sf : parameter_fields()) {
    if (!params::is_numeric(sf.field)) continue;
    const auto& spec = sf.field->options().GetExtension(fl::config::param);
    SCOPED_TRACE(sf.key);
    if (spec.has_min() && spec.has_max()) {
      EXPECT_LE(spec.min(), spec.max());
    }
    const double v = default_as_double(sf.field);
    if (spec.has_min()) {
      EXPECT_GE(v, spec.min());
    }
    if (spec.has_max()) {
      EXPECT_LE(v, spec.max());
    }
  }
}

TEST(Params, DefaultsPassTheirOwnRangeCheck) {
  fl::config::Config cfg;
  params::fill_defaults(cfg);
  for (const params::Param& p : params::all()) {
    const auto err = params::range_error(cfg, p);
    EXPECT_FALSE(err.has_value()) << *err;
  }
}

TEST(Params, UnitSuffixNamingRule) {
  // A value in ns ends in _ns, in cycles in _cycles, in bytes in _bytes (the conventions'
  // rule), and a name with one of these suffixes has that unit.
  for (const params::Param& p : params::all()) {
    const std::string name = p.field()->name();
    const std::string& unit = p.spec().unit();
    for (const std::string u : {"ns", "cycles", "bytes"}) {
      const bool named = ends_with(name, "_" + u);
      if (unit == u) {
        EXPECT_TRUE(named) << p.key << " has unit " << u << " but not the _" << u << " suffix";
      }
      if (named) {
        EXPECT_EQ(unit, u) << p.key << " is named for " << u;
      }
    }
  }
}

TEST(Params, FindResolvesAKey) {
  const params::Param* p = params::find("soc.gpu.utcl2.entries");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->key, "soc.gpu.utcl2.entries");
  EXPECT_EQ(p->field()->name(), "entries");
  EXPECT_EQ(p->module_key(), "soc.gpu.utcl2");
  EXPECT_EQ(p->spec().unit(), "entries");
  ASSERT_EQ(p->path.size(), 4u);  // soc, gpu, utcl2, entries
  EXPECT_EQ(p->path[0]->name(), "soc");
  EXPECT_EQ(params::type_name(*p), "uint32");
  EXPECT_EQ(params::default_string(*p), "4096");
  EXPECT_EQ(params::range_string(*p), "[1, 1048576]");
}

TEST(Params, FindRejectsGroupsAndUnknownKeys) {
  EXPECT_EQ(params::find("soc.gpu"), nullptr);
  EXPECT_EQ(params::find("soc.gpu.utcl2"), nullptr);
  EXPECT_EQ(params::find("soc.gpu.utcl2.entires"), nullptr);
  EXPECT_EQ(params::find("entries"), nullptr);
  EXPECT_EQ(params::find(""), nullptr);
}

TEST(Params, ModulesListEveryGroup) {
  std::set<std::string> keys;
  for (const auto& m : params::modules()) keys.insert(m.key);
  for (const char* k : {"soc", "soc.gpu", "soc.gpu.utcl2", "soc.pcie", "driver", "driver.irq", "sim"}) {
    EXPECT_EQ(keys.count(k), 1u) << k;
  }
  for (const params::Param& p : params::all()) {
    EXPECT_EQ(keys.count(p.module_key()), 1u) << p.key;
  }
}

TEST(Params, SuggestFixesATypo) {
  const auto s = params::suggest("soc.gpu.utcl2.entires");
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.front(), "soc.gpu.utcl2.entries");
}

TEST(Params, SuggestCompletesAKeyWithoutItsModulePrefix) {
  auto s = params::suggest("utcl2.entries");
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.front(), "soc.gpu.utcl2.entries");
  s = params::suggest("pcie.lanes");
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.front(), "soc.pcie.lanes");
}

TEST(Params, SuggestRespectsMax) {
  EXPECT_LE(params::suggest("latency_ns", 2).size(), 2u);
  EXPECT_LE(params::suggest("zzzz", 3).size(), 3u);
}

TEST(Params, EditDistance) {
  EXPECT_EQ(params::edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(params::edit_distance("", "abc"), 3u);
  EXPECT_EQ(params::edit_distance("abc", "abc"), 0u);
  EXPECT_EQ(params::nearest("wayz", {"entries", "ways", "mshrs"}), "ways");
}

TEST(Params, SetFromStringParsesUint32) {
  fl::config::Config cfg;
  params::set_from_string(cfg, param("soc.gpu.utcl2.entries"), "2048", "test");
  EXPECT_EQ(cfg.soc().gpu().utcl2().entries(), 2048u);
  params::set_from_string(cfg, param("soc.gpu.utcl2.entries"), "0x1000", "test");
  EXPECT_EQ(cfg.soc().gpu().utcl2().entries(), 4096u);
  params::set_from_string(cfg, param("driver.irq.filter_timeout_ticks"), "4294967295", "test");
  EXPECT_EQ(cfg.driver().irq().filter_timeout_ticks(), 4294967295u);
  EXPECT_TRUE(params::is_set(cfg, param("soc.gpu.utcl2.entries")));
  EXPECT_EQ(params::value_string(cfg, param("soc.gpu.utcl2.entries")), "4096");
}

TEST(Params, SetFromStringParsesUint64) {
  fl::config::Config cfg;
  params::set_from_string(cfg, param("soc.gpu.vram.capacity_bytes"), "1099511627776", "test");
  EXPECT_EQ(cfg.soc().gpu().vram().capacity_bytes(), 1ULL << 40);
  params::set_from_string(cfg, param("sim.seed"), "18446744073709551615", "test");
  EXPECT_EQ(cfg.sim().seed(), UINT64_MAX);
}

TEST(Params, SetFromStringParsesDouble) {
  fl::config::Config cfg;
  params::set_from_string(cfg, param("soc.gpu.clock_mhz"), "1.5e3", "test");
  EXPECT_EQ(cfg.soc().gpu().clock_mhz(), 1500.0);
  params::set_from_string(cfg, param("soc.pcie.latency_ns"), "0.25", "test");
  EXPECT_EQ(cfg.soc().pcie().latency_ns(), 0.25);
  params::set_from_string(cfg, param("soc.pcie.latency_ns"), "7", "test");
  EXPECT_EQ(cfg.soc().pcie().latency_ns(), 7.0);
}

TEST(Params, SetFromStringParsesEnumByName) {
  fl::config::Config cfg;
  params::set_from_string(cfg, param("soc.host_link"), "ON_DIE", "test");
  EXPECT_EQ(cfg.soc().host_link(), fl::config::Soc::ON_DIE);
  EXPECT_EQ(params::value_string(cfg, param("soc.host_link")), "ON_DIE");
  EXPECT_EQ(params::type_name(param("soc.host_link")), "enum {PCIE, ON_DIE}");
  EXPECT_EQ(params::range_string(param("soc.host_link")), "");
}

TEST(Params, SetFromStringRejectsMalformedUnsignedIntegers) {
  for (const char* text : {"abc", "-1", "1.5", "", " 5", "5 ", "4294967296", "1e3", "0x", "+5", "12abc"}) {
    SCOPED_TRACE(text);
    expect_rejected("soc.gpu.utcl2.entries", text);
  }
  for (const char* text : {"-1", "18446744073709551616", "1.0"}) {
    SCOPED_TRACE(text);
    expect_rejected("soc.gpu.vram.capacity_bytes", text);
  }
}

TEST(Params, SetFromStringRejectsMalformedDoubles) {
  for (const char* text : {"abc", "", "1.5.2", "12ns", "nan", "inf", "-inf", "1e999"}) {
    SCOPED_TRACE(text);
    expect_rejected("soc.gpu.clock_mhz", text);
  }
}

TEST(Params, SetFromStringRejectsUnknownEnumNames) {
  for (const char* text : {"PCI", "pcie", "0", "", "ON-DIE"}) {
    SCOPED_TRACE(text);
    expect_rejected("soc.host_link", text);
  }
}

TEST(Params, EnumErrorListsValuesAndSuggestsTheNearest) {
  fl::config::Config cfg;
  const std::string msg =
      input_error([&] { params::set_from_string(cfg, param("soc.host_link"), "ON_DIEE", "x"); });
  EXPECT_NE(msg.find("PCIE"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean ON_DIE"), std::string::npos) << msg;
}

TEST(Params, RejectedValueLeavesTheFieldUnset) {
  fl::config::Config cfg;
  input_error([&] { params::set_from_string(cfg, param("soc.gpu.utcl2.entries"), "abc", "x"); });
  EXPECT_FALSE(params::is_set(cfg, param("soc.gpu.utcl2.entries")));
}

TEST(Params, RangeErrorDetectsValuesBelowAndAboveTheRange) {
  const params::Param& p = param("soc.gpu.utcl2.entries");
  fl::config::Config cfg;
  cfg.mutable_soc()->mutable_gpu()->mutable_utcl2()->set_entries(0);
  auto err = params::range_error(cfg, p);
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->find("soc.gpu.utcl2.entries = 0"), std::string::npos) << *err;
  EXPECT_NE(err->find("[1, 1048576]"), std::string::npos) << *err;
  cfg.mutable_soc()->mutable_gpu()->mutable_utcl2()->set_entries(1048577);
  err = params::range_error(cfg, p);
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->find("[1, 1048576]"), std::string::npos) << *err;
}

TEST(Params, RangeErrorAcceptsTheBoundsThemselves) {
  const params::Param& p = param("soc.gpu.utcl2.entries");
  fl::config::Config cfg;
  cfg.mutable_soc()->mutable_gpu()->mutable_utcl2()->set_entries(1);
  EXPECT_FALSE(params::range_error(cfg, p).has_value());
  cfg.mutable_soc()->mutable_gpu()->mutable_utcl2()->set_entries(1048576);
  EXPECT_FALSE(params::range_error(cfg, p).has_value());
}

TEST(Params, RangeErrorOfADoubleNamesFractionalRangeAndUnit) {
  const params::Param& p = param("soc.gpu.vram.bandwidth_gb_per_s");
  fl::config::Config cfg;
  cfg.mutable_soc()->mutable_gpu()->mutable_vram()->set_bandwidth_gb_per_s(0.0005);
  const auto err = params::range_error(cfg, p);
  ASSERT_TRUE(err.has_value());
  // Bounds print as the shortest text that reads back exactly ("1e+05" for 100000).
  const std::string range = params::range_string(p);
  EXPECT_EQ(range.rfind("[0.001, ", 0), 0u) << range;
  EXPECT_EQ(std::stod(range.substr(8)), 100000.0) << range;
  EXPECT_NE(err->find("valid range is " + range + " GB/s"), std::string::npos) << *err;
}

TEST(Params, RangeErrorIgnoresUnsetParameters) {
  fl::config::Config cfg;
  for (const params::Param& p : params::all()) EXPECT_FALSE(params::range_error(cfg, p).has_value()) << p.key;
}

TEST(Params, FillDefaultsSetsEveryParameterToItsDefault) {
  fl::config::Config cfg;
  params::fill_defaults(cfg);
  for (const params::Param& p : params::all()) {
    EXPECT_TRUE(params::is_set(cfg, p)) << p.key;
    EXPECT_EQ(params::value_string(cfg, p), params::default_string(p)) << p.key;
  }
}

TEST(Params, FillDefaultsKeepsValuesAlreadySet) {
  fl::config::Config cfg;
  cfg.mutable_soc()->mutable_pcie()->set_gen(5);
  params::fill_defaults(cfg);
  EXPECT_EQ(cfg.soc().pcie().gen(), 5u);
  EXPECT_EQ(cfg.soc().pcie().lanes(), 16u);
}

TEST(Params, ValueStringOfUnsetParameterIsTheDefault) {
  fl::config::Config cfg;
  EXPECT_EQ(params::value_string(cfg, param("soc.gpu.clock_mhz")), "1700");
  EXPECT_FALSE(params::is_set(cfg, param("soc.gpu.clock_mhz")));
}
