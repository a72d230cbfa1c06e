// The translation protocol between GPU translation clients and the VM L2 block: a
// transaction with TLM_IGNORE_COMMAND whose address is the virtual address, carrying this
// extension. Compute units ask UTCL1 (a direct call inside the shader array); UTCL1 asks
// UTCL2 over an AT link with the same extension.
#pragma once

#include <cstdint>
#include <tlm>

namespace fl::mmu {

struct TranslationExt : tlm::tlm_extension<TranslationExt> {
  enum class Status {
    kOk,     // translated: pa, system, the block it covers
    kRetry,  // NACK: a retry fault was raised; replay the access later
    kFault,  // no-retry VMID: the fault is fatal (a VM-fault interrupt was raised)
  };
  // Request.
  uint8_t vmid = 0;
  bool write = false;
  // Response.
  Status status = Status::kOk;
  uint64_t pa = 0;          // physical address of the requested byte
  bool system = false;
  bool writeable = false;
  uint32_t log2_pages = 0;  // the naturally aligned block of 4 KiB pages the translation covers
  uint16_t pasid = 0;       // of the VMID, from the PASID mapping (fault reports)
  // On kRetry/kFault: the fault-ledger id of the walk's fault report and when it was
  // detected (simulator instrumentation).
  uint64_t fault_report = 0;
  uint64_t fault_detect_ps = 0;

  void reset_response() {
    status = Status::kOk;
    pa = 0;
    system = false;
    writeable = false;
    log2_pages = 0;
    fault_report = 0;
    fault_detect_ps = 0;
  }
  tlm::tlm_extension_base* clone() const override { return new TranslationExt(*this); }
  void copy_from(const tlm::tlm_extension_base& o) override {
    *this = static_cast<const TranslationExt&>(o);
  }
};

// Which cached translations an invalidation drops.
struct InvalidationScope {
  uint32_t vmid_mask = 0;
  bool range = false;  // only pages [first_page, last_page] of the VMIDs
  uint64_t first_page = 0;
  uint64_t last_page = 0;
};

// A translation cache below UTCL2 (UTCL1) that UTCL2's invalidation engine reaches.
class InvalidationTarget {
 public:
  virtual ~InvalidationTarget() = default;
  // An invalidation was requested (and again when it completes): translations requested
  // before this point must not be installed when their answer arrives.
  virtual void invalidation_fence(uint32_t vmid_mask) = 0;
  // Drop the entries in scope (at the invalidation's completion, before its ACK).
  virtual uint32_t invalidate(const InvalidationScope& scope) = 0;
};

}  // namespace fl::mmu
