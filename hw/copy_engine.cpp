#include "hw/copy_engine.h"

#include <algorithm>
#include <cstring>

#include "hw/gpu_regs.h"
#include "sim/core/interrupt.h"
#include "sim/core/errors.h"

namespace fl::hw {

namespace {

// What a copy-engine transaction is for, so its response can be routed.
struct SdmaTag : tlm::tlm_extension<SdmaTag> {
  enum class Kind { kFetch, kCopyRead, kWrite, kPoll };
  Kind kind = Kind::kWrite;
  uint64_t offset = 0;  // byte offset in the packet
  tlm::tlm_extension_base* clone() const override { return new SdmaTag(*this); }
  void copy_from(const tlm::tlm_extension_base& o) override { *this = static_cast<const SdmaTag&>(o); }
};
}  // namespace

uint32_t SdmaPacket::size_bytes() const {
  switch (op) {
    case Op::kCopyLinear: return 7 * 4;
    case Op::kWrite: return 4 * 4 + static_cast<uint32_t>((data.size() + 3) / 4 * 4);
    case Op::kPtePde: return 10 * 4;
    case Op::kFence: return 4 * 4;
    case Op::kTrap: return 2 * 4;
    case Op::kPollRegMem: return 6 * 4;
  }
  return 0;
}

SdmaPacket SdmaPacket::copy(uint64_t src, bool src_system, uint64_t dst, bool dst_system,
                            uint64_t bytes) {
  SdmaPacket p;
  p.op = Op::kCopyLinear;
  p.src = src;
  p.src_system = src_system;
  p.dst = dst;
  p.dst_system = dst_system;
  p.bytes = bytes;
  return p;
}

SdmaPacket SdmaPacket::write(uint64_t dst, bool dst_system, std::vector<uint8_t> data) {
  SdmaPacket p;
  p.op = Op::kWrite;
  p.dst = dst;
  p.dst_system = dst_system;
  p.bytes = data.size();
  p.data = std::move(data);
  return p;
}

SdmaPacket SdmaPacket::pte_pde(uint64_t pe, uint64_t addr, uint64_t flags, uint64_t incr,
                               uint32_t count) {
  SdmaPacket p;
  p.op = Op::kPtePde;
  p.dst = pe;
  p.pte_addr = addr;
  p.pte_flags = flags;
  p.pte_incr = incr;
  p.pte_count = count;
  p.bytes = uint64_t{count} * 8;
  return p;
}

SdmaPacket SdmaPacket::fence(uint64_t dst, bool dst_system, uint32_t value) {
  SdmaPacket p;
  p.op = Op::kFence;
  p.dst = dst;
  p.dst_system = dst_system;
  p.value = value;
  p.bytes = 4;
  return p;
}

SdmaPacket SdmaPacket::trap(uint32_t context) {
  SdmaPacket p;
  p.op = Op::kTrap;
  p.value = context;
  return p;
}

SdmaPacket SdmaPacket::poll_regmem(uint64_t addr, bool system, uint32_t reference, uint32_t mask) {
  SdmaPacket p;
  p.op = Op::kPollRegMem;
  p.src = addr;
  p.src_system = system;
  p.value = reference;
  p.mask = mask;
  return p;
}

CopyEngine::CopyEngine(sc_core::sc_module_name name, const config::CopyEngine& cfg,
                       const Clock& clock, uint32_t engine)
    : sc_module(name),
      mem("mem", [this](Payload& gp) { on_mem_response(gp); }),
      ih_out("ih_out", AtInitiatorPort::ReleaseOnResponse{}),
      regs("regs", [](uint64_t) { return 0u; },
           [this](uint64_t o, uint32_t v) {
             if (o == regs::sdma_doorbell(engine_)) doorbell(v);
           }),
      cfg_(cfg),
      engine_(engine),
      overhead_(clock.cycles(cfg.packet_overhead_cycles())),
      poll_interval_(clock.cycles(cfg.poll_interval_cycles())),
      queue_("queue") {
  if (cfg.burst_bytes() > cfg.max_outstanding_bytes()) {
    throw InputError(std::string(this->name()) + ".burst_bytes = " +
                     std::to_string(cfg.burst_bytes()) + " exceeds " + this->name() +
                     ".max_outstanding_bytes = " + std::to_string(cfg.max_outstanding_bytes()));
  }
}

void CopyEngine::program_ring(uint64_t base, uint32_t bytes) {
  ring_base_ = base;
  ring_bytes_ = bytes;
}

uint32_t CopyEngine::write_ring(std::vector<SdmaPacket> packets) {
  for (auto& p : packets) {
    unfetched_bytes_ += p.size_bytes();
    if (unfetched_bytes_ >= ring_bytes_) {
      // The driver would stall for ring space (amdgpu_ring_alloc); that back-pressure is
      // not modelled, so the ring is sized never to need it.
      throw SimError(std::string(name()) + ": ring overflow (" + std::to_string(unfetched_bytes_) +
                     " bytes not yet fetched)");
    }
    cpu_wptr_ = (cpu_wptr_ + p.size_bytes()) % ring_bytes_;
    written_.push_back(Queued{std::move(p), cpu_wptr_});
  }
  return cpu_wptr_;
}

void CopyEngine::doorbell(uint32_t wptr) {
  doorbell_wptr_ = wptr % ring_bytes_;
  if (!fetching_) fetch();
}

void CopyEngine::fetch() {
  if (fetched_ == doorbell_wptr_) return;
  fetching_ = true;
  // One read of the new ring bytes; a wrap costs a second read's worth of bytes only.
  const uint32_t len = (doorbell_wptr_ + ring_bytes_ - fetched_) % ring_bytes_;
  Txn& t = pool_.acquire();
  t.setup_timing_only(tlm::TLM_READ_COMMAND, ring_base_ + fetched_, len);
  t.ext().system = true;
  t.ensure<SdmaTag>().kind = SdmaTag::Kind::kFetch;
  fetch_bytes_ += len;
  unfetched_bytes_ -= len;
  fetched_ = doorbell_wptr_;
  mem.send(t);
}

void CopyEngine::on_fetched() {
  fetching_ = false;
  // Every packet that ends at or before the fetched WPTR is now on chip.
  while (!written_.empty()) {
    ready_.push_back(std::move(written_.front().pkt));
    const bool last = written_.front().end_offset == fetched_;
    written_.pop_front();
    if (last) break;
  }
  if (!executing_) execute_next();
  if (fetched_ != doorbell_wptr_) fetch();
}

void CopyEngine::execute_next() {
  if (ready_.empty()) {
    executing_ = false;
    return;
  }
  if (cfg_.hang_after_packets() != 0 && packets_.value() >= cfg_.hang_after_packets()) {
    // Fault injection: the engine hangs with work queued; it stays busy for ever.
    executing_ = true;
    hung_.set(1);
    return;
  }
  executing_ = true;
  cur_ = std::move(ready_.front());
  ready_.pop_front();
  packet_start_ps_ = now_ps();
  queue_.schedule(overhead_, [this] { start_packet(); });
}

Txn& CopyEngine::new_txn(tlm::tlm_command cmd, uint64_t addr, bool system, uint32_t len) {
  Txn& t = pool_.acquire();
  t.setup(cmd, addr, len);
  t.ext().system = system;
  return t;
}

void CopyEngine::start_packet() {
  ++packets_;
  issued_ = 0;
  in_flight_reads_ = 0;
  outstanding_ = 0;
  switch (cur_.op) {
    case SdmaPacket::Op::kCopyLinear:
      ++copies_;
      issue_bursts();
      break;
    case SdmaPacket::Op::kWrite:
    case SdmaPacket::Op::kPtePde: {
      if (cur_.op == SdmaPacket::Op::kPtePde) {
        cur_.data.resize(cur_.pte_count * 8ULL);
        for (uint32_t i = 0; i < cur_.pte_count; ++i) {
          const uint64_t pte = (cur_.pte_addr + i * cur_.pte_incr) | cur_.pte_flags;
          std::memcpy(cur_.data.data() + i * 8ULL, &pte, 8);
        }
      }
      write_bytes_ += cur_.data.size();
      issue_bursts();
      break;
    }
    case SdmaPacket::Op::kFence: {
      cur_.data.resize(4);
      std::memcpy(cur_.data.data(), &cur_.value, 4);
      issue_bursts();
      break;
    }
    case SdmaPacket::Op::kTrap: {
      ++traps_;
      Txn& t = new_txn(tlm::TLM_WRITE_COMMAND, 0, false, 0);
      InterruptExt& irq = t.ensure<InterruptExt>();
      irq = InterruptExt{};
      irq.client_id = ih_client::kSdma[engine_];
      irq.src_id = ih_src::kSdmaTrap;
      irq.src_data[0] = cur_.value;
      ih_out.send(t);
      packet_done();
      break;
    }
    case SdmaPacket::Op::kPollRegMem:
      poll();
      break;
  }
}

void CopyEngine::poll() {
  ++polls_;
  Txn& t = new_txn(tlm::TLM_READ_COMMAND, cur_.src, cur_.src_system, 4);
  t.ensure<SdmaTag>() = SdmaTag{};
  t.ensure<SdmaTag>().kind = SdmaTag::Kind::kPoll;
  mem.send(t);
}

void CopyEngine::issue_bursts() {
  const uint64_t total = cur_.op == SdmaPacket::Op::kCopyLinear ? cur_.bytes : cur_.data.size();
  if (total == 0) {
    packet_done();
    return;
  }
  const uint64_t burst = cfg_.burst_bytes();
  while (issued_ < total) {
    const uint64_t len = std::min(burst, total - issued_);
    if (cur_.op == SdmaPacket::Op::kCopyLinear) {
      if (in_flight_reads_ + len > cfg_.max_outstanding_bytes()) break;
      Txn& t = new_txn(tlm::TLM_READ_COMMAND, cur_.src + issued_, cur_.src_system,
                       static_cast<uint32_t>(len));
      t.ensure<SdmaTag>() = SdmaTag{};
      t.ensure<SdmaTag>().kind = SdmaTag::Kind::kCopyRead;
      t.ensure<SdmaTag>().offset = issued_;
      in_flight_reads_ += len;
      mem.send(t);
    } else {
      Txn& t = new_txn(tlm::TLM_WRITE_COMMAND, cur_.dst + issued_, cur_.dst_system,
                       static_cast<uint32_t>(len));
      t.ensure<SdmaTag>().kind = SdmaTag::Kind::kWrite;
      std::memcpy(t.buffer(), cur_.data.data() + issued_, len);
      mem.send(t);
    }
    ++outstanding_;
    issued_ += len;
  }
}

void CopyEngine::on_mem_response(Payload& gp) {
  Txn& t = static_cast<Txn&>(gp);
  SdmaTag& tag = t.ensure<SdmaTag>();
  switch (tag.kind) {
    case SdmaTag::Kind::kFetch:
      t.release();
      on_fetched();
      return;
    case SdmaTag::Kind::kCopyRead: {
      // The burst has arrived: write it to the destination.
      const uint32_t len = t.get_data_length();
      in_flight_reads_ -= len;
      tag.kind = SdmaTag::Kind::kWrite;
      t.set_command(tlm::TLM_WRITE_COMMAND);
      t.set_address(cur_.dst + tag.offset);
      t.ext().system = cur_.dst_system;
      t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
      copy_bytes_ += len;
      mem.send(t);
      issue_bursts();
      return;
    }
    case SdmaTag::Kind::kPoll: {
      uint32_t v = 0;
      std::memcpy(&v, t.buffer(), 4);
      t.release();
      if ((v & cur_.mask) == (cur_.value & cur_.mask)) {
        packet_done();
      } else {
        queue_.schedule(poll_interval_, [this] { poll(); });
      }
      return;
    }
    case SdmaTag::Kind::kWrite:
      break;
  }
  t.release();
  const uint64_t total = cur_.op == SdmaPacket::Op::kCopyLinear ? cur_.bytes : cur_.data.size();
  if (--outstanding_ == 0 && issued_ >= total) {
    if (cur_.op == SdmaPacket::Op::kCopyLinear) {
      copy_ns_.sample(static_cast<double>(now_ps() - packet_start_ps_) / 1000.0);
    }
    packet_done();
  }
}

void CopyEngine::tl_packet() {
  static const char* const kOps[] = {"copy", "write", "pte_pde", "fence", "trap", "poll_regmem"};
  TimelineArgs a;
  switch (cur_.op) {
    case SdmaPacket::Op::kCopyLinear:
      a.num("bytes", cur_.bytes).str("dir", std::string(cur_.src_system ? "h" : "d") + "2" + (cur_.dst_system ? "h" : "d"));
      a.hex("src", cur_.src).hex("dst", cur_.dst);
      break;
    case SdmaPacket::Op::kWrite:
    case SdmaPacket::Op::kPtePde:
      a.num("bytes", cur_.data.size()).hex("dst", cur_.dst);
      break;
    case SdmaPacket::Op::kFence:
    case SdmaPacket::Op::kTrap:
      a.num("value", cur_.value);
      break;
    case SdmaPacket::Op::kPollRegMem:
      a.hex("addr", cur_.src);
      break;
  }
  tl_->slice(kOps[static_cast<int>(cur_.op)], packet_start_ps_, now_ps(), a);
}

void CopyEngine::packet_done() {
  busy_ns_.add(static_cast<double>(now_ps() - packet_start_ps_) / 1000.0);
  if (tl_ != nullptr) tl_packet();
  execute_next();
}

}  // namespace fl::hw
