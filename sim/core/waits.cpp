#include "sim/core/waits.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "sim/core/format.h"
#include "sim/core/sim_status.h"
#include "sim/core/time.h"

namespace fl {

namespace {
struct Wait {
  const sc_core::sc_process_b* process;
  const char* waiter;
  const char* what;
  const char* object;
  uint64_t number;
  uint64_t since_ps;
  const WaitResource* on;
};
// By registration order, so the oldest wait comes first.
std::map<uint64_t, Wait>& table() {
  static std::map<uint64_t, Wait> t;
  return t;
}
// The graph's process -> resource edges: each blocked process's wait on a resource.
std::unordered_map<const sc_core::sc_process_b*, uint64_t>& waiting_on() {
  static std::unordered_map<const sc_core::sc_process_b*, uint64_t> m;
  return m;
}
uint64_t next_id = 1;
uint64_t ended_count = 0;
uint64_t deadlock_count = 0;

std::string since(const Wait& w) { return format_duration_ns(static_cast<double>(w.since_ps) / 1000.0); }

void report_deadlock(const std::vector<std::string>& cycle) {
  ++deadlock_count;
  std::string m = "deadlock at " + format_duration_ns(static_cast<double>(sc_core::sc_time_stamp().value()) / 1000.0) +
                  ": a cycle of waits, none of which can end (each waits for the next):";
  for (const std::string& l : cycle) m += "\n  " + l;
  report_sim_error(m);
}
}  // namespace

namespace {
// A step of a cycle: a resource, and the owner of it that leads on (a process waiting on the
// next step's resource, the waiter itself at the end, or null: the next resource directly).
struct Hop {
  const WaitResource* resource;
  const sc_core::sc_process_b* owner;
};

bool find_cycle(const WaitResource* r, const sc_core::sc_process_b* target, std::vector<Hop>& path,
                std::vector<const WaitResource*>& seen) {
  seen.push_back(r);
  std::vector<const sc_core::sc_process_b*> processes;
  std::vector<const WaitResource*> resources;
  r->wait_owners(processes, resources);
  const auto unseen = [&](const WaitResource* x) { return std::find(seen.begin(), seen.end(), x) == seen.end(); };
  for (const sc_core::sc_process_b* p : processes) {
    path.push_back(Hop{r, p});
    if (p == target) return true;
    const auto it = waiting_on().find(p);
    if (it != waiting_on().end()) {
      const WaitResource* next = table().at(it->second).on;
      if (unseen(next) && find_cycle(next, target, path, seen)) return true;
    }
    path.pop_back();
  }
  for (const WaitResource* next : resources) {
    path.push_back(Hop{r, nullptr});
    if (unseen(next) && find_cycle(next, target, path, seen)) return true;
    path.pop_back();
  }
  return false;
}
}  // namespace

std::vector<std::string> Waits::cycle_through(const sc_core::sc_process_b* process, const WaitResource* on) {
  // Each resource is entered once, so the walk is linear in the part of the graph it reaches.
  std::vector<Hop> path;
  std::vector<const WaitResource*> seen;
  if (!find_cycle(on, process, path, seen)) return {};
  const std::string me = process != nullptr ? process->name() : "elaboration";
  std::vector<std::string> lines = {me + " waits for " + on->wait_label() + " (now), " + on->owner_relation()};
  for (size_t i = 0; i < path.size(); ++i) {
    const Hop& h = path[i];
    if (h.owner == process) break;
    const WaitResource* next = path[i + 1].resource;
    if (h.owner == nullptr) {
      lines.back() += " " + next->wait_label() + ", " + next->owner_relation();
      continue;
    }
    const Wait& w = table().at(waiting_on().at(h.owner));
    lines.push_back(std::string(w.waiter) + " waits for " + next->wait_label() + " (since " + since(w) + "), " +
                    next->owner_relation());
  }
  lines.push_back(me);
  return lines;
}

uint64_t Waits::begin(const char* what, const char* object, uint64_t number, const WaitResource* on) {
  sc_core::sc_process_b* p = sc_core::sc_get_current_process_b();
  const uint64_t id = next_id++;
  table().emplace_hint(table().end(), id,
                       Wait{p, p != nullptr ? p->name() : "elaboration", what, object, number,
                            static_cast<uint64_t>(sc_core::sc_time_stamp().value()), on});
  if (on != nullptr) {
    const std::vector<std::string> cycle = cycle_through(p, on);
    waiting_on()[p] = id;
    if (!cycle.empty()) report_deadlock(cycle);
  }
  return id;
}

void Waits::recheck() {
  if (deadlock_count > 0) return;  // the run is stopping with the first
  for (const auto& [p, id] : waiting_on()) {
    const Wait& w = table().at(id);
    std::vector<std::string> cycle = cycle_through(p, w.on);
    if (cycle.empty()) continue;
    const std::string now = " (now), ";
    const size_t at = cycle.front().find(now);
    if (at != std::string::npos) cycle.front().replace(at, now.size(), " (since " + since(w) + "), ");
    report_deadlock(cycle);
    return;
  }
}

void Waits::end(uint64_t id) {
  const auto it = table().find(id);
  if (it != table().end() && it->second.on != nullptr) {
    const auto w = waiting_on().find(it->second.process);
    if (w != waiting_on().end() && w->second == id) waiting_on().erase(w);
  }
  if (it != table().end()) table().erase(it);
  ++ended_count;
}

size_t Waits::pending() { return table().size(); }
uint64_t Waits::ended() { return ended_count; }
uint64_t Waits::deadlocks() { return deadlock_count; }

std::vector<std::string> Waits::describe() {
  std::vector<std::string> out;
  for (const auto& [id, w] : table()) {
    std::string s = std::string(w.waiter) + " waits for " + w.what + " " + w.object;
    if (w.number != 0) s += " #" + std::to_string(w.number);
    s += " since " + format_duration_ns(static_cast<double>(w.since_ps) / 1000.0);
    out.push_back(s);
  }
  return out;
}

std::string Waits::summary() {
  const std::vector<std::string> d = describe();
  if (d.empty()) return "no thread is blocked";
  std::string s;
  for (const std::string& line : d) s += (s.empty() ? "" : "; ") + line;
  return s;
}

}  // namespace fl
