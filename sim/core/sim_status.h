// How a model reports an error found while the simulation runs: the first one is kept,
// the simulation stops, and the run reports it (with its exit status) once sc_start returns.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace fl {

struct RunError {
  int exit_status;  // kExitInput or kExitSim (errors.h)
  std::string message;
};

// Records an error (the first one wins) and stops the simulation.
void report_run_error(int exit_status, const std::string& message);
void report_sim_error(const std::string& message);
const std::optional<RunError>& run_error();

// Runs a process body, turning an InputError or SimError it throws into a recorded run
// error. Thread bodies are wrapped in this so that the error, not a SystemC report,
// reaches the user.
void guard_process(const char* process, const std::function<void()>& body);

}  // namespace fl
