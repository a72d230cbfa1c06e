// The progress line (RunOptions::progress_after_s, shown by the CLI when stderr is a
// terminal): a run under a pseudo-terminal shows it, the same run into a pipe or with
// --quiet does not, and it leaves the results unchanged.
#include <gtest/gtest.h>

#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "harness.h"

namespace fl::test {
namespace {

// Runs faultline with `args` on a new pseudo-terminal; returns its exit status and output.
int run_on_pty(const std::vector<std::string>& args, std::string* out) {
  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) return -1;
  if (pid == 0) {
    std::vector<char*> argv;
    std::string bin = FAULTLINE_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the child has closed its side
    out->append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(master);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Progress, ShownOnATerminalNotInAPipeNorWithQuiet) {
  const std::string d = temp_dir("progress");
  std::string tty;
  ASSERT_EQ(run_on_pty({"run", "--progress-after", "0", "--out", d + "/tty"}, &tty), 0) << tty;
  EXPECT_NE(tty.find("faultline: simulated "), std::string::npos) << tty;
  EXPECT_NE(tty.find(" M callbacks ("), std::string::npos) << tty;

  std::string quiet;
  ASSERT_EQ(run_on_pty({"run", "--quiet", "--progress-after", "0"}, &quiet), 0) << quiet;
  EXPECT_EQ(quiet.find("faultline: simulated "), std::string::npos) << quiet;

  const RunResult piped = run_faultline({"run", "--progress-after", "0"}, d + "/pipe");
  ASSERT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(piped.err.find("faultline: simulated "), std::string::npos) << piped.err;
  EXPECT_EQ(piped.out.find("faultline: simulated "), std::string::npos);
  // The line is host-side only: the run's stats are the same.
  const std::string a = read_file(d + "/tty/stats.json");
  const std::string b = read_file(d + "/pipe/stats.json");
  const auto stats_of = [](const std::string& s) { return nlohmann::json::parse(s)["stats"]; };
  EXPECT_EQ(stats_of(a), stats_of(b));
}

}  // namespace
}  // namespace fl::test
