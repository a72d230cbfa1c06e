// KFD SMI event lines (driver-model/smi_events.h) against the kernel's formats: each line
// is "%x " (the event id, kfd_smi_event_add) plus the KFD_EVENT_FMT_* payload of
// include/uapi/linux/kfd_ioctl.h, which these tests parse back with sscanf using the
// kernel's own format strings.
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "driver-model/smi_events.h"

namespace fl::driver {
namespace {

constexpr uint32_t kPid = 4242;
constexpr uint32_t kGpu = 0xcca3;

TEST(SmiEvents, EveryEventParsesWithTheKernelFormat) {
  SmiEvents s(kPid, kGpu);
  s.vm_fault();
  s.page_fault_start(1000, 0x7f0000201000ULL, true);
  s.page_fault_end(2500, 0x7f0000201000ULL, true);
  s.migrate_start(1100, 0x7f0000200000ULL, 2ULL << 20, kSmiSysmem, kGpu, kSmiUndefined, kGpu, MigrateTrigger::kPagefaultGpu);
  s.migrate_end(1900, 0x7f0000200000ULL, 2ULL << 20, kSmiSysmem, kGpu, MigrateTrigger::kPagefaultGpu);
  s.queue_eviction(3000, EvictTrigger::kSvm);
  s.queue_restore(4000, false);
  s.queue_restore(5000, true);
  s.unmap_from_gpu(6000, 0x7f0000200000ULL, 8192, UnmapTrigger::kMmuNotifyMigrate);
  const auto& l = s.lines();
  ASSERT_EQ(l.size(), 9u);

  unsigned id = 0, pid = 0, node = 0, from = 0, to = 0, pf = 0, pr = 0;
  long long ns = 0;
  int ipid = 0, trig = 0;
  unsigned long addr = 0, size = 0;
  char c = 0;
  char name[32] = {};
  ASSERT_EQ(std::sscanf(l[0].c_str(), "%x %x:%31s\n", &id, &pid, name), 3) << l[0];
  EXPECT_EQ(id, 1u);
  EXPECT_EQ(pid, kPid);

  ASSERT_EQ(std::sscanf(l[1].c_str(), "%x %lld -%d @%lx(%x) %c\n", &id, &ns, &ipid, &addr, &node, &c), 6) << l[1];
  EXPECT_EQ(id, 7u);
  EXPECT_EQ(ns, 1000);
  EXPECT_EQ(ipid, static_cast<int>(kPid));
  EXPECT_EQ(addr, 0x7f0000201UL) << "addresses are in pages";
  EXPECT_EQ(node, kGpu);
  EXPECT_EQ(c, 'W');

  ASSERT_EQ(std::sscanf(l[2].c_str(), "%x %lld -%d @%lx(%x) %c\n", &id, &ns, &ipid, &addr, &node, &c), 6) << l[2];
  EXPECT_EQ(id, 8u);
  EXPECT_EQ(c, 'M');

  ASSERT_EQ(std::sscanf(l[3].c_str(), "%x %lld -%d @%lx(%lx) %x->%x %x:%x %d\n", &id, &ns, &ipid, &addr, &size, &from,
                        &to, &pf, &pr, &trig), 10) << l[3];
  EXPECT_EQ(id, 5u);
  EXPECT_EQ(size, 512UL) << "sizes are in pages";
  EXPECT_EQ(from, 0u);
  EXPECT_EQ(to, kGpu);
  EXPECT_EQ(pf, 0xffffffffu);
  EXPECT_EQ(pr, kGpu);
  EXPECT_EQ(trig, 1) << "KFD_MIGRATE_TRIGGER_PAGEFAULT_GPU";

  ASSERT_EQ(std::sscanf(l[4].c_str(), "%x %lld -%d @%lx(%lx) %x->%x %d\n", &id, &ns, &ipid, &addr, &size, &from, &to,
                        &trig), 8) << l[4];
  EXPECT_EQ(id, 6u);
  EXPECT_EQ(ns, 1900);

  ASSERT_EQ(std::sscanf(l[5].c_str(), "%x %lld -%d %x %d\n", &id, &ns, &ipid, &node, &trig), 5) << l[5];
  EXPECT_EQ(id, 9u);
  EXPECT_EQ(trig, 0) << "KFD_QUEUE_EVICTION_TRIGGER_SVM";

  ASSERT_EQ(std::sscanf(l[6].c_str(), "%x %lld -%d %x\n", &id, &ns, &ipid, &node), 4) << l[6];
  EXPECT_EQ(id, 0xau);
  EXPECT_EQ(l[6], "a 4000 -4242 cca3\n");
  ASSERT_EQ(std::sscanf(l[7].c_str(), "%x %lld -%d %x %c\n", &id, &ns, &ipid, &node, &c), 5) << l[7];
  EXPECT_EQ(c, 'R');

  ASSERT_EQ(std::sscanf(l[8].c_str(), "%x %lld -%d @%lx(%lx) %x %d\n", &id, &ns, &ipid, &addr, &size, &node, &trig), 7)
      << l[8];
  EXPECT_EQ(id, 0xbu);
  EXPECT_EQ(size, 2UL);
  EXPECT_EQ(trig, 1) << "KFD_SVM_UNMAP_TRIGGER_MMU_NOTIFY_MIGRATE";

  // Every line fits the kernel's 96-byte message buffer and ends in a newline.
  for (const auto& line : l) {
    EXPECT_LT(line.size(), 96u);
    EXPECT_EQ(line.back(), '\n');
  }
  EXPECT_EQ(s.count(SmiEvent::kQueueRestore), 2u);
}

TEST(SmiEvents, TriggerEnumsMatchTheUapi) {
  // include/uapi/linux/kfd_ioctl.h: enum KFD_MIGRATE_TRIGGERS, KFD_QUEUE_EVICTION_TRIGGERS,
  // KFD_SVM_UNMAP_TRIGGERS, and enum kfd_smi_event.
  EXPECT_EQ(static_cast<int>(MigrateTrigger::kTtmEviction), 3);
  EXPECT_EQ(static_cast<int>(EvictTrigger::kCriuRestore), 5);
  EXPECT_EQ(static_cast<int>(UnmapTrigger::kUnmapFromCpu), 2);
  EXPECT_EQ(static_cast<int>(SmiEvent::kUnmapFromGpu), 11);
  EXPECT_EQ(static_cast<int>(SmiEvent::kPageFaultStart), 7);
}

}  // namespace
}  // namespace fl::driver
