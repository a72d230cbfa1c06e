// The interrupt handler on a bench, shared by the IH bench tests: sources post interrupts
// through one initiator, the IH's ring writes land in one Memory (standing for host
// memory), and the host's register writes come from a second initiator. A test derives
// from IhBench, implements run() (its SystemC thread) and keeps its own observations.
#pragma once

#include <array>
#include <cstring>
#include <string>

#include <gtest/gtest.h>
#include <systemc>

#include "hw/ih_entry.h"
#include "hw/interrupt_handler.h"
#include "hw/memory.h"
#include "sim/core/interrupt.h"
#include "sim/core/stats.h"
#include "sim/core/txn.h"

namespace fl::hw {

constexpr uint64_t kRing0 = 0x10000, kWb = 0x20000, kRing1 = 0x30000, kMsi = 0x40000;
constexpr uint32_t kMsiData = 0x55;

struct IhBench : sc_core::sc_module {
  SC_HAS_PROCESS(IhBench);
  IhBench(sc_core::sc_module_name n, const config::InterruptHandler& cfg)
      : sc_module(n),
        clock(1000),
        mem("mem", MemoryParams{1ULL << 24, 10, 100, 64}),
        ih("ih", cfg, clock, {"src"}, nullptr),
        src("src", [](Payload& gp) { gp.release(); }),
        cpu("cpu", [](Payload& gp) { gp.release(); }) {
    ih.out.socket.bind(mem.port.socket);
    src.socket.bind(ih.source("src").socket);
    cpu.socket.bind(ih.regs.port.socket);
    ih.program(kRing0, kWb, kRing1, kMsi, kMsiData);
    SC_THREAD(run);
  }

  void post(uint8_t client, uint8_t src_id, const std::array<uint32_t, 4>& data) {
    Txn& t = pool.acquire();
    t.setup(tlm::TLM_WRITE_COMMAND, 0, 0);
    InterruptExt& e = t.ensure<InterruptExt>();
    e = InterruptExt{};
    e.client_id = client;
    e.src_id = src_id;
    e.vmid = 8;
    e.pasid = 0x8000;
    e.src_data = data;
    src.send(t);
  }
  void reg_write(uint64_t reg, uint32_t v) {
    Txn& t = pool.acquire();
    t.setup(tlm::TLM_WRITE_COMMAND, reg, 4);
    std::memcpy(t.buffer(), &v, 4);
    cpu.send(t);
  }
  IhEntry entry(uint64_t addr) {
    IhEntry::Words w;
    mem.storage().read(addr, w.data(), kIhEntryBytes);
    return IhEntry::decode(w);
  }
  uint32_t read32(uint64_t a) {
    uint32_t v = 0;
    mem.storage().read(a, &v, 4);
    return v;
  }
  void settle() { sc_core::wait(sc_core::sc_time(1, sc_core::SC_US)); }
  // The bench's scenario, run as its SystemC thread.
  virtual void run() = 0;

  Clock clock;
  Memory mem;
  InterruptHandler ih;
  AtInitiatorPort src;
  AtInitiatorPort cpu;
  TxnPool pool;
};

// A stat of the bench's IH ("bench.ih.<name>"): counter, formula or value.
inline double ih_stat(const std::string& name) {
  for (const auto& s : stats::collect()) {
    if (s.name != "bench.ih." + name) continue;
    if (const auto* c = dynamic_cast<const stats::Counter*>(s.stat)) return static_cast<double>(c->value());
    if (const auto* f = dynamic_cast<const stats::Formula*>(s.stat)) return f->value();
    if (const auto* v = dynamic_cast<const stats::Value*>(s.stat)) return v->value();
  }
  ADD_FAILURE() << "no stat " << name;
  return -1;
}

}  // namespace fl::hw
