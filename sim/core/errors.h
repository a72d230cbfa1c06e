// Error categories and the exit statuses they map to (documented in `faultline --help`).
#pragma once

#include <stdexcept>
#include <string>

namespace fl {

// Exit statuses of the faultline executable.
enum ExitStatus : int {
  kExitOk = 0,
  kExitInternal = 1,  // a bug in faultline: an unexpected exception
  kExitInput = 2,     // bad usage, config, workload or other input
  kExitSim = 3,       // the simulation itself detected an error (watchdog, fatal fault, ...)
  kExitIncomplete = 4,  // a sweep ended with points unfinished (an executor's task died)
};

// Bad input: the message names the file and line, or the parameter key, at fault.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An error the simulation detected about the simulated system: no forward progress, a
// fatal GPU fault, a timeout of a simulated operation.
class SimError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace fl
