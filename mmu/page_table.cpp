#include "mmu/page_table.h"

#include <algorithm>

namespace fl::mmu {

namespace {
int ctz64(uint64_t v) { return v == 0 ? 63 : __builtin_ctzll(v); }
int floor_log2(uint64_t v) { return 63 - __builtin_clzll(v); }
// log2 of the pages one entry of `level` maps: 27, 18, 9, 0.
uint32_t level_pages_log2(int level) { return static_cast<uint32_t>(level_shift(level) - kPageShift); }
uint64_t pde_value(uint64_t table, bool system) {
  Entry e;
  e.valid = true;
  e.system = system;
  e.address = table;
  return e.encode_pde();
}
}  // namespace

PageTableBuilder::PageTableBuilder(bool tables_in_system, uint32_t max_fragment, AllocTable alloc,
                                   FreeTable free)
    : system_(tables_in_system),
      max_fragment_(std::min<uint32_t>(max_fragment, 31)),
      alloc_(std::move(alloc)),
      free_(std::move(free)),
      root_(alloc_()) {
  ++allocated_;
}

uint64_t PageTableBuilder::root_pde() const { return pde_value(root_, system_); }

uint32_t PageTableBuilder::fragment_for(uint64_t vpn, uint64_t ppn, uint64_t pages,
                                        uint32_t max_fragment) {
  if (pages == 0) return 0;
  const int f = std::min({ctz64(vpn), ctz64(ppn), floor_log2(pages), static_cast<int>(max_fragment), 31});
  return static_cast<uint32_t>(std::max(f, 0));
}

const uint64_t* PageTableBuilder::huge_at(uint64_t va, int level) const {
  const auto it = huge_.find({level, va >> level_shift(level)});
  return it == huge_.end() ? nullptr : &it->second;
}

void PageTableBuilder::drop_below(uint64_t va, int level) {
  // Everything under the entry of `level` covering va: tables of the levels below whose
  // key falls inside that entry's span, and huge entries there.
  const uint64_t span_shift = level_shift(level);
  const uint64_t first = (va >> span_shift) << span_shift;
  const uint64_t last = first + (uint64_t{1} << span_shift) - 1;
  for (int l = level + 1; l < kLevels; ++l) {
    const uint64_t kshift = level_shift(l - 1);
    auto it = tables_.lower_bound({l, first >> kshift});
    while (it != tables_.end() && it->first.first == l && it->first.second <= (last >> kshift)) {
      if (free_) free_(it->second);
      ++freed_;
      it = tables_.erase(it);
    }
    auto h = huge_.lower_bound({l, first >> level_shift(l)});
    while (h != huge_.end() && h->first.first == l && h->first.second <= (last >> level_shift(l))) {
      h = huge_.erase(h);
    }
  }
}

uint64_t PageTableBuilder::table_for(uint64_t va, int level, std::vector<PtWrite>& out) {
  if (level == kPdb2) return root_;
  const Key key{level, va >> level_shift(level - 1)};
  const auto it = tables_.find(key);
  if (it != tables_.end()) return it->second;
  const uint64_t parent = table_for(va, level - 1, out);
  const uint64_t table = alloc_();
  ++allocated_;
  tables_[key] = table;
  const Key parent_slot{level - 1, va >> level_shift(level - 1)};
  const auto huge = huge_.find(parent_slot);
  if (huge != huge_.end()) {
    // Split: the new table repeats the huge mapping with entries of its own level.
    const Entry h = Entry::decode_pte(huge->second);
    const uint64_t span = level_span(level);
    const uint64_t base_pa = h.address & ~(level_span(level - 1) - 1);
    uint64_t flags = huge->second & ~(pte::kAddrMask | pte::kFragMask | pte::kPdePte);
    if (level != kPtb) flags |= pte::kPdePte | pte::frag(level_pages_log2(level));
    out.push_back(PtWrite{table, system_, base_pa | flags, kEntriesPerTable, span, level});
    if (level != kPtb) {
      const uint64_t base_va = (va >> level_shift(level - 1)) << level_shift(level - 1);
      for (uint64_t i = 0; i < kEntriesPerTable; ++i) {
        huge_[{level, (base_va >> level_shift(level)) + i}] = (base_pa + i * span) | flags;
      }
    }
    huge_.erase(huge);
  }
  out.push_back(PtWrite{parent + level_index(va, level - 1) * 8, system_, pde_value(table, system_), 1, 0,
                        level - 1});
  return table;
}

void PageTableBuilder::write_huge(uint64_t va, int level, uint64_t value, std::vector<PtWrite>& out) {
  // Tables below this entry become unreachable: free them.
  const Key slot{level + 1, va >> level_shift(level)};
  const auto child = tables_.find(slot);
  if (child != tables_.end()) {
    drop_below(va, level);
  }
  huge_[{level, va >> level_shift(level)}] = value;
  (void)out;
}

void PageTableBuilder::map(uint64_t va, uint64_t pa, uint64_t pages, uint64_t flags,
                           std::vector<PtWrite>& out, uint32_t max_fragment) {
  flags &= ~(pte::kAddrMask | pte::kFragMask | pte::kPdePte);
  const uint32_t cap = std::min(max_fragment, max_fragment_);
  uint64_t done = 0;
  while (done < pages) {
    const uint64_t cur_va = va + done * kPageBytes;
    const uint64_t cur_pa = pa + done * kPageBytes;
    const uint64_t left = pages - done;
    const uint32_t frag = fragment_for(cur_va >> kPageShift, cur_pa >> kPageShift, left, cap);
    // The highest level whose entries this fragment covers whole (root level excluded).
    int level = kPtb;
    if (frag >= level_pages_log2(kPdb1)) {
      level = kPdb1;
    } else if (frag >= level_pages_log2(kPdb0)) {
      level = kPdb0;
    }
    const uint64_t entry_pages = uint64_t{1} << level_pages_log2(level);
    const uint64_t table = table_for(cur_va, level, out);
    const uint64_t idx = level_index(cur_va, level);
    // Entries of this table with the same fragment: whole fragment blocks (of 2^frag
    // pages) while the next block would get the same fragment, up to the table's end.
    const uint64_t block_pages = uint64_t{1} << frag;
    const uint64_t per_block = std::max<uint64_t>(1, block_pages / entry_pages);
    uint64_t n = std::min(per_block, kEntriesPerTable - idx);
    while (n == per_block * (n / per_block) && idx + n + per_block <= kEntriesPerTable &&
           (n + per_block) * entry_pages <= left) {
      const uint64_t off = n * entry_pages;
      const uint64_t next_va = (cur_va >> kPageShift) + off;
      const uint64_t next_pa = (cur_pa >> kPageShift) + off;
      if (fragment_for(next_va, next_pa, left - off, cap) != frag) break;
      n += per_block;
    }
    uint64_t value = cur_pa | flags | pte::frag(frag);
    if (level != kPtb) {
      value |= pte::kPdePte;
      for (uint64_t i = 0; i < n; ++i) {
        write_huge(cur_va + i * level_span(level), level, value + i * level_span(level), out);
      }
    }
    out.push_back(PtWrite{table + idx * 8, system_, value, n, level_span(level), level});
    done += n * entry_pages;
  }
}

void PageTableBuilder::unmap(uint64_t va, uint64_t pages, std::vector<PtWrite>& out) {
  const uint64_t end = va + pages * kPageBytes;
  uint64_t cur = va;
  while (cur < end) {
    // Find the level the mapping of `cur` sits at.
    int level = kPdb1;
    bool descended = true;
    while (descended) {
      descended = false;
      const uint64_t span = level_span(level);
      const uint64_t block = (cur >> level_shift(level)) << level_shift(level);
      if (huge_at(cur, level) != nullptr) {
        if (block == cur && block + span <= end) {
          const uint64_t parent = table_for(cur, level, out);
          out.push_back(PtWrite{parent + level_index(cur, level) * 8, system_, 0, 1, 0, level});
          huge_.erase({level, cur >> level_shift(level)});
          cur += span;
          break;
        }
        table_for(cur, level + 1, out);  // split, then clear part of it below
        ++level;
        descended = true;
        continue;
      }
      if (level == kPtb) {
        const auto it = tables_.find({kPtb, cur >> level_shift(kPdb0)});
        const uint64_t ptb_end = (cur | (level_span(kPdb0) - 1)) + 1;
        const uint64_t stop = std::min(end, ptb_end);
        if (it != tables_.end()) {
          out.push_back(PtWrite{it->second + level_index(cur, kPtb) * 8, system_, 0,
                                (stop - cur) / kPageBytes, 0, kPtb});
        }
        cur = stop;
        break;
      }
      // A table below this level?
      if (tables_.count({level + 1, cur >> level_shift(level)}) != 0) {
        ++level;
        descended = true;
        continue;
      }
      cur = std::min(end, block + span);  // nothing mapped in this entry's span
    }
  }
}

WalkStep walk_step(int level, uint64_t raw, uint64_t va) {
  WalkStep s;
  if ((raw & pte::kValid) == 0) return s;
  const bool huge = level != kPtb && level != kPdb2 && (raw & pte::kPdePte) != 0;
  if (level != kPtb && !huge) {
    const Entry e = Entry::decode_pde(raw);
    s.kind = WalkStep::kNext;
    s.next_table = e.address;
    s.next_system = e.system;
    return s;
  }
  const Entry e = Entry::decode_pte(raw);
  const uint64_t span = level_span(level);
  s.kind = WalkStep::kLeaf;
  s.pa = (e.address & ~(span - 1)) + (va & (span - 1) & ~(kPageBytes - 1));
  s.log2_pages = std::max(e.fragment, level_pages_log2(level));
  s.system = e.system;
  s.writeable = e.writeable;
  s.readable = e.readable;
  return s;
}

FunctionalTranslation walk_functional(const Read64& read, uint64_t root, bool root_system,
                                      uint64_t va) {
  FunctionalTranslation t;
  uint64_t table = root;
  bool system = root_system;
  for (int level = kPdb2; level < kLevels; ++level) {
    t.level = level;
    const WalkStep s = walk_step(level, read(table + level_index(va, level) * 8, system), va);
    if (s.kind == WalkStep::kInvalid) return t;
    if (s.kind == WalkStep::kLeaf) {
      t.valid = true;
      t.pa = s.pa;
      t.log2_pages = s.log2_pages;
      t.system = s.system;
      t.writeable = s.writeable;
      return t;
    }
    table = s.next_table;
    system = s.next_system;
  }
  return t;
}

}  // namespace fl::mmu
