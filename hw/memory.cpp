#include "hw/memory.h"

#include <algorithm>
#include <string>

#include "sim/core/errors.h"
#include "sim/core/time.h"
#include "sim/core/txn.h"

namespace fl::hw {

namespace {
bool power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }
}  // namespace

double Memory::to_ns_now() { return to_ns(sc_core::sc_time_stamp()); }

Memory::Memory(sc_core::sc_module_name name, const MemoryParams& p, const std::string& key)
    : sc_module(name),
      port("port", [this](Payload& gp) { on_request(gp); },
           [this](Payload& gp) { return on_debug(gp); }),
      params_(p),
      storage_(p.bytes),
      latency_(from_ns(p.latency_ns)),
      row_miss_ps_(from_ns(p.row_miss_ns).value()),
      channel_gb_per_s_(p.bandwidth_gb_per_s / p.channels),
      busy_until_ps_(p.channels, 0),
      open_row_(static_cast<size_t>(p.channels) * p.banks, ~uint64_t{0}) {
  const std::string k = key.empty() ? std::string(name) : key;
  if (!power_of_two(p.interleave_bytes)) {
    throw InputError(k + ".interleave_bytes = " + std::to_string(p.interleave_bytes) + ": must be a power of two");
  }
  if (!power_of_two(p.row_bytes)) {
    throw InputError(k + ".row_bytes = " + std::to_string(p.row_bytes) + ": must be a power of two");
  }
}

uint64_t Memory::service_ps(uint64_t granules) {
  // Most pieces are one granule: keep the last answer (the conversion rounds through
  // floating point in an out-of-line call).
  if (granules != service_granules_) {
    service_granules_ = granules;
    service_ps_ = transfer_time(granules * params_.access_bytes, channel_gb_per_s_).value();
  }
  return service_ps_;
}

Memory::Place Memory::place(uint64_t addr) const {
  const uint64_t unit = addr / params_.interleave_bytes;
  const auto channel = static_cast<uint32_t>(unit % params_.channels);
  // Address within the channel: its interleave units packed together.
  const uint64_t local = unit / params_.channels * params_.interleave_bytes + addr % params_.interleave_bytes;
  const uint64_t row_index = local / params_.row_bytes;
  return Place{channel, static_cast<uint32_t>(row_index % params_.banks), row_index / params_.banks};
}

void Memory::watch_writes(uint64_t addr, std::function<void()> fn) {
  watch_addr_ = addr;
  watch_ = std::move(fn);
}

void Memory::on_request(Payload& gp) {
  const uint64_t addr = gp.get_address();
  const uint64_t len = gp.get_data_length();
  if (!storage_.contains(addr, len)) {
    SC_REPORT_ERROR(name(), ("access beyond capacity at 0x" + std::to_string(addr)).c_str());
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    port.respond(gp);
    return;
  }
  const bool functional = !txn_ext(gp).timing_only && gp.get_data_ptr() != nullptr;
  if (gp.is_read()) {
    if (functional) storage_.read(addr, gp.get_data_ptr(), len);
    ++reads_;
    read_bytes_ += len;
  } else if (gp.is_write()) {
    if (functional) storage_.write(addr, gp.get_data_ptr(), len);
    ++writes_;
    write_bytes_ += len;
  }
  const uint64_t now = sc_core::sc_time_stamp().value();
  uint64_t done = now;
  uint64_t first_start = ~uint64_t{0};
  // Pieces at interleave boundaries, each on its channel. The pieces of one request are
  // consecutive interleave units, so the channel and the unit's place within the channel
  // step along instead of being divided out again for each piece (as place() does).
  const uint64_t ib = params_.interleave_bytes;
  const uint64_t end = addr + std::max<uint64_t>(len, 1);
  uint64_t a = addr;
  uint64_t unit = addr / ib;
  uint64_t channel_unit = unit / params_.channels;  // the unit's index within its channel
  auto channel = static_cast<uint32_t>(unit % params_.channels);
  while (a < end) {
    const uint64_t stop = std::min(end, (unit + 1) * ib);
    const uint64_t n = stop - a;
    const uint64_t row_index = (channel_unit * ib + a % ib) / params_.row_bytes;
    const auto bank = static_cast<uint32_t>(row_index % params_.banks);
    const uint64_t row = row_index / params_.banks;
    const uint64_t granules = std::max<uint64_t>(1, (n + params_.access_bytes - 1) / params_.access_bytes);
    const uint64_t service = service_ps(granules);
    uint64_t& busy = busy_until_ps_[channel];
    const uint64_t start = std::max(now, busy);
    first_start = std::min(first_start, start);
    busy = start + service;
    busy_ns_.add(static_cast<double>(service) / 1000.0);
    uint64_t& open = open_row_[static_cast<size_t>(channel) * params_.banks + bank];
    uint64_t finish = busy;
    if (open == row) {
      ++row_hits_;
    } else {
      ++row_misses_;
      open = row;
      finish += row_miss_ps_;
    }
    done = std::max(done, finish);
    a = stop;
    ++unit;
    if (++channel == params_.channels) {
      channel = 0;
      ++channel_unit;
    }
  }
  queue_ns_.sample(static_cast<double>(first_start - now) / 1000.0);
  if (watch_ && gp.is_write() && watch_addr_ >= addr && watch_addr_ < addr + len) watch_();
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  port.respond(gp, ps(done - now) + latency_);
}

unsigned Memory::on_debug(Payload& gp) {
  const uint64_t addr = gp.get_address();
  const uint64_t len = gp.get_data_length();
  if (!storage_.contains(addr, len)) return 0;
  if (gp.is_read()) {
    storage_.read(addr, gp.get_data_ptr(), len);
  } else if (gp.is_write()) {
    storage_.write(addr, gp.get_data_ptr(), len);
  }
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  return static_cast<unsigned>(len);
}

}  // namespace fl::hw
