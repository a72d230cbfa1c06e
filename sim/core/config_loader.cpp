#include "sim/core/config_loader.h"

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include <google/protobuf/text_format.h>

#include "sim/core/errors.h"
#include "sim/core/params.h"
#include "sim/core/textproto.h"

namespace fl {

namespace fs = std::filesystem;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::TextFormat;

namespace {

constexpr const char* kBuiltinName = "mi200-pcie4";

// Records, for every parameter set in a parsed file, the line it was set on; checks its
// range against the schema.
void record_file_params(const config::Config& parsed, const TextFormat::ParseInfoTree& tree,
                        const std::string& file, std::map<std::string, std::string>& origin) {
  for (const params::Param& p : params::all()) {
    if (!params::is_set(parsed, p)) continue;
    const TextFormat::ParseInfoTree* t = &tree;
    for (size_t i = 0; i + 1 < p.path.size() && t != nullptr; ++i) {
      t = t->GetTreeForNested(p.path[i], -1);
    }
    std::string where = file;
    if (t != nullptr) {
      const auto loc = t->GetLocation(p.field(), -1);
      if (loc.line >= 0) where += ":" + std::to_string(loc.line + 1);
    }
    if (auto err = params::range_error(parsed, p)) throw InputError(where + ": " + *err);
    origin[p.key] = where;
  }
}

void load_file(const std::string& path, std::vector<std::string>& chain, config::Config& out,
               std::map<std::string, std::string>& origin, std::vector<std::string>& files) {
  std::error_code ec;
  const std::string canonical = fs::weakly_canonical(path, ec).string();
  for (const auto& c : chain) {
    if (c == canonical) throw InputError(path + ": config files extend each other in a cycle");
  }
  if (chain.size() > 16) throw InputError(path + ": config base chain deeper than 16 files");
  const std::string text = read_text_file(path, "config file");

  config::Config parsed;
  TextFormat::ParseInfoTree tree;
  parse_textproto(text, path, &parsed, &tree);

  if (parsed.has_base()) {
    if (parsed.base().empty()) throw InputError(path + ": base is empty");
    const fs::path base = fs::path(path).parent_path() / parsed.base();
    chain.push_back(canonical);
    try {
      load_file(base.string(), chain, out, origin, files);
    } catch (const InputError& e) {
      throw InputError(std::string(e.what()) + " (the base of " + path + ")");
    }
    chain.pop_back();
  }
  record_file_params(parsed, tree, path, origin);
  parsed.clear_base();
  out.MergeFrom(parsed);
  files.push_back(path);
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

void wrap_comment(std::ostringstream& os, const std::string& indent, const std::string& text) {
  // Wraps at ~92 columns so generated files stay readable.
  std::istringstream words(text);
  std::string word, line;
  while (words >> word) {
    if (!line.empty() && indent.size() + 2 + line.size() + 1 + word.size() > 92) {
      os << indent << "# " << line << "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) os << indent << "# " << line << "\n";
}

void print_message(std::ostringstream& os, const Message& m, const std::string& prefix,
                   int depth, Annotate annotate,
                   const std::map<std::string, std::string>* origin) {
  const std::string indent(static_cast<size_t>(depth) * 2, ' ');
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string key = prefix.empty() ? f->name() : prefix + "." + f->name();
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!r->HasField(m, f)) continue;
      if (annotate == Annotate::kSchema) {
        const std::string doc = f->message_type()->options().GetExtension(config::module_doc);
        os << "\n";
        if (!doc.empty()) wrap_comment(os, indent, key + ": " + doc);
      }
      os << indent << f->name() << " {\n";
      print_message(os, r->GetMessage(m, f), key, depth + 1, annotate, origin);
      os << indent << "}\n";
      continue;
    }
    const params::Param* p = params::find(key);
    if (p == nullptr) {  // root metadata: name, description
      if (f->name() == "base" || !r->HasField(m, f)) continue;
      os << indent << f->name() << ": " << quote(r->GetString(m, f)) << "\n";
      continue;
    }
    if (!r->HasField(m, f)) continue;
    const auto& spec = p->spec();
    std::string value = params::field_value_string(m, f);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) value = quote(r->GetString(m, f));
    if (annotate == Annotate::kSchema) {
      std::string range = params::range_string(*p);
      wrap_comment(os, indent,
                   spec.desc() + " [" + spec.unit() + (range.empty() ? "" : ", " + range) + "]");
      wrap_comment(os, indent, "Source: " + spec.source());
    }
    os << indent << f->name() << ": " << value;
    if (annotate == Annotate::kOrigin) {
      os << "  # " << spec.unit();
      if (origin != nullptr) {
        const auto it = origin->find(key);
        os << "; " << (it == origin->end() ? "default" : it->second);
      }
    }
    os << "\n";
  }
}

}  // namespace

void apply_override(config::Config& cfg, std::string_view assignment,
                    std::map<std::string, std::string>* origin) {
  const auto eq = assignment.find('=');
  const std::string context = "--set " + std::string(assignment);
  if (eq == std::string_view::npos || eq == 0) {
    throw InputError(context + ": expected KEY=VALUE, e.g. --set soc.pcie.gen=5");
  }
  const std::string key(assignment.substr(0, eq));
  const std::string_view value = assignment.substr(eq + 1);
  const params::Param* p = params::find(key);
  if (p == nullptr) {
    for (const auto& m : params::modules()) {
      if (m.key == key) {
        throw InputError(context + ": '" + key +
                         "' is a group of parameters, not a parameter; run 'faultline params' "
                         "to list " + key + ".*");
      }
    }
    std::string msg = context + ": unknown parameter '" + key + "'";
    const auto near = params::suggest(key);
    if (!near.empty()) {
      msg += "; did you mean '" + near.front() + "'";
      for (size_t i = 1; i < near.size(); ++i) msg += " or '" + near[i] + "'";
      msg += "?";
    }
    throw InputError(msg + " (run 'faultline params' for every parameter)");
  }
  params::set_from_string(cfg, *p, value, context);
  if (auto err = params::range_error(cfg, *p)) throw InputError(context + ": " + *err);
  if (origin != nullptr) (*origin)[key] = "--set";
}

ResolvedConfig resolve_config(const std::string& path, const std::vector<std::string>& sets,
                              std::optional<uint64_t> seed) {
  ResolvedConfig rc;
  if (!path.empty()) {
    std::vector<std::string> chain;
    load_file(path, chain, rc.msg, rc.origin, rc.files);
    // The name is the file's own, or its file name: not inherited from a base.
    config::Config top;
    parse_textproto(read_text_file(path, "config file"), path, &top);
    rc.msg.set_name(top.has_name() ? top.name() : fs::path(path).stem().string());
  } else {
    rc.msg.set_name(kBuiltinName);
  }
  for (const auto& s : sets) apply_override(rc.msg, s, &rc.origin);
  if (seed) {
    rc.msg.mutable_sim()->set_seed(*seed);
    rc.origin["sim.seed"] = "--seed";
  }
  params::fill_defaults(rc.msg);
  for (const params::Param& p : params::all()) {
    if (rc.origin.find(p.key) == rc.origin.end()) rc.origin[p.key] = "default";
  }
  return rc;
}

std::string to_textproto(const config::Config& msg, Annotate annotate,
                         const std::map<std::string, std::string>* origin) {
  std::ostringstream os;
  print_message(os, msg, "", 0, annotate, origin);
  return os.str();
}

uint64_t fnv1a64(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string config_digest(const config::Config& msg) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "fnv1a64:%016" PRIx64, fnv1a64(to_textproto(msg, Annotate::kNone)));
  return buf;
}

}  // namespace fl
