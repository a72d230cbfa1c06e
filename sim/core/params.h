// Parameters by reflection on the config schema (configs/schema/config.proto).
//
// A parameter is a scalar field carrying the (faultline.config.param) option; its key is
// the dotted path of field names from the Config root ("soc.gpu.utcl2.entries"). Nothing
// here knows any particular parameter: listings, docs, --set and range checks all come
// from the declarations.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "sim/core/schema.h"

namespace fl::params {

struct Param {
  std::string key;
  // Fields from the root to the parameter itself.
  std::vector<const google::protobuf::FieldDescriptor*> path;

  const google::protobuf::FieldDescriptor* field() const { return path.back(); }
  const config::ParamSpec& spec() const;
  // The module key the parameter belongs to ("soc.gpu.utcl2").
  std::string module_key() const;
};

// Every parameter of the schema, in declaration order.
const std::vector<Param>& all();
const Param* find(std::string_view key);

// Keys of every message that groups parameters ("soc", "soc.gpu", ...), with its
// descriptor, in declaration order.
struct Module {
  std::string key;
  const google::protobuf::Descriptor* type;
  std::string doc;
};
const std::vector<Module>& modules();

// The parameter keys nearest to an unknown `key`, best first (at most `max`).
std::vector<std::string> suggest(std::string_view key, size_t max = 3);

// Whether a field holds a number (integer or floating point).
bool is_numeric(const google::protobuf::FieldDescriptor* f);

// "uint32", "double", "bool", "enum {PCIE, ON_DIE}".
std::string type_name(const Param& p);
// "[1, 1048576]", "[0, inf)" or "" for enums and booleans.
std::string range_string(const Param& p);
std::string default_string(const Param& p);
// The value in `root`: the one set, else the default.
std::string value_string(const google::protobuf::Message& root, const Param& p);
// The value of scalar field `f` in the message holding it.
std::string field_value_string(const google::protobuf::Message& holder,
                               const google::protobuf::FieldDescriptor* f);
bool is_set(const google::protobuf::Message& root, const Param& p);

// Parses `text` as the parameter's type and sets it in `root`. On a malformed value,
// throws fl::InputError whose message starts with `context` (where the value came from).
void set_from_string(google::protobuf::Message& root, const Param& p, std::string_view text,
                     const std::string& context);

// An error message if the value in `root` lies outside the parameter's range.
std::optional<std::string> range_error(const google::protobuf::Message& root, const Param& p);

// Sets every unset parameter to its default, so the message states every value.
void fill_defaults(google::protobuf::Message& root);

// Edit distance (Levenshtein), for suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// The candidate nearest to `word` (empty if none).
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace fl::params
