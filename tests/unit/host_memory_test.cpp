// Host-memory admission (sim/platform/host_memory.h): the estimate grows with what the
// operations can make the models hold, is bounded by the range, and a run the limit cannot
// hold is refused with an error naming the operation.
#include <gtest/gtest.h>

#include <string>

#include <google/protobuf/text_format.h>

#include "driver-model/address_space.h"
#include "sim/core/config_loader.h"
#include "sim/core/errors.h"
#include "sim/platform/host_memory.h"

namespace fl::platform {
namespace {

Workload parse(const std::string& text) {
  Workload w;
  w.source = "w.textproto";
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &w.msg));
  w.lines.assign(static_cast<size_t>(w.msg.op_size()), 0);
  return w;
}

std::string launch_on(uint64_t bytes, uint64_t stride, uint64_t accesses) {
  return "op { mmap { name: \"buf\" size_bytes: " + std::to_string(bytes) + " } }\n" +
         "op { launch { range: \"buf\" pattern: STRIDED stride_bytes: " + std::to_string(stride) +
         " cus: 1 waves_per_cu: 1 accesses_per_wave: " + std::to_string(accesses) + " } }\n";
}

TEST(HostMemory, ExceptionEntryCostIsAHashNodeAndABucket) {
  // Next pointer + key + PageState (two bools and an optional frame: 24 bytes) = 40, in a
  // 48-byte malloc chunk with its header, plus the bucket pointer.
  EXPECT_EQ(driver::AddressSpace::kHostBytesPerExceptionPage, 56u);
}

TEST(HostMemory, LaunchCostsPerPageItCanMapBoundedByAccessesAndRange) {
  const ResolvedConfig rc = resolve_config("", {}, std::nullopt);
  const uint64_t per_page = 8 + 2 + driver::AddressSpace::kHostBytesPerExceptionPage;
  const uint64_t window = uint64_t{1} << rc.msg.driver().svm().default_granularity();
  // 1000 accesses, each faulting its own window: bounded by the accesses.
  const HostMemoryEstimate few = estimate_host_memory(parse(launch_on(1ULL << 40, 1ULL << 30, 1000)), rc.msg);
  EXPECT_EQ(few.largest_bytes, 1000 * window * per_page);
  EXPECT_EQ(few.largest_op, "w.textproto: op 2 (launch)");
  // A 16 MiB range: bounded by the range, whatever the accesses.
  const HostMemoryEstimate small = estimate_host_memory(parse(launch_on(16 << 20, 4096, 1000000)), rc.msg);
  EXPECT_EQ(small.largest_bytes, 4096 * per_page);
  EXPECT_GT(few.bytes, few.largest_bytes);  // the base is added
}

TEST(HostMemory, ARunBeyondTheLimitIsRefusedNamingTheOperation) {
  const ResolvedConfig rc = resolve_config("", {"sim.host_memory_limit_bytes=1073741824"}, std::nullopt);
  // 16 TiB touched once per page: about 264 GiB of per-page state.
  const Workload big = parse(launch_on(16ULL << 40, 4096, 1ULL << 32));
  try {
    check_host_memory(big, rc.msg);
    FAIL() << "not refused";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("1.00 GiB (1073741824 bytes) of sim.host_memory_limit_bytes"), std::string::npos) << m;
    EXPECT_NE(m.find("is w.textproto: op 2 (launch)"), std::string::npos) << m;
  }
  EXPECT_NO_THROW(check_host_memory(parse(launch_on(16 << 20, 4096, 100)), rc.msg));
}

TEST(HostMemory, TheHostReportsWhatItHasAvailable) {
  // Linux gives MemAvailable; this machine has memory, so the check is not silently off.
  EXPECT_GT(host_memory_available(), 0u);
}

}  // namespace
}  // namespace fl::platform
