// Number formatting shared by listings, configs and stats: the shortest text that reads
// back as the same double ("1700", "0.25", "1e+18"), so written configs round-trip.
#pragma once

#include <cstdint>
#include <string>

namespace fl {

std::string format_number(double v);
// "0x7f0000200000"
std::string hex(uint64_t v);
// Human-readable time from nanoseconds: "850 ns", "12.3 us", "4.56 ms".
std::string format_duration_ns(double ns);
// Human-readable size in binary units with the exact count: "3.50 GiB (3758096384 bytes)".
std::string format_bytes(uint64_t bytes);

}  // namespace fl
