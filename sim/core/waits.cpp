#include "sim/core/waits.h"

#include <map>

#include "sim/core/format.h"
#include "sim/core/time.h"

namespace fl {

namespace {
struct Wait {
  const char* waiter;
  const char* what;
  const char* object;
  uint64_t number;
  uint64_t since_ps;
};
// By registration order, so the oldest wait comes first.
std::map<uint64_t, Wait>& table() {
  static std::map<uint64_t, Wait> t;
  return t;
}
uint64_t next_id = 1;
uint64_t ended_count = 0;
}  // namespace

uint64_t Waits::begin(const char* what, const char* object, uint64_t number) {
  sc_core::sc_process_b* p = sc_core::sc_get_current_process_b();
  const uint64_t id = next_id++;
  table().emplace_hint(table().end(), id,
                       Wait{p != nullptr ? p->name() : "elaboration", what, object, number,
                            static_cast<uint64_t>(sc_core::sc_time_stamp().value())});
  return id;
}

void Waits::end(uint64_t id) {
  table().erase(id);
  ++ended_count;
}

size_t Waits::pending() { return table().size(); }
uint64_t Waits::ended() { return ended_count; }

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
