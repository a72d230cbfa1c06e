// The process-wide event scheduler behind EventQueue: callbacks of every queue run in
// (time, insertion) order, including zero-delay callbacks (which skip the heap) and times
// already past; callables of any size run exactly once and are destroyed. Each test runs
// the SystemC kernel in a forked child process.
#include <array>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <systemc>

#include "sim/core/event_queue.h"
#include "tests/support/unit_support.h"

namespace {

using fl::EventQueue;
using fl::test::in_child;
using sc_core::sc_time;
using sc_core::SC_NS;
using sc_core::SC_ZERO_TIME;

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

TEST(EventQueue, RunsCallbacksInTimeThenInsertionOrderAcrossQueues) {
  EXPECT_EQ(in_child([] {
              EventQueue a("a");
              EventQueue b("b");
              std::vector<std::string> log;
              auto note = [&log](const char* what) {
                log.push_back(std::string(what) + "@" +
                              std::to_string(sc_core::sc_time_stamp().value() / 1000));
              };
              uint64_t dispatched_before = 0;
              sc_core::sc_spawn([&] {
                dispatched_before = EventQueue::dispatched();
                a.schedule(sc_time(10, SC_NS), [&] {
                  note("a10");
                  a.schedule(SC_ZERO_TIME, [&] { note("a10+0"); });
                  // A time already past runs now, after what is already due now.
                  a.schedule_at(sc_time(5, SC_NS), [&] { note("a10past"); });
                });
                b.schedule(sc_time(5, SC_NS), [&] {
                  note("b5");
                  // Due at 10 ns, but posted after everything else due then.
                  b.schedule(sc_time(5, SC_NS), [&] { note("b5+5"); });
                  b.schedule(SC_ZERO_TIME, [&] { note("b5+0"); });
                });
                b.schedule(sc_time(10, SC_NS), [&] {
                  note("b10");
                  b.schedule(SC_ZERO_TIME, [&] { note("b10+0"); });
                });
                a.schedule_at(sc_time(10, SC_NS), [&] { note("a10abs"); });
                a.schedule(SC_ZERO_TIME, [&] { note("a0"); });
              });
              sc_core::sc_start();
              std::ostringstream err;
              const std::string want =
                  "a0@0 b5@5 b5+0@5 a10@10 b10@10 a10abs@10 b5+5@10 a10+0@10 a10past@10 b10+0@10";
              if (join(log) != want) err << "order: " << join(log) << "\nwant:  " << want << "\n";
              if (EventQueue::dispatched() - dispatched_before != 10) {
                err << "dispatched " << EventQueue::dispatched() - dispatched_before << ", want 10\n";
              }
              if (!a.empty() || !b.empty()) err << "a queue still has callbacks pending\n";
              return err.str();
            }),
            "");
}

// Renumbering the pending entries (done by itself before insertion numbers overflow)
// keeps (time, insertion) order, including ties at one time across queues.
TEST(EventQueue, RenumberingKeepsTheOrder) {
  EXPECT_EQ(in_child([] {
              EventQueue a("a");
              EventQueue b("b");
              std::vector<int> order;
              sc_core::sc_spawn([&] {
                // Ten ties at each of 1..5 ns, alternating queues, posted in a shuffled
                // time order; a renumbering at 1 ns and another in the middle of posting.
                int n = 0;
                for (int round = 0; round < 10; ++round) {
                  for (int t : {3, 1, 5, 2, 4}) {
                    const int tag = t * 100 + round;
                    EventQueue& q = n++ % 2 ? a : b;
                    q.schedule(sc_time(t, SC_NS), [&order, tag] { order.push_back(tag); });
                  }
                  if (round == 4) fl::detail::Scheduler::get().renumber();
                }
                a.schedule(sc_time(1, SC_NS), [] { fl::detail::Scheduler::get().renumber(); });
              });
              sc_core::sc_start();
              std::vector<int> want;
              for (int t = 1; t <= 5; ++t) {
                for (int round = 0; round < 10; ++round) want.push_back(t * 100 + round);
              }
              std::ostringstream err;
              if (order != want) {
                err << "order:";
                for (int v : order) err << " " << v;
                err << "\n";
              }
              return err.str();
            }),
            "");
}

// Counts live copies, so a callable that is never destroyed (or destroyed twice) shows.
struct Tracked {
  static int live;
  Tracked() { ++live; }
  Tracked(const Tracked&) { ++live; }
  Tracked(Tracked&&) noexcept { ++live; }
  ~Tracked() { --live; }
};
int Tracked::live = 0;

TEST(EventQueue, CallablesOfAnySizeRunOnceAndAreDestroyed) {
  EXPECT_EQ(in_child([] {
              EventQueue q("q");
              std::ostringstream err;
              int small_runs = 0;
              int big_runs = 0;
              int function_runs = 0;
              uint64_t big_sum = 0;
              std::vector<uint64_t> order;
              sc_core::sc_spawn([&] {
                // Move-only and small: stored in place.
                auto owned = std::make_unique<int>(7);
                q.schedule(sc_time(1, SC_NS), [&, owned = std::move(owned), t = Tracked()] {
                  small_runs += *owned == 7 ? 1 : 100;
                });
                // Larger than a slot: stored boxed.
                std::array<uint64_t, 16> big{};
                for (size_t i = 0; i < big.size(); ++i) big[i] = i + 1;
                q.schedule(sc_time(2, SC_NS), [&, big, t = Tracked()] {
                  ++big_runs;
                  for (uint64_t v : big) big_sum += v;
                });
                // A std::function passed as an lvalue is copied.
                std::function<void()> fn = [&function_runs, t = Tracked()] { ++function_runs; };
                q.schedule(sc_time(3, SC_NS), fn);
                q.schedule(sc_time(4, SC_NS), fn);
                // More callbacks pending at once than one slot chunk holds, posted latest first.
                for (uint64_t i = 3000; i > 0; --i) {
                  q.schedule(sc_time(static_cast<double>(10 + i), SC_NS), [&order, i] { order.push_back(i); });
                }
              });
              sc_core::sc_start();
              if (small_runs != 1) err << "small callable ran " << small_runs << "\n";
              if (big_runs != 1 || big_sum != 136) err << "big callable ran " << big_runs << " sum " << big_sum << "\n";
              if (function_runs != 2) err << "std::function ran " << function_runs << " times, want 2\n";
              if (order.size() != 3000) err << order.size() << " of 3000 ran\n";
              for (size_t i = 0; i < order.size(); ++i) {
                if (order[i] != i + 1) {
                  err << "position " << i << " ran " << order[i] << "\n";
                  break;
                }
              }
              // The std::function `fn` itself died with the spawned thread's frame.
              if (Tracked::live != 0) err << Tracked::live << " callables never destroyed\n";
              if (!q.empty()) err << "callbacks still pending\n";
              return err.str();
            }),
            "");
}

}  // namespace

namespace {

// fl::start lets the scheduler advance time by itself between SystemC activities. The
// interleaving of callbacks with SystemC threads (woken by a callback's notify, waiting on
// timeouts that fall between, at and after callback times) and sc_stop from a callback
// must be exactly what plain sc_start gives; only the kernel's time steps are saved.
std::string mixed_run(bool run_ahead, uint64_t* steps) {
  EventQueue q("q");
  std::vector<std::string> log;
  auto note = [&log](const std::string& what) {
    log.push_back(what + "@" + std::to_string(fl::now_ps()));
  };
  sc_core::sc_event wake;
  // A chain of callbacks every 7 ns; at 21 ns one wakes the thread below, at 70 ns stop.
  std::function<void(int)> tick = [&](int i) {
    note("tick" + std::to_string(i));
    if (i == 3) wake.notify(SC_ZERO_TIME);
    if (i == 10) {
      sc_core::sc_stop();
      return;
    }
    q.schedule(sc_time(7, SC_NS), [&tick, i] { tick(i + 1); });
    if (i % 2 == 0) q.schedule(SC_ZERO_TIME, [&note, i] { note("now" + std::to_string(i)); });
  };
  sc_core::sc_spawn([&] { q.schedule(SC_ZERO_TIME, [&] { tick(0); }); });
  sc_core::sc_spawn([&] {
    sc_core::wait(wake);
    note("woken");
    q.schedule(SC_ZERO_TIME, [&] { note("from-woken"); });
    sc_core::wait(sc_time(7, SC_NS));  // 28 ns: the same time as tick 4
    note("thread28");
    sc_core::wait(sc_time(3, SC_NS));  // 31 ns: between ticks
    note("thread31");
    q.schedule(sc_time(1, SC_NS), [&] { note("thread31+1"); });
  });
  const uint64_t before = fl::detail::Scheduler::get().run_ahead_steps;
  if (run_ahead) {
    fl::start(sc_time(1, sc_core::SC_MS));
  } else {
    sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  }
  *steps = fl::detail::Scheduler::get().run_ahead_steps - before;
  return join(log) + " end@" + std::to_string(fl::now_ps());
}

TEST(EventQueue, RunAheadKeepsTheOrderWithThreadsAndStop) {
  // Each child reports its log (as its message); they must be equal, and only the second
  // may have advanced time by itself.
  const std::string plain = in_child([] {
    uint64_t steps = 0;
    const std::string log = mixed_run(false, &steps);
    return log + (steps == 0 ? "" : " (run-ahead steps without fl::start)");
  });
  const std::string ahead = in_child([] {
    uint64_t n = 0;
    const std::string log = mixed_run(true, &n);
    return log + (n > 0 ? "" : " (no run-ahead step)");
  });
  EXPECT_EQ(ahead, plain);
  EXPECT_NE(plain.find("woken@21000 tick4@28000"), std::string::npos) << plain;
  EXPECT_NE(plain.find("end@70000"), std::string::npos) << plain;
}

}  // namespace
