// Conversions between the units parameters are declared in (ns, cycles, GB/s) and
// SystemC time. The kernel's time resolution is 1 ps (SystemC's default, checked when a
// simulation is built); every conversion rounds once, to the nearest picosecond.
#pragma once

#include <cmath>
#include <cstdint>
#include <systemc>

namespace fl {

inline sc_core::sc_time ps(uint64_t v) { return sc_core::sc_time::from_value(v); }

// The current simulated time in picoseconds. Read from the simulation context inline:
// models ask for it several times per event, and sc_time_stamp() is an out-of-line call.
inline uint64_t now_ps() { return sc_core::sc_get_curr_simcontext()->time_stamp().value(); }

inline sc_core::sc_time from_ns(double ns) {
  return sc_core::sc_time::from_value(static_cast<uint64_t>(std::llround(ns * 1000.0)));
}

inline double to_ns(const sc_core::sc_time& t) { return static_cast<double>(t.value()) / 1000.0; }

// Time to move `bytes` at `gb_per_s` (10^9 bytes per second): bytes / GB/s = ns.
inline sc_core::sc_time transfer_time(uint64_t bytes, double gb_per_s) {
  return from_ns(static_cast<double>(bytes) / gb_per_s);
}

// A clock domain: converts cycle counts to time without accumulating rounding error.
class Clock {
 public:
  explicit Clock(double mhz) : mhz_(mhz) {}
  double mhz() const { return mhz_; }
  sc_core::sc_time cycles(uint64_t n) const {
    return sc_core::sc_time::from_value(
        static_cast<uint64_t>(std::llround(static_cast<double>(n) * 1.0e6 / mhz_)));
  }

 private:
  double mhz_;
};

}  // namespace fl
