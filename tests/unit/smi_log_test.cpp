// The KFD SMI event log parser (sim/trace/smi_log.h), its importer (import_smi.h) and
// compare (smi_compare.h): every event format and quirk of real logs, and a clear error
// naming the line for garbled and truncated input.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sim/core/errors.h"
#include "sim/trace/import_smi.h"
#include "sim/trace/smi_compare.h"
#include "sim/trace/smi_log.h"
#include "sim/trace/trace_file.h"

namespace fl::trace {
namespace {

namespace fs = std::filesystem;

std::vector<SmiRecord> parse(const std::string& text, SmiOptions o = {}, std::map<uint32_t, uint64_t>* unknown = nullptr) {
  std::istringstream in(text);
  SmiLogReader r(in, "log.smi", o);
  std::vector<SmiRecord> v;
  SmiRecord e;
  while (r.next(&e)) v.push_back(e);
  if (unknown != nullptr) *unknown = r.unknown();
  return v;
}

// The message of the InputError `text` raises ("" if it parses).
std::string error_of(const std::string& text, SmiOptions o = {}) {
  try {
    parse(text, o);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(SmiLog, EveryEventTypeParsesWithItsFields) {
  const std::string log =
      "1 1092:python3\n"
      "2 5:a\n"
      "3 7\n"
      "4 7 MODE1\n"
      "5 1000 -4242 @7f0000200(200) 0->cca3 ffffffff:0 1\n"
      "6 2000 -4242 @7f0000200(200) 0->cca3 1\n"
      "7 900 -4242 @7f0000266(cca3) W\n"
      "8 2100 -4242 @7f0000266(cca3) M\n"
      "9 3000 -4242 cca3 2\n"
      "a 4000 -4242 cca3\n"
      "b 5000 -4242 @7f0000000(200) cca3 1\n"
      "c 1092:python3\n"
      "d 1092:python3\n";
  const std::vector<SmiRecord> v = parse(log);
  ASSERT_EQ(v.size(), 13u);
  EXPECT_EQ(v[0].kind, SmiKind::kVmFault);
  EXPECT_EQ(v[0].pid, 0x1092u);
  EXPECT_EQ(v[0].text, "python3");
  EXPECT_FALSE(v[0].timed);
  EXPECT_EQ(v[1].a, 5u);
  EXPECT_EQ(v[1].b, 0xau);
  EXPECT_EQ(v[2].kind, SmiKind::kGpuPreReset);
  EXPECT_EQ(v[3].text, "MODE1");
  const SmiRecord& ms = v[4];
  EXPECT_EQ(ms.kind, SmiKind::kMigrateStart);
  EXPECT_TRUE(ms.timed);
  EXPECT_EQ(ms.ns, 1000u);
  EXPECT_EQ(ms.pid, 4242u);
  EXPECT_EQ(ms.addr_pages, 0x7f0000200u);
  EXPECT_EQ(ms.size_pages, 0x200u);
  EXPECT_EQ(ms.from, 0u);
  EXPECT_EQ(ms.to, 0xcca3u);
  EXPECT_EQ(ms.prefetch_loc, 0xffffffffu);
  EXPECT_EQ(ms.preferred_loc, 0u);
  EXPECT_EQ(ms.trigger, 1);
  EXPECT_FALSE(v[5].has_error);
  EXPECT_TRUE(v[6].write);
  EXPECT_EQ(v[6].node, 0xcca3u);
  EXPECT_EQ(v[6].size_pages, 1u);
  EXPECT_TRUE(v[7].migrated);
  EXPECT_EQ(v[8].kind, SmiKind::kQueueEviction);
  EXPECT_EQ(v[8].trigger, 2);
  EXPECT_EQ(v[9].kind, SmiKind::kQueueRestore);
  EXPECT_FALSE(v[9].rescheduled);
  EXPECT_EQ(v[10].kind, SmiKind::kUnmapFromGpu);
  EXPECT_EQ(v[10].size_pages, 0x200u);
  EXPECT_EQ(v[11].kind, SmiKind::kProcessStart);
  EXPECT_EQ(v[12].kind, SmiKind::kProcessEnd);
  EXPECT_EQ(v[12].line, 13u);
}

TEST(SmiLog, MigrateEndWithTheTrailingErrorCode) {
  const std::vector<SmiRecord> v = parse("6 2000 -4242 @7f0000200(200) 0->cca3 1 -12\n6 2000 -4242 @7f0000200(200) 0->cca3 1 0\n");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].has_error);
  EXPECT_EQ(v[0].error, -12);
  EXPECT_EQ(v[0].trigger, 1);
  EXPECT_TRUE(v[1].has_error);
  EXPECT_EQ(v[1].error, 0);
}

TEST(SmiLog, QueueRestoreInEachFormIncludingTheNulBeforeTheNewline) {
  const std::string nul("a 4000 -4242 cca3 \0\n", 20);
  ASSERT_EQ(nul.size(), 20u);
  const std::vector<SmiRecord> v = parse(nul + "a 4100 -4242 cca3 R\n" + "a 4200 -4242 cca3\n" + std::string("a 4300 -4242 cca3\0\n", 19));
  ASSERT_EQ(v.size(), 4u);
  EXPECT_FALSE(v[0].rescheduled);
  EXPECT_EQ(v[0].node, 0xcca3u);
  EXPECT_TRUE(v[1].rescheduled);
  EXPECT_FALSE(v[2].rescheduled);
  EXPECT_FALSE(v[3].rescheduled);
  EXPECT_NE(error_of("a 4100 -4242 cca3 X\n").find("R or a NUL"), std::string::npos);
  EXPECT_NE(error_of(std::string("a 4100 -4242 \0cca3\n", 19)).find("NUL character inside"), std::string::npos);
}

TEST(SmiLog, Event14NeedsItsMeaningAndReadsAsEither) {
  const std::string log = "e 4000 -4242 cca3\n";
  const std::string e = error_of(log);
  EXPECT_NE(e.find("log.smi:1"), std::string::npos) << e;
  EXPECT_NE(e.find("--smi-event14"), std::string::npos) << e;
  SmiOptions restore;
  restore.event14 = SmiEvent14::kQueueRestoreRescheduled;
  const std::vector<SmiRecord> r = parse(log, restore);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, SmiKind::kQueueRestore);
  EXPECT_TRUE(r[0].rescheduled);
  EXPECT_EQ(r[0].id, 14u);
  SmiOptions dropped;
  dropped.event14 = SmiEvent14::kDroppedEvent;
  const std::vector<SmiRecord> d = parse(log, dropped);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, SmiKind::kDroppedEvent);
  EXPECT_FALSE(d[0].timed);
  EXPECT_EQ(d[0].text, "4000 -4242 cca3");
}

TEST(SmiLog, UnknownEventNumbersAreSkippedAndCounted) {
  std::map<uint32_t, uint64_t> unknown;
  const std::vector<SmiRecord> v =
      parse("f whatever\n7 900 -1 @1(1) R\n10 x\n0 zero\nf again\n\n# a comment\r\n", {}, &unknown);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].line, 2u);
  EXPECT_EQ(unknown.at(15), 2u);
  EXPECT_EQ(unknown.at(16), 1u);
  EXPECT_EQ(unknown.at(0), 1u);
}

TEST(SmiLog, CarriageReturnsAndUpperCaseHexAreAccepted) {
  const std::vector<SmiRecord> v = parse("7 900 -4242 @7F0000266(CCA3) R\r\n");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].addr_pages, 0x7f0000266u);
}

TEST(SmiLog, GarbledAndTruncatedLinesAreErrorsNamingTheLine) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"7 900 -4242 @7f0000266(cca3)\n", "before the fault's kind"},
      {"7 900 -4242 @7f0000266(cca3) Q\n", "W (write) or R"},
      {"8 900 -4242 @7f0000266(cca3) W\n", "M (migrated)"},
      {"5 1000 -4242 @7f0000200(200) 0->cca3 1\n", "prefetch"},
      {"5 1000 -4242 @7f0000200(200) 0-cca3 ffffffff:0 1\n", "'->'"},
      {"6 2000 -4242 @zz(200) 0->cca3 1\n", "the address"},
      {"6 2000 4242 @7f0000200(200) 0->cca3 1\n", "before the pid"},
      {"6 -2000 -4242 @7f0000200(200) 0->cca3 1\n", "timestamp"},
      {"6 2000 -4242 @7f0000200(200) 0->cca3 1 2 3\n", "unexpected text"},
      {"9 3000 -4242 cca3\n", "before the trigger"},
      {"9 3000 -4242 cca3 99999999999\n", "out of range"},
      {"7 99999999999999999999999 -1 @1(1) R\n", "wider than 64 bits"},
      {"7 9 -1 @1(1ffffffff) R\n", "wider than 32 bits"},
      {"7\n", "after the event number"},
      {"zz 1\n", "the event number"},
      {"2 5\n", "after the bitmask"},
      {"1 python3\n", "the pid"},
  };
  for (const auto& [text, what] : bad) {
    const std::string e = error_of("# header\n" + text);
    EXPECT_NE(e.find("log.smi:2"), std::string::npos) << text << " -> " << e;
    EXPECT_NE(e.find(what), std::string::npos) << text << " -> " << e;
  }
  EXPECT_NE(error_of(std::string(5000, '7')).find("longer than 4096"), std::string::npos);
}

// ---------------------------------------------------------------------------- import

std::string path_of(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("faultline-smi-test-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return (d / name).string();
}

std::string write(const std::string& name, const std::string& text) {
  const std::string p = path_of(name);
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

std::vector<pb::Record> read_all(const std::string& path) {
  Reader r(path);
  std::vector<pb::Record> v;
  pb::Record rec;
  while (r.next(&rec)) v.push_back(rec);
  return v;
}

// Two faults in flight at once (the second starts before the first ends) and a third after
// both: two streams; a prefetch migration and a CPU-fault migration become CPU operations.
const char* kLog =
    "7 1000 -77 @7f0000266(cca3) W\n"
    "7 1500 -77 @7f0000400(cca3) R\n"
    "5 1600 -77 @7f0000200(200) 0->cca3 ffffffff:ffffffff 1\n"
    "6 9000 -77 @7f0000200(200) 0->cca3 1\n"
    "8 9100 -77 @7f0000266(cca3) M\n"
    "8 9200 -77 @7f0000400(cca3) U\n"
    "7 9300 -77 @7f0000401(cca3) R\n"
    "8 9900 -77 @7f0000401(cca3) U\n"
    "5 20000 -77 @7f0010000(200) 0->cca3 cca3:ffffffff 0\n"
    "6 30000 -77 @7f0010000(200) 0->cca3 0 0\n"
    "5 40000 -77 @7f0000200(200) cca3->0 ffffffff:ffffffff 2\n"
    "6 45000 -77 @7f0000200(200) cca3->0 2\n"
    "1 4d:app\n";

TEST(ImportSmi, FaultsBecomeAccessesOnReconstructedStreamsAndMigrationsCpuOperations) {
  const std::string out = path_of("log.fltrace");
  const ImportSummary s = import_smi(write("log.smi", kLog), out, {});
  EXPECT_EQ(s.accesses, 3u);
  EXPECT_EQ(s.experiments, 1u);
  const std::vector<pb::Record> v = read_all(out);
  std::vector<pb::GpuAccess> acc;
  std::vector<faultline::workload::Op> ops;
  uint64_t driver = 0;
  for (const pb::Record& r : v) {
    if (r.has_access()) acc.push_back(r.access());
    if (r.has_cpu()) ops.push_back(r.cpu().op());
    if (r.has_driver()) ++driver;
  }
  EXPECT_EQ(driver, 12u);  // the timed events; VMFAULT is counted, not imported
  ASSERT_EQ(acc.size(), 3u);
  // The 2 MiB blocks named are 0x7f0000200000, 0x7f0000400000 and, 250 MiB further (more
  // than kRegionGapBytes), 0x7f0010000000: two regions, and only the first has faults.
  ASSERT_GE(ops.size(), 3u);
  EXPECT_TRUE(ops[0].has_mmap());
  EXPECT_EQ(ops[0].mmap().va(), 0x7f0000200000u);
  EXPECT_EQ(ops[0].mmap().size_bytes(), 4u << 20);
  EXPECT_TRUE(ops[1].has_mmap());
  EXPECT_EQ(ops[1].mmap().va(), 0x7f0010000000u);
  ASSERT_TRUE(ops[2].has_launch());
  EXPECT_EQ(ops[2].launch().cus() * ops[2].launch().waves_per_cu(), 2u);
  EXPECT_EQ(ops[2].launch().queue(), "smi0");
  EXPECT_EQ(acc[0].stream(), 0u);
  EXPECT_TRUE(acc[0].write());
  EXPECT_EQ(acc[0].issue_ps(), 0u);
  EXPECT_EQ(acc[0].offset_bytes(), 0x66000u);
  EXPECT_EQ(acc[1].stream(), 1u);  // the first was still in flight
  EXPECT_FALSE(acc[1].write());
  EXPECT_EQ(acc[1].issue_ps(), 500'000u);
  EXPECT_EQ(acc[2].stream(), 0u);  // both had ended: the lowest free stream
  EXPECT_EQ(acc[2].index(), 1u);
  // A sleep to 20000 ns, a prefetch of the second region, a sleep, a CPU touch, the wait.
  std::vector<std::string> kinds;
  for (size_t i = 3; i < ops.size(); ++i) {
    if (ops[i].has_sleep()) kinds.push_back("sleep " + std::to_string(static_cast<int>(ops[i].sleep().ns())));
    if (ops[i].has_set_attr()) kinds.push_back("prefetch " + ops[i].set_attr().range());
    if (ops[i].has_cpu_touch()) kinds.push_back("touch " + ops[i].cpu_touch().range() + " " + std::to_string(ops[i].cpu_touch().offset_bytes()));
    if (ops[i].has_wait()) kinds.push_back("wait " + ops[i].wait().kernel());
  }
  const std::vector<std::string> want = {"sleep 19000", "prefetch smi1", "sleep 20000", "touch smi0 0", "wait smi0"};
  EXPECT_EQ(kinds, want);
}

TEST(ImportSmi, SeveralProcessesNeedAPid) {
  const std::string in = write("two.smi", "7 1000 -1 @1(1) R\n7 1000 -2 @1(1) R\n7 1001 -2 @2(1) R\n");
  try {
    import_smi(in, path_of("two.fltrace"), {});
    FAIL() << "imported a log of two processes without --pid";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("1 (1 events), 2 (2 events)"), std::string::npos) << e.what();
  }
  SmiImportOptions o;
  o.pid = 2;
  EXPECT_EQ(import_smi(in, path_of("two.fltrace"), o).accesses, 2u);
  o.pid = 3;
  EXPECT_THROW(import_smi(in, path_of("two.fltrace"), o), InputError);
}

TEST(ImportSmi, BadLogsAreErrorsAndLeaveNoTrace) {
  const std::string out = path_of("bad.fltrace");
  for (const std::string& text : {std::string("7 1000 -1 @1(1) R\n7 x\n"), std::string("1 4d:app\n"),
                                  std::string("5 1 -1 @fffffffffffff(200) 0->1 0:0 0\n"),
                                  std::string("b 1 -1 @100(0) 1 0\n")}) {
    fs::remove(out);
    EXPECT_THROW(import_smi(write("bad.smi", text), out, {}), InputError) << text;
    EXPECT_FALSE(fs::exists(out)) << text;
  }
  EXPECT_THROW(import_smi(path_of("missing.smi"), out, {}), InputError);
}

// ---------------------------------------------------------------------------- compare

TEST(CompareSmi, MatchesEventsAboutTheSameThingAndListsTheRest) {
  const std::string measured = write("m.smi", kLog);
  // The simulated side: another pid and GPU id, later times, one fault missing and one extra.
  const std::string simulated = write("s.smi",
                                      "7 5000 -4242 @7f0000266(1002) W\n"
                                      "5 5600 -4242 @7f0000200(200) 0->1002 ffffffff:ffffffff 1\n"
                                      "6 15000 -4242 @7f0000200(200) 0->1002 1\n"
                                      "8 15100 -4242 @7f0000266(1002) M\n"
                                      "7 16000 -4242 @7f0000500(1002) R\n");
  const SmiComparison c = compare_smi(measured, simulated, {});
  EXPECT_EQ(c.measured_events, 12u);
  EXPECT_EQ(c.simulated_events, 5u);
  EXPECT_EQ(c.matched, 4u);
  EXPECT_NE(c.report.find("PAGE_FAULT_START           3         2         1         2         1"), std::string::npos) << c.report;
  EXPECT_NE(c.report.find("m.smi:2  t=0.500 us  PAGE_FAULT_START @7f0000400 R"), std::string::npos) << c.report;
  EXPECT_NE(c.report.find("s.smi:5"), std::string::npos) << c.report;
  // Fault durations: measured 8.1, 7.7, 0.6 us; simulated 10.1 us.
  EXPECT_NE(c.report.find("page fault             measured         3"), std::string::npos) << c.report;
  // The trace imported from the log compares the same as the log.
  const std::string trace = path_of("m.fltrace");
  import_smi(measured, trace, {});
  EXPECT_EQ(compare_smi(trace, simulated, {}).matched, 4u);
}

}  // namespace
}  // namespace fl::trace
