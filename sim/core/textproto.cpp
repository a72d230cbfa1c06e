#include "sim/core/textproto.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>

#include "sim/core/errors.h"
#include "sim/core/params.h"

namespace fl {

namespace {

// Keeps the parser's first error, adding a suggestion for an unknown field name.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (!message_.empty()) return;
    line_ = line + 1;  // the parser counts from 0
    column_ = column + 1;
    message_ = message + suggestion(message);
  }
  void AddWarning(int, int, const std::string&) override {}

  bool failed() const { return !message_.empty(); }
  std::string where(const std::string& file) const {
    return file + ":" + std::to_string(line_) + ":" + std::to_string(column_);
  }
  const std::string& message() const { return message_; }

 private:
  static std::string suggestion(const std::string& message) {
    static const std::regex unknown(R"re(Message type "([\w.]+)" has no field named "(\w+)")re");
    std::smatch m;
    if (!std::regex_search(message, m, unknown)) return "";
    const auto* d =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(m[1]);
    if (d == nullptr || d->field_count() == 0) return "";
    std::vector<std::string> names;
    for (int i = 0; i < d->field_count(); ++i) names.push_back(d->field(i)->name());
    return " (did you mean \"" + params::nearest(m[2].str(), names) + "\"?)";
  }

  int line_ = 0;
  int column_ = 0;
  std::string message_;
};

}  // namespace

void parse_textproto(const std::string& text, const std::string& file,
                     google::protobuf::Message* msg,
                     google::protobuf::TextFormat::ParseInfoTree* tree) {
  google::protobuf::TextFormat::Parser parser;
  FirstError errors;
  parser.RecordErrorsTo(&errors);
  if (tree != nullptr) parser.WriteLocationsTo(tree);
  if (!parser.ParseFromString(text, msg) || errors.failed()) {
    throw InputError(errors.where(file) + ": " +
                     (errors.failed() ? errors.message() : "cannot parse " + file));
  }
}

std::string read_text_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    // The error_code overload: a name the file system refuses (a component longer than
    // NAME_MAX, found by fuzz_config) must be an input error, not a filesystem_error.
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    throw InputError(path + ": cannot open " + what +
                     (ec ? " (" + ec.message() + ")" : exists ? " (permission denied?)" : " (no such file)"));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace fl
