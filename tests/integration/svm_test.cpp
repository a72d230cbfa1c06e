// KFD SVM end to end (issue 6): each step of the retry-fault service, the three
// MMU-notifier strategies and what the GPU sees after an invalidation (checked by the
// translation checker, sim.check_translations), fork with copy-on-write, and the SMI event
// stream against the fault ledger. Expectations come from the kernel's behaviour
// (driver-facts.md sections 1.5, 3, 4, 8) and the config's parameters, not from runs.
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"

namespace fl::test {
namespace {

// One SMI line, parsed with the kernel's format for its id.
struct Smi {
  unsigned id = 0;
  long long ns = 0;
  unsigned long addr = 0;  // pages
  unsigned long size = 0;  // pages
  unsigned from = 0, to = 0;
  int trigger = -1;
  char flag = 0;
};

std::vector<Smi> parse_smi(const std::string& text) {
  std::vector<Smi> out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const std::string line = text.substr(pos, nl - pos + 1);
    pos = nl + 1;
    Smi e;
    int pid = 0;
    unsigned node = 0, pf = 0, pr = 0;
    std::sscanf(line.c_str(), "%x", &e.id);
    int n = 0;
    switch (e.id) {
      case 7:
      case 8:
        n = std::sscanf(line.c_str(), "%x %lld -%d @%lx(%x) %c\n", &e.id, &e.ns, &pid, &e.addr, &node, &e.flag);
        EXPECT_EQ(n, 6) << line;
        break;
      case 5:
        n = std::sscanf(line.c_str(), "%x %lld -%d @%lx(%lx) %x->%x %x:%x %d\n", &e.id, &e.ns, &pid, &e.addr, &e.size,
                        &e.from, &e.to, &pf, &pr, &e.trigger);
        EXPECT_EQ(n, 10) << line;
        break;
      case 6:
        n = std::sscanf(line.c_str(), "%x %lld -%d @%lx(%lx) %x->%x %d\n", &e.id, &e.ns, &pid, &e.addr, &e.size, &e.from,
                        &e.to, &e.trigger);
        EXPECT_EQ(n, 8) << line;
        break;
      case 9:
        n = std::sscanf(line.c_str(), "%x %lld -%d %x %d\n", &e.id, &e.ns, &pid, &node, &e.trigger);
        EXPECT_EQ(n, 5) << line;
        break;
      case 10:
        n = std::sscanf(line.c_str(), "%x %lld -%d %x %c\n", &e.id, &e.ns, &pid, &node, &e.flag);
        EXPECT_GE(n, 4) << line;
        break;
      case 11:
        n = std::sscanf(line.c_str(), "%x %lld -%d @%lx(%lx) %x %d\n", &e.id, &e.ns, &pid, &e.addr, &e.size, &node,
                        &e.trigger);
        EXPECT_EQ(n, 7) << line;
        break;
      case 1:
        break;
      default:
        ADD_FAILURE() << "unexpected SMI event: " << line;
    }
    out.push_back(e);
  }
  return out;
}

struct SvmRun {
  RunResult r;
  std::vector<Smi> smi;
  std::vector<Smi> of(unsigned id) const {
    std::vector<Smi> v;
    for (const Smi& e : smi) {
      if (e.id == id) v.push_back(e);
    }
    return v;
  }
};

SvmRun run(const std::string& ops, std::vector<std::string> extra = {}) {
  const std::string d = temp_dir("svm");
  std::vector<std::string> args = {"run", "--quiet", "--workload", workload(d, ops), "--smi-events", d + "/smi.txt"};
  args.insert(args.end(), extra.begin(), extra.end());
  SvmRun out{run_faultline(args, d + "/out"), {}};
  if (out.r.status == 0) out.smi = parse_smi(read_file(d + "/smi.txt"));
  return out;
}

// One wave making `n` accesses (stride one page) from `offset` of `range`.
std::string touch(const std::string& range, uint64_t offset, uint64_t n = 1, const char* extra = "") {
  return "op { launch { range: \"" + range + "\" pattern: STRIDED stride_bytes: 4096 cus: 1 waves_per_cu: 1 "
         "outstanding_per_wave: 1 accesses_per_wave: " + std::to_string(n) + " offset_bytes: " +
         std::to_string(offset) + " " + extra + " } }\n";
}

constexpr uint64_t kMiB = 1ULL << 20;

// ------------------------------------------------------------------ retry-fault steps

TEST(SvmFault, UnregisteredRangeIsAlignedTo2MiBAndClippedToTheVmaAndNeighbours) {
  // VMA [0x7f0000100000, 0x7f0000500000); a registered range [0x...300000, 0x...380000).
  const std::string ops =
      "op { mmap { name: \"a\" size_bytes: 4194304 va: 0x7f0000100000 } }\n"
      "op { set_attr { range: \"a\" offset_bytes: 2097152 size_bytes: 524288 } }\n" +
      touch("a", 0) + "op { wait {} }\n" +            // block 0x...000000: clipped by the VMA start
      touch("a", 2 * kMiB + kMiB / 2) + "op { wait {} }\n" +  // block 0x...200000: clipped by the registered range
      touch("a", kMiB + kMiB / 2) + "op { wait {} }\n";        // between two ranges: clipped by the next
  const SvmRun x = run(ops, {"--set", "driver.svm.duplicate_window_ns=0"});
  ASSERT_EQ(x.r.status, 0) << x.r.err;
  EXPECT_EQ(x.r.num("driver.svm.ranges_created"), 3);
  // The default window (2^9 pages) clipped to each range shows the range in MIGRATE_START.
  const auto m = x.of(5);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].addr, 0x7f0000100UL);
  EXPECT_EQ(m[0].size, 0x100UL);  // [0x100000, 0x200000): from the VMA start to the 2 MiB boundary
  EXPECT_EQ(m[1].addr, 0x7f0000380UL);
  EXPECT_EQ(m[1].size, 0x80UL);   // [0x380000, 0x400000): from the registered range's end
  EXPECT_EQ(m[2].addr, 0x7f0000200UL);
  EXPECT_EQ(m[2].size, 0x100UL);  // [0x200000, 0x300000): up to the registered range
  for (const Smi& e : m) EXPECT_EQ(e.trigger, 1) << "PAGEFAULT_GPU";
}

TEST(SvmFault, DuplicateInsideTheWindowIsDroppedAndServicedAfterIt) {
  const std::string ops =
      "op { svm_alloc { name: \"buf\" size_bytes: 4194304 va: 0x7f0000000000 granularity: 0 } }\n" + touch("buf", 0) +
      "op { wait {} }\n" + touch("buf", 100 * 4096) + "op { wait {} }\n";
  const SvmRun x = run(ops);
  ASSERT_EQ(x.r.status, 0) << x.r.err;
  const double window = x.r.config.driver().svm().duplicate_window_ns();
  EXPECT_GE(x.r.num("fault.reports_duplicate"), 1);
  // The second page's fault is serviced only once the range's validation is 2 ms old.
  const auto ends = x.of(8);
  const auto starts = x.of(7);
  ASSERT_EQ(starts.size(), 2u);
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_EQ(starts[1].addr, 0x7f0000064UL);
  EXPECT_GE(static_cast<double>(starts[1].ns - ends[0].ns), window - 1);
  EXPECT_LT(static_cast<double>(starts[1].ns - ends[0].ns), 1.5 * window);
  // Without the window it is serviced at once.
  const SvmRun now = run(ops, {"--set", "driver.svm.duplicate_window_ns=0"});
  ASSERT_EQ(now.r.status, 0) << now.r.err;
  EXPECT_EQ(now.r.num("fault.reports_duplicate"), 0);
  // (Replays that fault again before the TLB flush are serviced again: 'U' updates.)
  long long second = -1;
  for (const Smi& e : now.of(7)) {
    if (e.addr == 0x7f0000064UL && second < 0) second = e.ns;
  }
  ASSERT_GE(second, 0);
  EXPECT_LT(static_cast<double>(second - now.of(8)[0].ns), window / 10);
}

TEST(SvmFault, LocationFollowsTheAttributes) {
  const struct {
    const char* attrs;
    const char* access_extra;
    char end;          // PAGE_FAULT_END flag, or 0 when the service fails
    size_t migrations;
  } cases[] = {
      {"preferred_loc: GPU", "", 'M', 1},          // preferred location: this GPU
      {"preferred_loc: SYSMEM", "", 'U', 0},       // preferred location: system memory
      {"access: ACCESS", "", 'M', 1},              // no preferred location: the faulting GPU has access
      {"access: ACCESS_IN_PLACE", "", 'U', 0},     // in place: where the range is (system memory)
      {"preferred_loc: GPU access: NO_ACCESS", "", 'M', 1},  // a preferred GPU wins before access is looked at
      {"access: NO_ACCESS", "", 0, 0},             // -EACCES
      {"flags { read_only: true }", "write_fraction: 1", 0, 0},  // -EPERM: a write to a read-only VMA
  };
  for (const auto& c : cases) {
    const std::string ops = "op { svm_alloc { name: \"buf\" size_bytes: 2097152 va: 0x7f0000000000 " +
                            std::string(c.attrs) + " } }\n" + touch("buf", 0, 1, c.access_extra) + "op { wait {} }\n";
    const SvmRun x = run(ops);
    ASSERT_EQ(x.r.status, 0) << c.attrs << ": " << x.r.err;
    EXPECT_EQ(x.of(5).size(), c.migrations) << c.attrs;
    if (c.end != 0) {
      ASSERT_EQ(x.of(8).size(), 1u) << c.attrs;
      EXPECT_EQ(x.of(8)[0].flag, c.end) << c.attrs;
      EXPECT_EQ(x.r.num("fault.count"), 1) << c.attrs;
      EXPECT_EQ(x.r.num("soc.gpu.cu.killed_kernels"), 0) << c.attrs;
    } else {
      // The failure writes a no-retry PTE: the replay is a fatal VM fault, the queue dies.
      EXPECT_EQ(x.of(7).size(), 0u) << c.attrs << ": no PAGE_FAULT_START before the location is known";
      EXPECT_EQ(x.r.num("driver.svm.failed"), 1) << c.attrs;
      EXPECT_EQ(x.r.num("fault.reports_failed"), 1) << c.attrs;
      EXPECT_EQ(x.r.num("soc.gpu.utcl2.fatal_faults"), 1) << c.attrs;
      EXPECT_EQ(x.r.num("driver.queue_kills"), 1) << c.attrs;
      EXPECT_EQ(x.of(1).size(), 1u) << c.attrs << ": VMFAULT event";
    }
  }
}

TEST(SvmFault, WindowIsTheGranularityAlignedAndClippedToTheRange) {
  // Range [0x7f0000008000, 0x7f0000030000) (40 pages), granularity 4 (16-page windows).
  const std::string ops =
      "op { svm_alloc { name: \"buf\" size_bytes: 163840 va: 0x7f0000008000 granularity: 4 } }\n" +
      touch("buf", 2 * 4096) + "op { wait {} }\n" + touch("buf", 30 * 4096) + "op { wait {} }\n" +
      touch("buf", 12 * 4096) + "op { wait {} }\n";
  const SvmRun x = run(ops, {"--set", "driver.svm.duplicate_window_ns=0"});
  ASSERT_EQ(x.r.status, 0) << x.r.err;
  const auto m = x.of(5);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].addr, 0x7f0000008UL);  // window [0x0, 0x10000) clipped to the range start
  EXPECT_EQ(m[0].size, 8UL);
  EXPECT_EQ(m[1].addr, 0x7f0000020UL);  // window [0x20000, 0x30000) ends with the range
  EXPECT_EQ(m[1].size, 16UL);
  EXPECT_EQ(m[2].addr, 0x7f0000010UL);  // an interior window is whole
  EXPECT_EQ(m[2].size, 16UL);
}

TEST(SvmFault, RangeChangedDuringMappingReturnsEagainAndTheFaultComesAgain) {
  // After fork the range's pages are copy-on-write. The fault maps page 0 (granularity 0)
  // and spends 500 us collecting it; meanwhile the CPU writes page 5 of the same range,
  // whose COW break invalidates the range's notifier interval: -EAGAIN, the filter entry
  // is removed, the replay faults again and is served.
  const std::string ops =
      "op { svm_alloc { name: \"buf\" size_bytes: 2097152 va: 0x7f0000000000 preferred_loc: SYSMEM granularity: 0 } }\n"
      "op { fork { child: \"c\" } }\n" +
      touch("buf", 0) + "op { sleep { ns: 100000 } }\n"
      "op { cpu_touch { range: \"buf\" offset_bytes: 20480 size_bytes: 4096 write: true } }\n"
      "op { wait {} }\n";
  const SvmRun x = run(ops, {"--set", "driver.svm.map_per_page_ns=500000"});
  ASSERT_EQ(x.r.status, 0) << x.r.err;
  EXPECT_EQ(x.r.num("driver.svm.eagain"), 1);
  EXPECT_EQ(x.r.num("fault.reports_retried"), 1);
  EXPECT_EQ(x.r.num("driver.irq.filter_removals"), 1);
  EXPECT_EQ(x.r.num("driver.svm.restored_mapped"), 1);
  EXPECT_EQ(x.r.num("soc.gpu.cu.killed_kernels"), 0);
  EXPECT_GE(x.r.num("driver.svm.notifier.events_clear"), 1);
  ASSERT_EQ(x.of(7).size(), 2u) << "the same page faults twice";
  EXPECT_EQ(x.of(7)[0].addr, x.of(7)[1].addr);
  // Without the concurrent write the first service succeeds.
  const std::string calm =
      "op { svm_alloc { name: \"buf\" size_bytes: 2097152 va: 0x7f0000000000 preferred_loc: SYSMEM granularity: 0 } }\n"
      "op { fork { child: \"c\" } }\n" + touch("buf", 0) + "op { wait {} }\n";
  const SvmRun y = run(calm, {"--set", "driver.svm.map_per_page_ns=500000"});
  ASSERT_EQ(y.r.status, 0) << y.r.err;
  EXPECT_EQ(y.r.num("driver.svm.eagain"), 0);
  EXPECT_EQ(y.of(7).size(), 1u);
}

// ------------------------------------------------------------------ notifier strategies

// A 2 MiB range in system memory, every page mapped on the GPU by a first kernel.
const std::string kMapped =
    "op { svm_alloc { name: \"buf\" size_bytes: 2097152 va: 0x7f0000000000 preferred_loc: SYSMEM } }\n" +
    touch("buf", 0, 512) + "op { wait {} }\n";
// A long kernel re-reading the range (random pages, 4 in flight).
const char* kLong =
    "op { launch { name: \"long\" range: \"buf\" pattern: RANDOM cus: 1 waves_per_cu: 1 outstanding_per_wave: 4 "
    "accesses_per_wave: 20000 } }\n";

TEST(SvmNotifier, UnmapFromGpuBlocksForTheUnmapAndTheGpuRefaultsTheNewPage) {
  // Page 5 (not page 0, whose entry the first service's flush dropped) is cached in the
  // TLBs when the parent writes it after fork; the second kernel reads it first.
  const std::string ops = kMapped +
                          "op { fork { child: \"c\" } }\n"
                          "op { cpu_touch { range: \"buf\" offset_bytes: 20480 size_bytes: 4096 write: true } }\n" +
                          touch("buf", 20480, 507) + "op { wait {} }\n";
  const SvmRun x = run(ops, {"--set", "sim.check_translations=true"});
  ASSERT_EQ(x.r.status, 0) << x.r.err;
  // fork write-protects the GPU-mapped pages: the notifier unmaps them from the GPU (PTEs,
  // fence, heavyweight flush) and fork waits for it.
  EXPECT_EQ(x.r.num("driver.svm.notifier.events_protection_page"), 1);
  const auto u = x.of(11);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].addr, 0x7f0000000UL);
  EXPECT_EQ(u[0].size, 512UL);
  EXPECT_EQ(u[0].trigger, 0) << "KFD_SVM_UNMAP_TRIGGER_MMU_NOTIFY";
  const double block = x.r.hist("driver.svm.notifier.block_ns_unmap_from_gpu", "max");
  EXPECT_GT(block, x.r.config.driver().vm().update_ns());
  EXPECT_GE(x.r.hist("workload.fork_ns", "max"), block);
  EXPECT_EQ(x.r.num("driver.queues.evictions"), 0);
  // The parent's write copies page 0 (MMU_NOTIFY_CLEAR); the GPU faults the range back and
  // never translates to a page the driver has replaced.
  EXPECT_GE(x.r.num("driver.svm.notifier.events_clear"), 1);
  EXPECT_GE(x.r.num("fault.count"), 2);
  EXPECT_GE(x.r.num("sim.checker.checked"), 1019);
  EXPECT_EQ(x.r.num("sim.checker.stale_translations"), 0);
  // The checker can fail: without the TLB flush the GPU keeps the old page 5.
  const SvmRun bad = run(ops, {"--set", "sim.check_translations=true", "--set", "driver.svm.unmap_skips_tlb_flush=true"});
  ASSERT_EQ(bad.r.status, 0) << bad.r.err;
  EXPECT_GE(bad.r.num("sim.checker.stale_translations"), 1);
}

TEST(SvmNotifier, EvictQueuesBlocksForThePreemptionAndRestoresAfterTheDelay) {
  // XNACK off: the range is mapped at svm_alloc; fork evicts the queues (CWSR) and the
  // restore worker maps the range again 1 ms later before the queues run again.
  const std::string ops = kMapped + kLong +
                          "op { sleep { ns: 20000 } }\n"
                          "op { fork { child: \"c\" } }\n"
                          "op { cpu_touch { range: \"buf\" size_bytes: 4096 write: true } }\n"
                          "op { wait {} }\n";
  const SvmRun x = run(ops, {"--set", "driver.vm.noretry=true", "--set", "sim.check_translations=true"});
  ASSERT_EQ(x.r.status, 0) << x.r.err;
  EXPECT_EQ(x.r.num("fault.reports"), 0) << "XNACK off: nothing faults";
  EXPECT_EQ(x.r.num("driver.queues.evictions"), 1);
  EXPECT_GE(x.r.num("soc.gpu.cp.unmaps"), 1);
  const double block = x.r.hist("driver.svm.notifier.block_ns_evict_queues", "max");
  EXPECT_GE(block, x.r.hist("driver.queues.evict_ns", "max"));
  EXPECT_GT(block, x.r.config.driver().kfd().evict_ns());
  EXPECT_GE(x.r.hist("workload.fork_ns", "max"), block);
  const auto ev = x.of(9);
  const auto rs = x.of(10);
  ASSERT_EQ(ev.size(), 1u);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(ev[0].trigger, 0) << "KFD_QUEUE_EVICTION_TRIGGER_SVM";
  EXPECT_GE(static_cast<double>(rs[0].ns - ev[0].ns), x.r.config.driver().svm().restore_delay_ns());
  EXPECT_GE(x.r.hist("driver.svm.restore_delay_ns", "min"), x.r.config.driver().svm().restore_delay_ns());
  EXPECT_EQ(x.r.num("soc.gpu.cu.killed_kernels"), 0);
  EXPECT_GT(x.r.num("sim.checker.checked"), 0);
  EXPECT_EQ(x.r.num("sim.checker.stale_translations"), 0);
}

TEST(SvmNotifier, WaitForGpuBlocksUntilTheKernelUsingTheMemoryEnds) {
  const std::string ops = kMapped + kLong +
                          "op { sleep { ns: 20000 } }\n"
                          "op { fork { child: \"c\" } }\n"
                          "op { cpu_touch { range: \"buf\" size_bytes: 4096 write: true } }\n" +
                          touch("buf", 0, 512, "name: \"after\"") + "op { wait {} }\n";
  const SvmRun x = run(ops, {"--set", "driver.svm.notifier_strategy=WAIT_FOR_GPU", "--set", "sim.check_translations=true"});
  ASSERT_EQ(x.r.status, 0) << x.r.err;
  // fork waited for the long kernel, which started 20 us before fork and its own work
  // (fork_ns, then a page-table copy of 512 pages) before the notifier.
  const double block = x.r.hist("driver.svm.notifier.block_ns_wait_for_gpu", "max");
  const double long_ns = x.r.hist("workload.kernel_ns", "max");
  const auto& mm = x.r.config.driver().mm();
  EXPECT_GT(block, long_ns - 20000 - mm.fork_ns() - 512 * mm.fork_per_page_ns() - 10000);
  EXPECT_GT(block, 0.9 * long_ns);
  EXPECT_GE(x.r.hist("workload.fork_ns", "max"), block);
  EXPECT_EQ(x.r.num("driver.queues.evictions"), 0);
  EXPECT_EQ(x.of(11).size(), 1u) << "then the range is unmapped from the GPU";
  EXPECT_EQ(x.r.num("sim.checker.stale_translations"), 0);
  EXPECT_GT(x.r.num("sim.checker.checked"), 20000);
}

TEST(SvmNotifier, WaitForGpuDeadlocksWhenTheKernelStillFaults) {
  // The policy question an architect asks: fork holds mmap_lock for writing while it waits
  // for the GPU, and the GPU waits for a fault the driver cannot serve without mmap_lock.
  const std::string ops =
      "op { svm_alloc { name: \"buf\" size_bytes: 8388608 va: 0x7f0000000000 } }\n"
      "op { launch { range: \"buf\" pattern: STRIDED stride_bytes: 4096 cus: 1 waves_per_cu: 1 } }\n"
      "op { sleep { ns: 300000 } }\n"  // the first 2 MiB is mapped; the kernel goes on faulting
      "op { fork { child: \"c\" } }\n"
      "op { wait {} }\n";
  const SvmRun x = run(ops, {"--set", "driver.svm.notifier_strategy=WAIT_FOR_GPU", "--set", "sim.watchdog_ns=20000000"});
  EXPECT_NE(x.r.status, 0);
  EXPECT_NE(x.r.err.find("fork"), std::string::npos) << x.r.err;
  // With the default strategy the same workload completes.
  const SvmRun ok = run(ops);
  EXPECT_EQ(ok.r.status, 0) << ok.r.err;
}

// ------------------------------------------------------------------ fork, CPU faults

TEST(SvmFork, ChildInheritsMappingsAsFlagged) {
  const std::string base =
      "op { mmap { name: \"keep\" size_bytes: 65536 } }\n"
      "op { mmap { name: \"private\" size_bytes: 65536 flags { dontcopy: true } } }\n"
      "op { fork { child: \"c\" } }\n"
      "op { cpu_touch { range: \"keep\" write: true process: \"c\" } }\n";
  const SvmRun ok = run(base);
  ASSERT_EQ(ok.r.status, 0) << ok.r.err;
  EXPECT_EQ(ok.r.num("driver.svm.cow_breaks"), 16) << "the child's writes copy every shared page";
  const SvmRun bad = run(base + "op { cpu_touch { range: \"private\" process: \"c\" } }\n");
  EXPECT_NE(bad.r.status, 0);
  EXPECT_NE(bad.r.err.find("SIGSEGV"), std::string::npos) << bad.r.err;
}

TEST(SvmFork, CpuAccessToVramPagesMigratesTheWindowBack) {
  const std::string ops =
      "op { svm_alloc { name: \"buf\" size_bytes: 2097152 va: 0x7f0000000000 granularity: 4 } }\n"
      "op { prefetch { range: \"buf\" } }\n"
      "op { cpu_touch { range: \"buf\" offset_bytes: 65536 size_bytes: 4096 } }\n" +
      touch("buf", 65536, 16) + "op { wait {} }\n";
  const SvmRun x = run(ops, {"--set", "sim.check_translations=true"});
  ASSERT_EQ(x.r.status, 0) << x.r.err;
  EXPECT_EQ(x.r.num("driver.svm.cpu_faults"), 1);
  EXPECT_EQ(x.r.num("driver.migrate.bytes_pagefault_cpu"), 65536) << "one 16-page window";
  EXPECT_EQ(x.r.num("driver.migrate.bytes_prefetch"), 2097152);
  const auto m = x.of(5);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].trigger, 0) << "KFD_MIGRATE_TRIGGER_PREFETCH";
  EXPECT_EQ(m[1].trigger, 2) << "KFD_MIGRATE_TRIGGER_PAGEFAULT_CPU";
  EXPECT_EQ(m[1].to, 0u);
  EXPECT_EQ(m[2].trigger, 1) << "the GPU's fault brings the window back to VRAM";
  // The window went back to system memory: its GPU mapping was removed (MMU_NOTIFY_MIGRATE)
  // and the GPU faults it in again, never reading the VRAM copy.
  const auto u = x.of(11);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].trigger, 1);
  EXPECT_GE(x.r.num("fault.count"), 1);
  EXPECT_EQ(x.r.num("sim.checker.stale_translations"), 0);
}

// ------------------------------------------------------------------ SMI stream

TEST(SvmSmi, PageFaultEndMinusStartIsTheDriverPartOfTheFaultLatency) {
  // One fault whose replay comes after the service (a long replay interval), so the
  // ledger's phases are not clipped by an early replay.
  const std::string ops = "op { mmap { name: \"buf\" size_bytes: 2097152 } }\n" + touch("buf", 0) + "op { wait {} }\n";
  const SvmRun x = run(ops, {"--set", "soc.gpu.cu.retry_interval_cycles=5000000"});
  ASSERT_EQ(x.r.status, 0) << x.r.err;
  ASSERT_EQ(x.r.num("fault.count"), 1);
  const auto s = x.of(7);
  const auto e = x.of(8);
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(s[0].addr, e[0].addr);
  EXPECT_EQ(s[0].flag, 'R');
  EXPECT_EQ(e[0].flag, 'M');
  double driver_part = 0;
  for (const char* p : {"migration", "pte_update", "tlb_invalidation"}) {
    driver_part += x.r.hist(std::string("fault.phase.") + p + "_ns", "mean");
  }
  EXPECT_NEAR(static_cast<double>(e[0].ns - s[0].ns), driver_part, 1.0);
  // MIGRATE_START/END bracket the migration inside it.
  const auto ms = x.of(5);
  const auto me = x.of(6);
  ASSERT_EQ(ms.size(), 1u);
  ASSERT_EQ(me.size(), 1u);
  EXPECT_GE(ms[0].ns, s[0].ns);
  EXPECT_LE(me[0].ns, e[0].ns);
  EXPECT_EQ(ms[0].size, 512UL);
}

}  // namespace
}  // namespace fl::test

namespace fl::test {
namespace {

// ------------------------------------------------------------------ calibration

TEST(Calibration, H200DemandFaultMinWithin15PercentAndMedianInTheMeasuredBand) {
  // hardware-figures.md A: min 20.7-21.2 us, p50 22.0-39.2 us (docs/calibration.md).
  const std::string d = temp_dir("svmcal");
  const RunResult r = run_faultline(
      {"run", "--quiet", "--config", std::string(FAULTLINE_SOURCE_DIR) + "/configs/h200-like.textproto", "--workload",
       std::string(FAULTLINE_SOURCE_DIR) + "/traces/workloads/fault_h200_isolated.textproto"},
      d + "/out");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.num("fault.count"), 512);
  EXPECT_NEAR(r.hist("fault.latency_ns", "min"), 21000, 0.15 * 21000);
  EXPECT_GE(r.hist("fault.latency_ns", "p50"), 22000);
  EXPECT_LE(r.hist("fault.latency_ns", "p50"), 39000);
}

// ------------------------------------------------------------------ bad input

TEST(SvmWorkload, BadOperationsNameFileAndLine) {
  const struct {
    const char* ops;
    const char* message;
  } cases[] = {
      {"op { mmap { name: \"a\" size_bytes: 65536 } }\nop { munmap { range: \"a\" offset_bytes: 100 } }\n",
       "page aligned"},
      {"op { mmap { name: \"a\" size_bytes: 65536 } }\nop { mprotect { range: \"a\" size_bytes: 131072 } }\n",
       "fit in 'a'"},
      {"op { mmap { name: \"a\" size_bytes: 65536 } }\nop { cpu_touch { range: \"a\" process: \"nobody\" } }\n",
       "no earlier fork"},
      {"op { fork { } }\n", "child name"},
      {"op { mmap { name: \"a\" size_bytes: 65536 } }\nop { launch { range: \"a\" } }\nop { set_xnack { enabled: false } }\n",
       "before the process's first queue"},
      {"op { vram_alloc { name: \"v\" size_bytes: 65536 } }\nop { munmap { range: \"v\" } }\n", "device memory"},
      {"op { mmap { name: \"a\" size_bytes: 65536 } }\nop { set_attr { range: \"a\" set_flags: 256 } }\n",
       "KFD_IOCTL_SVM_FLAG"},
  };
  for (const auto& c : cases) {
    const std::string d = temp_dir("svmbad");
    const RunResult r = run_faultline({"run", "--quiet", "--workload", workload(d, c.ops)});
    EXPECT_EQ(r.status, 2) << c.ops;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.ops << "\n" << r.err;
    EXPECT_NE(r.err.find("workload.textproto:"), std::string::npos) << r.err;
  }
  // A strategy that needs retry faults with XNACK off is a config error.
  const std::string d = temp_dir("svmbad");
  const RunResult r = run_faultline({"run", "--quiet", "--workload", workload(d, "op { sleep { ns: 1 } }\n"), "--set",
                                     "driver.vm.noretry=true", "--set", "driver.svm.notifier_strategy=UNMAP_FROM_GPU"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("UNMAP_FROM_GPU needs XNACK on"), std::string::npos) << r.err;
}

TEST(SvmWorkload, SmiEventsFileInAMissingDirectoryIsAnInputError) {
  const std::string d = temp_dir("svmbad");
  const RunResult r = run_faultline({"run", "--quiet", "--smi-events", d + "/no/such/dir/smi.txt"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--smi-events"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fl::test

namespace fl::test {
namespace {

TEST(SvmMapping, CpuPageTableUpdatesNeedNoCopyEngineJob) {
  // The isolated sysmem fault (no migration): with the CPU writing PTEs the fault's PTE
  // update is core time only (per entry + the HDP flush), no job and no fence.
  const std::string ops =
      "op { svm_alloc { name: \"buf\" size_bytes: 2097152 va: 0x7f0000000000 preferred_loc: SYSMEM } }\n"
      "op { launch { range: \"buf\" pattern: STRIDED stride_bytes: 4096 cus: 1 waves_per_cu: 1 "
      "outstanding_per_wave: 1 accesses_per_wave: 1 } }\nop { wait {} }\n";
  const std::vector<std::string> slow_replay = {"--set", "soc.gpu.cu.retry_interval_cycles=5000000"};
  const SvmRun sdma = run(ops, slow_replay);
  std::vector<std::string> cpu_args = slow_replay;
  cpu_args.insert(cpu_args.end(), {"--set", "driver.vm.update_mode=CPU"});
  const SvmRun cpu = run(ops, cpu_args);
  ASSERT_EQ(sdma.r.status, 0) << sdma.r.err;
  ASSERT_EQ(cpu.r.status, 0) << cpu.r.err;
  EXPECT_EQ(cpu.r.num("fault.count"), 1);
  EXPECT_GE(cpu.r.num("driver.vm.cpu_updates"), 1);
  EXPECT_EQ(sdma.r.num("driver.vm.cpu_updates"), 0);
  EXPECT_LT(cpu.r.num("driver.sdma.jobs"), sdma.r.num("driver.sdma.jobs"));
  // 512 PTEs plus three PDEs of new tables, and one flush.
  const auto& vm = cpu.r.config.driver().vm();
  const double expected = vm.update_ns() + 3 * vm.pt_alloc_ns() + 515 * vm.cpu_pte_ns() + vm.hdp_flush_ns();
  EXPECT_NEAR(cpu.r.hist("fault.phase.pte_update_ns", "mean"), expected, 1.0);
  EXPECT_LT(cpu.r.hist("fault.phase.pte_update_ns", "mean"), sdma.r.hist("fault.phase.pte_update_ns", "mean"));
}

TEST(SvmMigration, FullVramEvictsTheLeastRecentlyUsedRange) {
  // 16 MiB of VRAM: ranges are split at max_svm_range_pages (1/32 of VRAM, clamped to 512
  // pages: 2 MiB), each with its own 2 MiB buffer. Touching the four ranges of `a` fills
  // VRAM beside the page tables and the GART window; migrating into `b` evicts a's least
  // recently used ranges back to system memory (TTM_EVICTION), removing their GPU mappings.
  const auto each_range = [](const char* r) {
    return "op { launch { range: \"" + std::string(r) + "\" pattern: STRIDED stride_bytes: 2097152 cus: 1 "
           "waves_per_cu: 1 outstanding_per_wave: 1 accesses_per_wave: 4 } }\nop { wait {} }\n";
  };
  const std::string ops =
      "op { svm_alloc { name: \"a\" size_bytes: 8388608 va: 0x7f0000000000 preferred_loc: GPU } }\n"
      "op { svm_alloc { name: \"b\" size_bytes: 8388608 va: 0x7f0001000000 preferred_loc: GPU } }\n" +
      each_range("a") + each_range("b") + each_range("a");
  const SvmRun x = run(ops, {"--set", "soc.gpu.vram.capacity_bytes=16777216", "--set", "sim.check_translations=true"});
  ASSERT_EQ(x.r.status, 0) << x.r.err;
  EXPECT_EQ(x.r.num("driver.svm.ranges_created"), 0);
  for (const Smi& e : x.of(5)) EXPECT_EQ(e.size, 512UL) << "each range is one 2 MiB window";
  EXPECT_GE(x.r.num("driver.svm.vram_evictions"), 1);
  EXPECT_GE(x.r.num("driver.migrate.bytes_ttm_eviction"), 2097152);
  bool saw = false;
  for (const Smi& e : x.of(5)) saw |= e.trigger == 3 && e.addr == 0x7f0000000UL && e.to == 0;
  EXPECT_TRUE(saw) << "MIGRATE_START of range a back to system memory, trigger TTM_EVICTION";
  EXPECT_GE(x.of(11).size(), 1u) << "a's GPU mapping removed (MMU_NOTIFY_MIGRATE)";
  EXPECT_EQ(x.r.num("sim.checker.stale_translations"), 0);
  EXPECT_GT(x.r.num("sim.checker.checked"), 0);
}

}  // namespace
}  // namespace fl::test
