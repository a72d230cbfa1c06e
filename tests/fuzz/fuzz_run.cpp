// Fuzzes whole simulations: a fuzzed workload that loads and validates against the built-in
// default config is run end to end, under a small budget (sim.max_events, and a short
// sim.max_time_ns), so that semantic errors the validator cannot see (an op on a range a
// fork or munmap changed, absurd sizes reaching the models) are found too.
//
// SystemC elaborates once per process, so each simulation runs in a child process forked
// from this one (which never elaborates). The child's exit status is the verdict: 0, 2
// (an input error found while running) and 3 (a simulation error: deadlock, watchdog,
// budget) are answers; 1 (an internal error), a signal, a sanitizer report or a hang longer
// than kChildSeconds is a finding, and this process aborts so that libFuzzer keeps the input.
//
// Coverage: libFuzzer reads the inline 8-bit counters of this process. The child's counters
// start as a copy of ours; before it exits it writes them to a shared mapping, and we copy
// them back, so the fuzzer is guided by what the simulation did, not only by the parser.
#include <sys/mman.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "sim/core/config_loader.h"
#include "sim/core/errors.h"
#include "sim/platform/simulation.h"
#include "sim/platform/workload.h"
#include "tests/fuzz/fuzz_support.h"

// The section of SanitizerCoverage's inline 8-bit counters (-fsanitize=fuzzer), bounded by
// the linker-defined symbols of a section whose name is a C identifier.
extern "C" uint8_t __start___sancov_cntrs[] __attribute__((weak));  // NOLINT
extern "C" uint8_t __stop___sancov_cntrs[] __attribute__((weak));   // NOLINT

namespace {

// A child that has not finished in this much host time is hung (libFuzzer's -timeout,
// scripts/fuzz.sh: 10 s, would otherwise fire in this process and lose the child's output).
constexpr unsigned kChildSeconds = 8;

// The budget of one simulation: enough for a few faults and a migration.
const char* const kBudget[] = {"sim.max_events=200000", "sim.max_time_ns=2000000", "sim.watchdog_ns=200000"};

size_t counters_size() {
  if (__start___sancov_cntrs == nullptr || __stop___sancov_cntrs == nullptr) return 0;
  return static_cast<size_t>(__stop___sancov_cntrs - __start___sancov_cntrs);
}

uint8_t* shared_counters() {
  static uint8_t* const shared = [] {
    const size_t n = counters_size();
    if (n == 0) return static_cast<uint8_t*>(nullptr);
    void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      std::perror("fuzz_run: mmap");
      std::abort();
    }
    return static_cast<uint8_t*>(p);
  }();
  return shared;
}

[[noreturn]] void child(const std::string& workload_path, const std::string& log_path) {
  const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  alarm(kChildSeconds);  // default action: the child dies of SIGALRM, which we report
  int status = fl::kExitInternal;
  try {
    fl::platform::RunOptions o;
    o.workload_path = workload_path;
    o.sets.assign(std::begin(kBudget), std::end(kBudget));
    o.quiet = true;
    status = fl::platform::run_simulation(o, std::cout, std::cerr);
  } catch (const fl::InputError& e) {
    std::cerr << "input error: " << e.what() << "\n";
    status = fl::kExitInput;
  } catch (const fl::SimError& e) {
    std::cerr << "simulation error: " << e.what() << "\n";
    status = fl::kExitSim;
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << "\n";
    status = fl::kExitInternal;
  }
  std::cout.flush();
  std::cerr.flush();
  if (uint8_t* shared = shared_counters()) std::memcpy(shared, __start___sancov_cntrs, counters_size());
  // No exit handlers: blocked SystemC threads and libFuzzer's own state belong to the parent.
  _exit(status);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fl::ResolvedConfig defaults = fl::resolve_config("", {}, std::nullopt);
  const std::string path = fl::fuzz::write_input("run.textproto", data, size);
  try {
    const fl::platform::Workload w = fl::platform::load_workload(path);
    fl::platform::validate_workload(w, defaults.msg);
  } catch (const fl::InputError&) {
    return 0;  // refused up front: fuzz_workload covers this part
  }
  const std::string log = fl::fuzz::scratch_dir() + "/run.log";
  uint8_t* shared = shared_counters();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("fuzz_run: fork");
    std::abort();
  }
  if (pid == 0) child(path, log);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) {
      std::perror("fuzz_run: waitpid");
      std::abort();
    }
  }
  const bool answered = WIFEXITED(st) && (WEXITSTATUS(st) == fl::kExitOk || WEXITSTATUS(st) == fl::kExitInput ||
                                          WEXITSTATUS(st) == fl::kExitSim);
  if (answered) {
    if (shared != nullptr) std::memcpy(__start___sancov_cntrs, shared, counters_size());
    return 0;
  }
  std::fprintf(stderr, "fuzz_run: the simulation %s; its output:\n%s\n",
               WIFEXITED(st) ? ("exited with status " + std::to_string(WEXITSTATUS(st))).c_str()
               : WTERMSIG(st) == SIGALRM
                   ? ("ran for more than " + std::to_string(kChildSeconds) + " s of host time (hung)").c_str()
                   : ("died of signal " + std::to_string(WTERMSIG(st))).c_str(),
               slurp(log).c_str());
  std::abort();
}
