#include "sim/core/stats.h"

#include <algorithm>
#include <cmath>

namespace fl::stats {

Stat::Stat(Group& group, std::string name, std::string unit, std::string desc, Kind kind)
    : name_(std::move(name)), unit_(std::move(unit)), desc_(std::move(desc)), kind_(kind) {
  group.add(this);
}

// ------------------------------------------------------------------------ histogram

namespace {
constexpr int kMinExp = -40;  // values below 2^-41 share the lowest bucket
constexpr int kMaxExp = 80;
}  // namespace

int Histogram::bucket_of(double v) {
  int e = 0;
  const double m = std::frexp(v, &e);  // v = m * 2^e, m in [0.5, 1)
  e = std::clamp(e, kMinExp, kMaxExp);
  int sub = static_cast<int>((m - 0.5) * 2.0 * kSubBuckets);
  sub = std::clamp(sub, 0, kSubBuckets - 1);
  return (e - kMinExp) * kSubBuckets + sub;
}

double Histogram::bucket_mid(int index) {
  const int e = index / kSubBuckets + kMinExp;
  const int sub = index % kSubBuckets;
  const double lo = std::ldexp(0.5 + static_cast<double>(sub) / (2.0 * kSubBuckets), e);
  const double width = std::ldexp(1.0 / (2.0 * kSubBuckets), e);
  return lo + width / 2.0;
}

void Histogram::sample(double v) {
  if (count_ == 0) {
    min_ = max_ = v;
  } else {
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }
  ++count_;
  sum_ += v;
  if (!(v > 0.0)) {
    ++zeros_;
    return;
  }
  const int b = bucket_of(v);
  if (buckets_.empty()) {
    base_ = b;
    buckets_.assign(1, 0);
  } else if (b < base_) {
    buckets_.insert(buckets_.begin(), static_cast<size_t>(base_ - b), 0);
    base_ = b;
  } else if (b >= base_ + static_cast<int>(buckets_.size())) {
    buckets_.resize(static_cast<size_t>(b - base_ + 1), 0);
  }
  ++buckets_[static_cast<size_t>(b - base_)];
}

double Histogram::percentile(double p) const {
  if (count_ == 0) return 0.0;
  auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  if (rank <= zeros_) return std::clamp(0.0, min_, max_);
  uint64_t seen = zeros_;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      // The bucket of the min (or max) reports the min (max) itself: exact for the common
      // case of repeated extreme values, and within the bucket's width otherwise.
      const int b = base_ + static_cast<int>(i);
      if (min_ > 0.0 && b == bucket_of(min_)) return min_;
      if (b == bucket_of(max_)) return max_;
      return std::clamp(bucket_mid(b), min_, max_);
    }
  }
  return max_;
}

// ------------------------------------------------------------------------ groups

Group::Group() : sc_core::sc_object("stats") {
  sc_core::sc_object* parent = get_parent_object();
  prefix_ = parent != nullptr ? parent->name() : std::string();
}

Group::Group(const std::string& prefix) : sc_core::sc_object("stats"), prefix_(prefix) {}

namespace {
void walk(const std::vector<sc_core::sc_object*>& objects, std::vector<Named>& out) {
  for (sc_core::sc_object* o : objects) {
    if (auto* g = dynamic_cast<Group*>(o)) {
      for (const Stat* s : g->stats()) {
        out.push_back(Named{g->prefix().empty() ? s->name() : g->prefix() + "." + s->name(), s});
      }
    }
    walk(o->get_child_objects(), out);
  }
}
}  // namespace

std::vector<Named> collect() {
  std::vector<Named> out;
  walk(sc_core::sc_get_top_level_objects(), out);
  std::sort(out.begin(), out.end(),
            [](const Named& a, const Named& b) { return a.name < b.name; });
  return out;
}

}  // namespace fl::stats
