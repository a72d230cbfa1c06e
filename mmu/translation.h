// The translation protocol between a GPU client (compute units) and UTCL2: a transaction
// with TLM_IGNORE_COMMAND whose address is the virtual address, carrying this extension.
#pragma once

#include <cstdint>
#include <tlm>

namespace fl::mmu {

struct TranslationExt : tlm::tlm_extension<TranslationExt> {
  enum class Status {
    kOk,     // translated: pa, system
    kRetry,  // NACK: a retry fault was raised; replay the access later
  };
  // Request.
  uint8_t vmid = 0;
  uint16_t pasid = 0;  // as the IH's VMID-to-PASID table would give it
  bool write = false;
  // Response.
  Status status = Status::kOk;
  uint64_t pa = 0;
  bool system = false;
  // On kRetry: the fault-ledger id of the walk's fault report and when it was detected
  // (simulator instrumentation).
  uint64_t fault_report = 0;
  uint64_t fault_detect_ps = 0;

  void reset_response() {
    status = Status::kOk;
    pa = 0;
    system = false;
    fault_report = 0;
    fault_detect_ps = 0;
  }
  tlm::tlm_extension_base* clone() const override { return new TranslationExt(*this); }
  void copy_from(const tlm::tlm_extension_base& o) override {
    *this = static_cast<const TranslationExt&>(o);
  }
};

}  // namespace fl::mmu
