// Typed statistics, owned by the module that produces them and named by the SystemC
// hierarchy (gem5's ADD_STAT, DRAMSys's collection by walking the object tree).
//
// A module holds a stats::Group (an sc_object child named "stats") and declares its stats
// as members registered with it:
//
//   stats::Group stats_;                       // constructed inside the module
//   stats::Counter hits_{stats_, "hits", "count", "Lookups that hit"};
//
// A stat's full name is its module's name plus its own: "soc.gpu.utcl2.hits". collect()
// walks the whole SystemC hierarchy and returns every stat of every group. Units follow
// the naming rule: a stat measured in ns ends in _ns, in bytes in _bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>
#include <systemc>

namespace fl::stats {

class Group;

class Stat {
 public:
  enum class Kind { kCounter, kValue, kHistogram, kFormula };

  Stat(Group& group, std::string name, std::string unit, std::string desc, Kind kind);
  Stat(const Stat&) = delete;
  Stat& operator=(const Stat&) = delete;
  virtual ~Stat() = default;

  const std::string& name() const { return name_; }
  const std::string& unit() const { return unit_; }
  const std::string& desc() const { return desc_; }
  Kind kind() const { return kind_; }

 private:
  std::string name_;
  std::string unit_;
  std::string desc_;
  Kind kind_;
};

// A monotonically increasing event count.
class Counter : public Stat {
 public:
  Counter(Group& g, std::string name, std::string unit, std::string desc)
      : Stat(g, std::move(name), std::move(unit), std::move(desc), Kind::kCounter) {}
  Counter& operator++() {
    ++v_;
    return *this;
  }
  Counter& operator+=(uint64_t n) {
    v_ += n;
    return *this;
  }
  uint64_t value() const { return v_; }

 private:
  uint64_t v_ = 0;
};

// A real-valued quantity that is accumulated or set (busy time, a maximum).
class Value : public Stat {
 public:
  Value(Group& g, std::string name, std::string unit, std::string desc)
      : Stat(g, std::move(name), std::move(unit), std::move(desc), Kind::kValue) {}
  void add(double d) { v_ += d; }
  void set(double d) { v_ = d; }
  void set_max(double d) { v_ = d > v_ ? d : v_; }
  double value() const { return v_; }

 private:
  double v_ = 0;
};

// A distribution: exact count, sum, min and max; percentiles from log-linear buckets
// (128 per power of two, so a reported percentile is within 0.4% of a sample value; a
// percentile falling in the bucket of the min or the max reports that min or max, so it is
// exact when the samples there all equal it).
class Histogram : public Stat {
 public:
  Histogram(Group& g, std::string name, std::string unit, std::string desc)
      : Stat(g, std::move(name), std::move(unit), std::move(desc), Kind::kHistogram) {}

  void sample(double v);

  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  double min() const { return count_ ? min_ : 0.0; }
  double max() const { return count_ ? max_ : 0.0; }
  // Nearest-rank percentile, p in (0, 100].
  double percentile(double p) const;

  static constexpr int kSubBuckets = 128;

 private:
  static int bucket_of(double v);
  static double bucket_mid(int index);

  uint64_t count_ = 0;
  double sum_ = 0;
  double min_ = 0;
  double max_ = 0;
  uint64_t zeros_ = 0;           // samples <= 0
  int base_ = 0;                 // bucket index of buckets_[0]
  std::vector<uint64_t> buckets_;
};

// A value derived from other stats when stats are collected.
class Formula : public Stat {
 public:
  Formula(Group& g, std::string name, std::string unit, std::string desc,
          std::function<double()> fn)
      : Stat(g, std::move(name), std::move(unit), std::move(desc), Kind::kFormula),
        fn_(std::move(fn)) {}
  double value() const { return fn_(); }

 private:
  std::function<double()> fn_;
};

// The stats of one module. Construct it inside the module's constructor so that it
// becomes that module's child; its prefix is the module's hierarchical name.
class Group : public sc_core::sc_object {
 public:
  Group();
  // A group for a parent that is not the module under construction.
  explicit Group(const std::string& prefix);
  const char* kind() const override { return "fl_stats_group"; }

  const std::string& prefix() const { return prefix_; }
  const std::vector<Stat*>& stats() const { return stats_; }
  void add(Stat* s) { stats_.push_back(s); }

 private:
  std::string prefix_;
  std::vector<Stat*> stats_;
};

struct Named {
  std::string name;  // full dotted name
  const Stat* stat;
};

// Every stat of every group in the SystemC hierarchy, sorted by full name.
std::vector<Named> collect();

}  // namespace fl::stats
