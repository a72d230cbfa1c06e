#include "sim/core/params.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "sim/core/errors.h"
#include "sim/core/format.h"

namespace fl::params {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

const config::ParamSpec& Param::spec() const {
  return field()->options().GetExtension(config::param);
}

std::string Param::module_key() const {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? std::string() : key.substr(0, dot);
}

namespace {

struct Schema {
  std::vector<Param> params;
  std::vector<Module> modules;
};

void walk(const Descriptor* d, const std::string& prefix,
          std::vector<const FieldDescriptor*>& path, Schema& s) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string key = prefix.empty() ? f->name() : prefix + "." + f->name();
    path.push_back(f);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      const Descriptor* t = f->message_type();
      s.modules.push_back(Module{key, t, t->options().GetExtension(config::module_doc)});
      walk(t, key, path, s);
    } else if (f->options().HasExtension(config::param)) {
      s.params.push_back(Param{key, path});
    }
    path.pop_back();
  }
}

const Schema& schema() {
  static const Schema s = [] {
    Schema out;
    std::vector<const FieldDescriptor*> path;
    walk(config::Config::descriptor(), "", path, out);
    return out;
  }();
  return s;
}

// The message holding parameter `p` inside `root`, created if `create`.
const Message* holder(const Message& root, const Param& p) {
  const Message* m = &root;
  for (size_t i = 0; i + 1 < p.path.size(); ++i) {
    const Reflection* r = m->GetReflection();
    if (!r->HasField(*m, p.path[i])) return nullptr;
    m = &r->GetMessage(*m, p.path[i]);
  }
  return m;
}

Message* mutable_holder(Message& root, const Param& p) {
  Message* m = &root;
  for (size_t i = 0; i + 1 < p.path.size(); ++i) {
    m = m->GetReflection()->MutableMessage(m, p.path[i]);
  }
  return m;
}

std::string enum_values(const FieldDescriptor* f) {
  std::string out;
  const auto* e = f->enum_type();
  for (int i = 0; i < e->value_count(); ++i) {
    if (i) out += ", ";
    out += e->value(i)->name();
  }
  return out;
}

double numeric_value(const Message& m, const FieldDescriptor* f) {
  const Reflection* r = m.GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return r->GetInt32(m, f);
    case FieldDescriptor::CPPTYPE_INT64: return static_cast<double>(r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32: return r->GetUInt32(m, f);
    case FieldDescriptor::CPPTYPE_UINT64: return static_cast<double>(r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE: return r->GetDouble(m, f);
    case FieldDescriptor::CPPTYPE_FLOAT: return r->GetFloat(m, f);
    default: return 0;
  }
}

template <class T>
bool parse_integer(std::string_view text, T& out) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  if (text.empty()) return false;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

bool parse_double(std::string_view text, double& out) {
  if (text.empty()) return false;
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  out = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size() && std::isfinite(out);
}

}  // namespace

bool is_numeric(const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: return true;
    default: return false;
  }
}

const std::vector<Param>& all() { return schema().params; }
const std::vector<Module>& modules() { return schema().modules; }

const Param* find(std::string_view key) {
  for (const Param& p : all()) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::vector<std::string> suggest(std::string_view key, size_t max) {
  const auto last = [](std::string_view k) {
    const auto dot = k.rfind('.');
    return dot == std::string_view::npos ? k : k.substr(dot + 1);
  };
  struct Scored {
    size_t score;
    size_t order;
    const std::string* key;
  };
  std::vector<Scored> scored;
  const std::string dotted = "." + std::string(key);
  for (size_t i = 0; i < all().size(); ++i) {
    const std::string& k = all()[i].key;
    size_t s;
    if (k.size() > dotted.size() && k.compare(k.size() - dotted.size(), dotted.size(), dotted) == 0) {
      s = 0;  // the key without its module prefix
    } else {
      // Whole-key distance, or the leaf's distance plus a penalty for a different module.
      const size_t whole = edit_distance(key, k);
      const size_t leaf = edit_distance(last(key), last(k)) + 1 +
                          edit_distance(key.substr(0, key.size() - last(key).size()),
                                        std::string_view(k).substr(0, k.size() - last(k).size())) / 2;
      s = std::min(whole, leaf) + 1;
    }
    scored.push_back(Scored{s, i, &k});
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const Scored& a, const Scored& b) { return a.score < b.score; });
  std::vector<std::string> out;
  for (const auto& s : scored) {
    if (out.size() >= max) break;
    // Keep only suggestions about as good as the best one.
    if (!out.empty() && s.score > scored.front().score + 2) break;
    out.push_back(*s.key);
  }
  return out;
}

std::string type_name(const Param& p) {
  const FieldDescriptor* f = p.field();
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) return "enum {" + enum_values(f) + "}";
  return f->type_name();
}

std::string range_string(const Param& p) {
  if (!is_numeric(p.field())) return "";
  const auto& s = p.spec();
  const std::string lo = s.has_min() ? format_number(s.min()) : "-inf";
  const std::string hi = s.has_max() ? format_number(s.max()) : "inf";
  return "[" + lo + ", " + hi + (s.has_max() ? "]" : ")");
}

std::string default_string(const Param& p) {
  const FieldDescriptor* f = p.field();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return std::to_string(f->default_value_int32());
    case FieldDescriptor::CPPTYPE_INT64: return std::to_string(f->default_value_int64());
    case FieldDescriptor::CPPTYPE_UINT32: return std::to_string(f->default_value_uint32());
    case FieldDescriptor::CPPTYPE_UINT64: return std::to_string(f->default_value_uint64());
    case FieldDescriptor::CPPTYPE_DOUBLE: return format_number(f->default_value_double());
    case FieldDescriptor::CPPTYPE_FLOAT: return format_number(f->default_value_float());
    case FieldDescriptor::CPPTYPE_BOOL: return f->default_value_bool() ? "true" : "false";
    case FieldDescriptor::CPPTYPE_ENUM: return f->default_value_enum()->name();
    case FieldDescriptor::CPPTYPE_STRING: return "\"" + f->default_value_string() + "\"";
    default: return "";
  }
}

bool is_set(const Message& root, const Param& p) {
  const Message* m = holder(root, p);
  return m != nullptr && m->GetReflection()->HasField(*m, p.field());
}

std::string field_value_string(const Message& m, const FieldDescriptor* f) {
  const Reflection* r = m.GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return std::to_string(r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64: return std::to_string(r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32: return std::to_string(r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64: return std::to_string(r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE: return format_number(r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT: return format_number(r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_BOOL: return r->GetBool(m, f) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_ENUM: return r->GetEnum(m, f)->name();
    case FieldDescriptor::CPPTYPE_STRING: return "\"" + r->GetString(m, f) + "\"";
    default: return "";
  }
}

std::string value_string(const Message& root, const Param& p) {
  const Message* m = holder(root, p);
  return m == nullptr ? default_string(p) : field_value_string(*m, p.field());
}

void set_from_string(Message& root, const Param& p, std::string_view text,
                     const std::string& context) {
  Message* m = mutable_holder(root, p);
  const Reflection* r = m->GetReflection();
  const FieldDescriptor* f = p.field();
  const auto bad = [&](const std::string& expected) {
    throw InputError(context + ": '" + std::string(text) + "' is not a valid value for " +
                     p.key + ": expected " + expected);
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!parse_integer(text, v)) bad("an integer (int32)");
      r->SetInt32(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!parse_integer(text, v)) bad("an integer (int64)");
      r->SetInt64(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!parse_integer(text, v)) bad("a non-negative integer (uint32)");
      r->SetUInt32(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!parse_integer(text, v)) bad("a non-negative integer (uint64)");
      r->SetUInt64(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      if (!parse_double(text, v)) bad("a number");
      r->SetDouble(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!parse_double(text, v)) bad("a number");
      r->SetFloat(m, f, static_cast<float>(v));
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      if (text == "true" || text == "1") {
        r->SetBool(m, f, true);
      } else if (text == "false" || text == "0") {
        r->SetBool(m, f, false);
      } else {
        bad("true or false");
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* v = f->enum_type()->FindValueByName(std::string(text));
      if (v == nullptr) {
        std::vector<std::string> names;
        for (int i = 0; i < f->enum_type()->value_count(); ++i) {
          names.push_back(f->enum_type()->value(i)->name());
        }
        bad("one of " + enum_values(f) + " (did you mean " + nearest(text, names) + "?)");
      }
      r->SetEnum(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING:
      r->SetString(m, f, std::string(text));
      break;
    default:
      bad("a scalar");
  }
}

std::optional<std::string> range_error(const Message& root, const Param& p) {
  if (!is_numeric(p.field())) return std::nullopt;
  const Message* m = holder(root, p);
  if (m == nullptr) return std::nullopt;
  const double v = numeric_value(*m, p.field());
  const auto& s = p.spec();
  if ((s.has_min() && v < s.min()) || (s.has_max() && v > s.max())) {
    std::string unit = s.unit().empty() ? "" : " " + s.unit();
    return p.key + " = " + value_string(root, p) + " is out of range: valid range is " +
           range_string(p) + unit;
  }
  return std::nullopt;
}

void fill_defaults(Message& root) {
  for (const Param& p : all()) {
    if (is_set(root, p)) continue;
    Message* m = mutable_holder(root, p);
    const Reflection* r = m->GetReflection();
    const FieldDescriptor* f = p.field();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: r->SetInt32(m, f, f->default_value_int32()); break;
      case FieldDescriptor::CPPTYPE_INT64: r->SetInt64(m, f, f->default_value_int64()); break;
      case FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(m, f, f->default_value_uint32()); break;
      case FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(m, f, f->default_value_uint64()); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: r->SetDouble(m, f, f->default_value_double()); break;
      case FieldDescriptor::CPPTYPE_FLOAT: r->SetFloat(m, f, f->default_value_float()); break;
      case FieldDescriptor::CPPTYPE_BOOL: r->SetBool(m, f, f->default_value_bool()); break;
      case FieldDescriptor::CPPTYPE_ENUM: r->SetEnum(m, f, f->default_value_enum()); break;
      case FieldDescriptor::CPPTYPE_STRING: r->SetString(m, f, f->default_value_string()); break;
      default: break;
    }
  }
}

}  // namespace fl::params
