#include "sim/core/sim_status.h"

#include <systemc>

#include "sim/core/errors.h"

namespace fl {

namespace {
std::optional<RunError>& slot() {
  static std::optional<RunError> e;
  return e;
}
}  // namespace

void report_run_error(int exit_status, const std::string& message) {
  if (!slot()) slot() = RunError{exit_status, message};
  sc_core::sc_stop();
}

void report_sim_error(const std::string& message) { report_run_error(kExitSim, message); }

const std::optional<RunError>& run_error() { return slot(); }

void guard_process(const char* process, const std::function<void()>& body) {
  try {
    body();
  } catch (const InputError& e) {
    report_run_error(kExitInput, e.what());
  } catch (const SimError& e) {
    report_run_error(kExitSim, std::string(process) + ": " + e.what());
  }
}

}  // namespace fl
