// Renderings of the parameter declarations: the `faultline params` listing, docs/config.md
// and the annotated default config (configs/mi200-pcie4.textproto). All come from the
// schema, so they cannot disagree with it.
#pragma once

#include <map>
#include <string>

#include "sim/core/config_loader.h"

namespace fl {

enum class ParamsFormat { kText, kMarkdown, kTextproto };

// With `rc`, the listing shows each value of that resolved config and where it came from.
std::string render_params(ParamsFormat format, const ResolvedConfig* rc = nullptr);

}  // namespace fl
