// Parsing protobuf text format with errors that name the file, line and column, and suggest
// the nearest field name for an unknown one.
#pragma once

#include <string>

#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

namespace fl {

// Parses `text` (read from `file`) into `msg`, recording field locations in `tree` if given.
// Throws fl::InputError "file:line:col: message".
void parse_textproto(const std::string& text, const std::string& file,
                     google::protobuf::Message* msg,
                     google::protobuf::TextFormat::ParseInfoTree* tree = nullptr);

// Reads a whole file; throws fl::InputError naming it if it cannot be read.
std::string read_text_file(const std::string& path, const std::string& what);

}  // namespace fl
