#include "common/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace berth::metrics {

namespace {

[[noreturn]] void Abort(const std::string& what) {
  std::fprintf(stderr, "berth metrics: %s\n", what.c_str());
  std::abort();
}

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const LabelValues& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

}  // namespace

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = total;
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  // The count is the +Inf bucket, so the two always agree.
  s.count = total;
  return s;
}

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> buckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,      2.5,   5,    10,    30,   60};
  return buckets;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, end);
}

static bool ValidName(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsValidMetricName(std::string_view name) { return ValidName(name, true); }
bool IsValidLabelName(std::string_view name) {
  return ValidName(name, false) && !name.starts_with("__");
}

void Exposition::Family(std::string_view name, std::string_view help, Type type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += EscapeHelp(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += TypeName(type);
  out_ += '\n';
}

void Exposition::Sample(std::string_view name, const std::vector<std::string>& label_names,
                        const LabelValues& label_values, double value) {
  out_ += name;
  AppendLabels(out_, label_names, label_values);
  out_ += ' ';
  out_ += FormatValue(value);
  out_ += '\n';
}

void Exposition::HistogramSamples(std::string_view name,
                                  const std::vector<std::string>& label_names,
                                  const LabelValues& label_values,
                                  const std::vector<double>& bounds,
                                  const Histogram::Snapshot& snapshot) {
  std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i <= bounds.size(); ++i) {
    out_ += bucket;
    AppendLabels(out_, label_names, label_values, "le",
                 i < bounds.size() ? FormatValue(bounds[i]) : "+Inf");
    out_ += ' ';
    out_ += std::to_string(snapshot.cumulative[i]);
    out_ += '\n';
  }
  Sample(std::string(name) + "_sum", label_names, label_values, snapshot.sum);
  Sample(std::string(name) + "_count", label_names, label_values,
         static_cast<double>(snapshot.count));
}

template <typename T>
T& Family<T>::With(const LabelValues& values) {
  if (values.size() != label_names_.size()) {
    Abort(name_ + ": " + std::to_string(values.size()) + " label values for " +
          std::to_string(label_names_.size()) + " labels");
  }
  {
    std::shared_lock lock(mu_);
    if (auto it = children_.find(values); it != children_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& child = children_[values];
  if (!child) {
    if constexpr (std::is_same_v<T, Histogram>) {
      child = std::make_unique<Histogram>(bounds_);
    } else {
      child = std::make_unique<T>();
    }
  }
  return *child;
}

template <typename T>
void Family<T>::Write(Exposition& out) const {
  std::shared_lock lock(mu_);
  if constexpr (std::is_same_v<T, Histogram>) {
    out.Family(name_, help_, Type::kHistogram);
    for (const auto& [values, child] : children_) {
      out.HistogramSamples(name_, label_names_, values, bounds_, child->Read());
    }
  } else {
    out.Family(name_, help_, std::is_same_v<T, Counter> ? Type::kCounter : Type::kGauge);
    for (const auto& [values, child] : children_) {
      out.Sample(name_, label_names_, values, child->Value());
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry::Entry& Registry::Add(const std::string& name, Type type,
                               const std::vector<std::string>& label_names) {
  if (!IsValidMetricName(name)) Abort("invalid metric name " + name);
  for (const auto& label : label_names) {
    if (!IsValidLabelName(label) || label == "le") Abort(name + ": invalid label name " + label);
  }
  if (type == Type::kCounter && !name.ends_with("_total"))
    Abort(name + ": a counter ends in _total");
  auto [it, added] = families_.try_emplace(name);
  if (!added && it->second.type != type) Abort(name + " registered with two types");
  it->second.type = type;
  return it->second;
}

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  Entry& e = Add(name, Type::kCounter, label_names);
  if (!e.counter) e.counter = std::make_unique<Family<Counter>>(name, help, std::move(label_names));
  return *e.counter;
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  Entry& e = Add(name, Type::kGauge, label_names);
  if (!e.gauge) e.gauge = std::make_unique<Family<Gauge>>(name, help, std::move(label_names));
  return *e.gauge;
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  Entry& e = Add(name, Type::kHistogram, label_names);
  if (!std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end()) {
    Abort(name + ": bucket bounds must ascend");
  }
  if (!e.histogram) {
    e.histogram =
        std::make_unique<Family<Histogram>>(name, help, std::move(label_names), std::move(bounds));
  }
  return *e.histogram;
}

int Registry::AddCollector(Collector collector) {
  std::lock_guard lock(mu_);
  int id = next_collector_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void Registry::RemoveCollector(int id) {
  std::lock_guard lock(mu_);
  collectors_.erase(id);
}

std::string Registry::Expose() const {
  Exposition out;
  std::lock_guard lock(mu_);
  for (const auto& [name, e] : families_) {
    if (e.counter) e.counter->Write(out);
    if (e.gauge) e.gauge->Write(out);
    if (e.histogram) e.histogram->Write(out);
  }
  for (const auto& [id, collector] : collectors_) collector(out);
  return out.Take();
}

Registry& DefaultRegistry() {
  static Registry* registry = new Registry();  // never destroyed: used by static-lifetime code
  return *registry;
}

}  // namespace berth::metrics
