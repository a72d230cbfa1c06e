#include "sim/trace/smi_log.h"

#include <limits>

#include "sim/core/errors.h"

namespace fl::trace {

const char* smi_kind_name(SmiKind k) {
  switch (k) {
    case SmiKind::kVmFault: return "VMFAULT";
    case SmiKind::kThermalThrottle: return "THERMAL_THROTTLE";
    case SmiKind::kGpuPreReset: return "GPU_PRE_RESET";
    case SmiKind::kGpuPostReset: return "GPU_POST_RESET";
    case SmiKind::kMigrateStart: return "MIGRATE_START";
    case SmiKind::kMigrateEnd: return "MIGRATE_END";
    case SmiKind::kPageFaultStart: return "PAGE_FAULT_START";
    case SmiKind::kPageFaultEnd: return "PAGE_FAULT_END";
    case SmiKind::kQueueEviction: return "QUEUE_EVICTION";
    case SmiKind::kQueueRestore: return "QUEUE_RESTORE";
    case SmiKind::kUnmapFromGpu: return "UNMAP_FROM_GPU";
    case SmiKind::kProcessStart: return "PROCESS_START";
    case SmiKind::kProcessEnd: return "PROCESS_END";
    case SmiKind::kDroppedEvent: return "DROPPED_EVENT";
  }
  return "?";
}

namespace {

// A cursor over one line's payload, reading the kernel's printf conversions back. Each
// read names what it expected, so an error says "expected the migration's size".
class Scan {
 public:
  Scan(const std::string& s, size_t pos, std::string where) : s_(s), p_(pos), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(where_ + ": " + what + " at column " + std::to_string(p_ + 1) + " of '" + printable() + "'");
  }
  void lit(char c, const char* what) {
    if (p_ >= s_.size() || s_[p_] != c) fail(std::string("expected '") + c + "' " + what);
    ++p_;
  }
  void lit(const char* str, const char* what) {
    const size_t n = std::char_traits<char>::length(str);
    if (s_.compare(p_, n, str) != 0) fail(std::string("expected '") + str + "' " + what);
    p_ += n;
  }
  bool peek(char c) const { return p_ < s_.size() && s_[p_] == c; }
  // %x / %lx / %llx: lower- or upper-case hex digits, at most 64 bits.
  uint64_t hex(const char* what) { return digits(16, what); }
  // %d / %lld of a value that must not be negative.
  uint64_t dec(const char* what) { return digits(10, what); }
  // %d of a value that may be negative.
  int32_t sdec(const char* what) {
    const bool neg = peek('-');
    if (neg) ++p_;
    const uint64_t v = digits(10, what);
    if (v > (neg ? uint64_t{1} << 31 : (uint64_t{1} << 31) - 1)) fail(std::string(what) + " out of range");
    return neg ? static_cast<int32_t>(-static_cast<int64_t>(v)) : static_cast<int32_t>(v);
  }
  uint32_t hex32(const char* what) {
    const uint64_t v = hex(what);
    if (v > std::numeric_limits<uint32_t>::max()) fail(std::string(what) + " wider than 32 bits");
    return static_cast<uint32_t>(v);
  }
  uint32_t pid() {
    lit('-', "before the pid");
    const uint64_t v = dec("the pid");
    if (v > std::numeric_limits<int32_t>::max()) fail("the pid out of range");
    return static_cast<uint32_t>(v);
  }
  char ch(const char* what) {
    if (p_ >= s_.size()) fail(std::string("expected ") + what);
    return s_[p_++];
  }
  std::string rest() {
    std::string r = s_.substr(p_);
    p_ = s_.size();
    return r;
  }
  bool done() const { return p_ == s_.size(); }
  void end() {
    if (!done()) fail("unexpected text after the event");
  }

 private:
  uint64_t digits(unsigned base, const char* what) {
    const size_t start = p_;
    uint64_t v = 0;
    while (p_ < s_.size()) {
      const char c = s_[p_];
      unsigned d;
      if (c >= '0' && c <= '9') {
        d = static_cast<unsigned>(c - '0');
      } else if (base == 16 && c >= 'a' && c <= 'f') {
        d = static_cast<unsigned>(c - 'a' + 10);
      } else if (base == 16 && c >= 'A' && c <= 'F') {
        d = static_cast<unsigned>(c - 'A' + 10);
      } else {
        break;
      }
      if (v > (std::numeric_limits<uint64_t>::max() - d) / base) fail(std::string(what) + " wider than 64 bits");
      v = v * base + d;
      ++p_;
    }
    if (p_ == start) fail(std::string("expected ") + what + (base == 16 ? " (hex)" : " (decimal)"));
    return v;
  }
  std::string printable() const {
    std::string o;
    for (const char c : s_) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
        static const char* hexd = "0123456789abcdef";
        o += "\\x";
        o += hexd[(static_cast<unsigned char>(c) >> 4) & 0xf];
        o += hexd[static_cast<unsigned char>(c) & 0xf];
      } else {
        o += c;
      }
      if (o.size() > 120) return o + "...";
    }
    return o;
  }
  const std::string& s_;
  size_t p_;
  std::string where_;
};

// "%lld -%d " common to the timed events.
void timed_prefix(Scan& s, SmiRecord* r) {
  r->timed = true;
  r->ns = s.dec("the timestamp (ns)");
  s.lit(' ', "after the timestamp");
  r->pid = s.pid();
}

// "@%lx(%lx)" or "@%lx(%x)".
void where(Scan& s, SmiRecord* r, const char* size_what) {
  s.lit(" @", "before the address");
  r->addr_pages = s.hex("the address (pages)");
  s.lit('(', "before the size or node");
  if (size_what != nullptr) {
    r->size_pages = s.hex(size_what);
  } else {
    r->size_pages = 1;
    r->node = s.hex32("the node");
  }
  s.lit(')', "after the size or node");
}

void queue_restore(Scan& s, SmiRecord* r) {
  timed_prefix(s, r);
  s.lit(' ', "before the node");
  r->node = s.hex32("the node");
  if (s.done()) return;
  // The rescheduled field ("%c"): 'R', or a NUL (already stripped with the line's end), so
  // a bare trailing space is the not-rescheduled form.
  s.lit(' ', "before the rescheduled field");
  if (s.done()) return;
  const char c = s.ch("the rescheduled field (R)");
  if (c != 'R') s.fail("the rescheduled field must be R or a NUL");
  r->rescheduled = true;
  s.end();
}

}  // namespace

bool parse_smi_line(const std::string& text, const std::string& name, uint64_t line, const SmiOptions& opts,
                    SmiRecord* r, std::map<uint32_t, uint64_t>* unknown) {
  const std::string where_s = name + ":" + std::to_string(line);
  // The kernel's "%c" of 0 puts a NUL before the newline; captures through Windows tools
  // add carriage returns.
  size_t n = text.size();
  while (n > 0 && (text[n - 1] == '\0' || text[n - 1] == '\r')) --n;
  const std::string t = text.substr(0, n);
  const size_t first = t.find_first_not_of(" \t");
  if (first == std::string::npos || t[first] == '#') return false;
  if (t.find('\0') != std::string::npos) {
    throw InputError(where_s + ": a NUL character inside the line (only one before the newline is expected)");
  }
  Scan s(t, 0, where_s);
  const uint64_t id = s.hex("the event number");
  s.lit(' ', "after the event number");
  *r = SmiRecord{};
  r->line = line;
  if (id == 0 || id >= kSmiKinds) {
    if (unknown != nullptr && id <= std::numeric_limits<uint32_t>::max()) ++(*unknown)[static_cast<uint32_t>(id)];
    if (unknown != nullptr && id > std::numeric_limits<uint32_t>::max()) ++(*unknown)[std::numeric_limits<uint32_t>::max()];
    return false;
  }
  r->id = static_cast<uint32_t>(id);
  r->kind = static_cast<SmiKind>(id);
  switch (r->kind) {
    case SmiKind::kVmFault:
    case SmiKind::kProcessStart:
    case SmiKind::kProcessEnd:  // "%x:%s"
      r->pid = s.hex32("the pid (hex)");
      s.lit(':', "after the pid");
      r->text = s.rest();
      break;
    case SmiKind::kThermalThrottle:  // "%llx:%llx"
      r->a = s.hex("the throttle bitmask");
      s.lit(':', "after the bitmask");
      r->b = s.hex("the throttle counter");
      s.end();
      break;
    case SmiKind::kGpuPreReset:
    case SmiKind::kGpuPostReset:  // "%x", newer "%x %s"
      r->a = s.hex("the reset sequence number");
      if (!s.done()) {
        s.lit(' ', "after the reset sequence number");
        r->text = s.rest();
      }
      break;
    case SmiKind::kMigrateStart:  // "%lld -%d @%lx(%lx) %x->%x %x:%x %d"
    case SmiKind::kMigrateEnd:    // "%lld -%d @%lx(%lx) %x->%x %d", newer " %d" error code
      timed_prefix(s, r);
      where(s, r, "the migration's size (pages)");
      s.lit(' ', "before the source node");
      r->from = s.hex32("the source node");
      s.lit("->", "between the source and destination nodes");
      r->to = s.hex32("the destination node");
      s.lit(' ', "after the destination node");
      if (r->kind == SmiKind::kMigrateStart) {
        r->prefetch_loc = s.hex32("the prefetch location");
        s.lit(':', "between the prefetch and preferred locations");
        r->preferred_loc = s.hex32("the preferred location");
        s.lit(' ', "before the trigger");
      }
      r->trigger = s.sdec("the migration trigger");
      if (r->kind == SmiKind::kMigrateEnd && !s.done()) {
        s.lit(' ', "before the error code");
        r->has_error = true;
        r->error = s.sdec("the error code");
      }
      s.end();
      break;
    case SmiKind::kPageFaultStart:
    case SmiKind::kPageFaultEnd: {  // "%lld -%d @%lx(%x) %c"
      timed_prefix(s, r);
      where(s, r, nullptr);
      s.lit(' ', "before the fault's kind");
      const char c = s.ch(r->kind == SmiKind::kPageFaultStart ? "W or R" : "M or U");
      if (r->kind == SmiKind::kPageFaultStart) {
        if (c != 'W' && c != 'R') s.fail("a page fault is W (write) or R (read)");
        r->write = c == 'W';
      } else {
        if (c != 'M' && c != 'U') s.fail("a page fault ends M (migrated) or U (updated)");
        r->migrated = c == 'M';
      }
      s.end();
      break;
    }
    case SmiKind::kQueueEviction:  // "%lld -%d %x %d"
      timed_prefix(s, r);
      s.lit(' ', "before the node");
      r->node = s.hex32("the node");
      s.lit(' ', "before the trigger");
      r->trigger = s.sdec("the eviction trigger");
      s.end();
      break;
    case SmiKind::kQueueRestore:  // "%lld -%d %x", or with " %c"
      queue_restore(s, r);
      break;
    case SmiKind::kUnmapFromGpu:  // "%lld -%d @%lx(%lx) %x %d"
      timed_prefix(s, r);
      where(s, r, "the unmapped size (pages)");
      s.lit(' ', "before the node");
      r->node = s.hex32("the node");
      s.lit(' ', "before the trigger");
      r->trigger = s.sdec("the unmap trigger");
      s.end();
      break;
    case SmiKind::kDroppedEvent:
      if (opts.event14 == SmiEvent14::kUnset) {
        throw InputError(where_s + ": event 14 is DROPPED_EVENT in some kernels and QUEUE_RESTORE_RESCHEDULED in "
                         "others; say which this log's kernel meant (faultline import smi --smi-event14 "
                         "dropped|restore-rescheduled)");
      }
      if (opts.event14 == SmiEvent14::kDroppedEvent) {
        r->text = s.rest();
      } else {
        queue_restore(s, r);
        r->kind = SmiKind::kQueueRestore;
        r->rescheduled = true;
      }
      break;
  }
  return true;
}

bool SmiLogReader::read_line(std::string* s) {
  s->clear();
  std::streambuf* sb = in_.rdbuf();
  bool any = false;
  for (;;) {
    const int c = sb->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      if (!any) return false;
      ++line_;
      return true;
    }
    any = true;
    if (c == '\n') {
      ++line_;
      return true;
    }
    if (s->size() >= kMaxLineBytes) {
      throw InputError(name_ + ":" + std::to_string(line_ + 1) + ": a line longer than " +
                       std::to_string(kMaxLineBytes) + " bytes (an SMI event is at most 96)");
    }
    s->push_back(static_cast<char>(c));
  }
}

bool SmiLogReader::next(SmiRecord* r) {
  while (read_line(&buf_)) {
    if (parse_smi_line(buf_, name_, line_, opts_, r, &unknown_)) {
      ++events_;
      return true;
    }
  }
  return false;
}

}  // namespace fl::trace
