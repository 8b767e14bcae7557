// Prometheus metrics: counters, gauges and histograms with labels, and the
// text exposition format (version 0.0.4) that Prometheus scrapes.
//
// A Registry owns metric families; a family owns one child per set of label
// values. Children are never removed, so a reference to one stays valid for
// the registry's lifetime: code on a hot path looks its child up once.
// Everything here is thread-safe. Updating a child is a few relaxed atomic
// operations; looking a child up takes a shared lock and a map search.
//
// State that is already kept elsewhere (tasks by status, devices in use) is
// better read at scrape time than mirrored: a Collector writes such gauges
// into the exposition when it is produced.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace berth::metrics {

using LabelValues = std::vector<std::string>;

class Counter {
 public:
  void Inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }  // by >= 0
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);  // ascending upper bounds, no +Inf
  void Observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// Seconds: 1 ms to 60 s, for request and commit latencies.
const std::vector<double>& LatencyBuckets();

enum class Type { kCounter, kGauge, kHistogram };

// Writes the exposition text. A Collector calls Family once, then Sample
// for each of its series.
class Exposition {
 public:
  // type "counter", "gauge", "histogram". A counter's name ends in _total.
  void Family(std::string_view name, std::string_view help, Type type);
  void Sample(std::string_view name, const std::vector<std::string>& label_names,
              const LabelValues& label_values, double value);
  // A histogram's _bucket, _sum and _count lines.
  void HistogramSamples(std::string_view name, const std::vector<std::string>& label_names,
                        const LabelValues& label_values, const std::vector<double>& bounds,
                        const Histogram::Snapshot& snapshot);
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// The escapes of the format: label values escape \ " and newline; HELP
// text escapes \ and newline.
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view help);
// A sample value: shortest round-trip form, +Inf, -Inf, NaN.
std::string FormatValue(double value);
// [a-zA-Z_:][a-zA-Z0-9_:]* (label names: no colon).
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}

  // The child with these label values (one per label name, in order);
  // created at first use.
  T& With(const LabelValues& values);
  T& With(std::initializer_list<std::string_view> values) {
    return With(LabelValues(values.begin(), values.end()));
  }

  const std::string& name() const { return name_; }
  void Write(Exposition& out) const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::shared_mutex mu_;
  std::map<LabelValues, std::unique_ptr<T>> children_;
};

class Registry {
 public:
  using Collector = std::function<void(Exposition&)>;

  // Registering a name again returns the family registered first (label
  // names and buckets are those of the first registration). Aborts on a
  // name or label name the format does not allow, or a name registered
  // with another type: those are programming errors.
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> bounds = LatencyBuckets());

  // Runs at every Expose until removed; returns an id for RemoveCollector.
  // A collector must not call into this registry.
  int AddCollector(Collector collector);
  void RemoveCollector(int id);

  // The text exposition of every family, by name, then the collectors'.
  std::string Expose() const;

 private:
  struct Entry {
    Type type;
    std::unique_ptr<Family<Counter>> counter;
    std::unique_ptr<Family<Gauge>> gauge;
    std::unique_ptr<Family<Histogram>> histogram;
  };
  Entry& Add(const std::string& name, Type type, const std::vector<std::string>& label_names);

  mutable std::mutex mu_;
  std::map<std::string, Entry> families_;
  std::map<int, Collector> collectors_;
  int next_collector_ = 0;
};

// The registry of the process, which /metrics serves.
Registry& DefaultRegistry();

// Removes a collector when it goes out of scope.
class ScopedCollector {
 public:
  ScopedCollector(Registry& registry, Registry::Collector collector)
      : registry_(registry), id_(registry.AddCollector(std::move(collector))) {}
  ~ScopedCollector() { registry_.RemoveCollector(id_); }
  ScopedCollector(const ScopedCollector&) = delete;
  ScopedCollector& operator=(const ScopedCollector&) = delete;

 private:
  Registry& registry_;
  int id_;
};

// The content type of the exposition.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace berth::metrics
