// The generated config and workload schema types, under short aliases.
#pragma once

#include "configs/schema/config.pb.h"
#include "configs/schema/param_options.pb.h"
#include "configs/schema/workload.pb.h"

namespace fl {
namespace config = ::faultline::config;
namespace wl = ::faultline::workload;
}  // namespace fl
