// Transactions: TLM generic payloads from a recycling pool, with the extensions faultline
// attaches to them.
//
// Every AT transaction in faultline is a pooled `Txn`: its data buffer and extensions are
// kept across reuse, so the per-access hot path allocates nothing once warmed up.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>
#include <tlm>

namespace fl {

// Attributes every transaction carries.
struct TxnExt : tlm::tlm_extension<TxnExt> {
  // Route to host memory over the host link (the PTE SYSTEM bit) rather than to VRAM.
  bool system = false;
  // A timing-only access: no data moves (compute-unit loads and stores, whose values the
  // workload never uses). Memories account for its size and latency only.
  bool timing_only = false;
  // Simulator instrumentation that rides along (fault ledger ids); no model reads it.
  uint64_t trace_id = 0;

  tlm::tlm_extension_base* clone() const override { return new TxnExt(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const TxnExt&>(other);
  }
};

class TxnPool;

class Txn : public tlm::tlm_generic_payload {
 public:
  explicit Txn(TxnPool* pool);

  TxnExt& ext() { return *ext_; }

  // Extension of type E owned by this transaction, created on first use and kept across
  // reuse. The caller re-initialises its fields for each use.
  template <class E>
  E& ensure() {
    E* e = get_extension<E>();
    if (e == nullptr) {
      e = new E();
      set_extension(e);  // freed by ~tlm_generic_payload
    }
    return *e;
  }

  // Sets up a read or write of `len` bytes at `addr` backed by this transaction's buffer.
  void setup(tlm::tlm_command cmd, uint64_t addr, uint32_t len);
  // Sets up a timing-only access (no data buffer).
  void setup_timing_only(tlm::tlm_command cmd, uint64_t addr, uint32_t len);

  uint8_t* buffer() { return buf_.data(); }
  const TxnPool* owner() const { return owner_; }

 private:
  friend class TxnPool;
  TxnPool* owner_;
  TxnExt* ext_;
  std::vector<uint8_t> buf_;
};

// Pool of transactions. acquire() returns a transaction with reference count 1; the last
// release() returns it here.
class TxnPool : public tlm::tlm_mm_interface {
 public:
  TxnPool() = default;
  TxnPool(const TxnPool&) = delete;
  TxnPool& operator=(const TxnPool&) = delete;
  ~TxnPool() override;

  Txn& acquire();
  void free(tlm::tlm_generic_payload* gp) override;

  size_t allocated() const { return all_.size(); }
  size_t in_use() const { return all_.size() - free_.size(); }

 private:
  std::vector<std::unique_ptr<Txn>> all_;
  std::vector<Txn*> free_;
};

// Whether `gp` is a transaction of `pool`.
inline bool from_pool(const tlm::tlm_generic_payload& gp, const TxnPool& pool) {
  const auto* t = dynamic_cast<const Txn*>(&gp);
  return t != nullptr && t->owner() == &pool;
}

inline TxnExt& txn_ext(tlm::tlm_generic_payload& gp) {
  TxnExt* e = gp.get_extension<TxnExt>();
  return *e;
}

}  // namespace fl
