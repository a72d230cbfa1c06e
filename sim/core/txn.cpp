#include "sim/core/txn.h"

namespace fl {

Txn::Txn(TxnPool* pool) : tlm::tlm_generic_payload(pool), owner_(pool), ext_(new TxnExt()) {
  set_extension(ext_);
}

void Txn::setup(tlm::tlm_command cmd, uint64_t addr, uint32_t len) {
  if (buf_.size() < len) buf_.resize(len);
  set_command(cmd);
  set_address(addr);
  set_data_length(len);
  set_data_ptr(buf_.data());
  set_streaming_width(len);
  set_byte_enable_ptr(nullptr);
  set_byte_enable_length(0);
  set_dmi_allowed(false);
  set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  *ext_ = TxnExt();
}

void Txn::setup_timing_only(tlm::tlm_command cmd, uint64_t addr, uint32_t len) {
  setup(cmd, addr, 0);
  set_data_length(len);
  set_streaming_width(len);
  set_data_ptr(nullptr);
  ext_->timing_only = true;
}

TxnPool::~TxnPool() = default;

Txn& TxnPool::acquire() {
  Txn* t;
  if (free_.empty()) {
    all_.push_back(std::make_unique<Txn>(this));
    t = all_.back().get();
  } else {
    t = free_.back();
    free_.pop_back();
  }
  t->acquire();
  return *t;
}

void TxnPool::free(tlm::tlm_generic_payload* gp) { free_.push_back(static_cast<Txn*>(gp)); }

}  // namespace fl
