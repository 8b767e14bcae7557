#include "common/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace berth::metrics {
namespace {

TEST(MetricsTest, CounterWithLabels) {
  Registry r;
  auto& requests = r.AddCounter("berth_test_requests_total", "Requests.", {"operation", "code"});
  requests.With({"RunTask", "200"}).Inc();
  requests.With({"RunTask", "200"}).Inc(2);
  requests.With({"StopTask", "400"}).Inc();
  EXPECT_EQ(requests.With({"RunTask", "200"}).Value(), 3);
  EXPECT_EQ(r.Expose(),
            "# HELP berth_test_requests_total Requests.\n"
            "# TYPE berth_test_requests_total counter\n"
            "berth_test_requests_total{operation=\"RunTask\",code=\"200\"} 3\n"
            "berth_test_requests_total{operation=\"StopTask\",code=\"400\"} 1\n");
}

TEST(MetricsTest, RegisteringAgainReturnsTheSameFamily) {
  Registry r;
  auto& a = r.AddGauge("berth_test_gauge", "G.");
  auto& b = r.AddGauge("berth_test_gauge", "G.");
  EXPECT_EQ(&a, &b);
  a.With({}).Set(2.5);
  EXPECT_EQ(r.Expose(),
            "# HELP berth_test_gauge G.\n# TYPE berth_test_gauge gauge\nberth_test_gauge 2.5\n");
}

TEST(MetricsTest, Histogram) {
  Registry r;
  auto& h = r.AddHistogram("berth_test_seconds", "Latency.", {"op"}, {0.1, 1});
  h.With({"x"}).Observe(0.05);
  h.With({"x"}).Observe(0.1);  // le is inclusive
  h.With({"x"}).Observe(5);
  EXPECT_EQ(r.Expose(),
            "# HELP berth_test_seconds Latency.\n"
            "# TYPE berth_test_seconds histogram\n"
            "berth_test_seconds_bucket{op=\"x\",le=\"0.1\"} 2\n"
            "berth_test_seconds_bucket{op=\"x\",le=\"1\"} 2\n"
            "berth_test_seconds_bucket{op=\"x\",le=\"+Inf\"} 3\n"
            "berth_test_seconds_sum{op=\"x\"} 5.15\n"
            "berth_test_seconds_count{op=\"x\"} 3\n");
}

TEST(MetricsTest, Escaping) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeHelp("a\\b\"c\nd"), "a\\\\b\"c\\nd");
  Registry r;
  r.AddCounter("berth_test_total", "Line one\nline two.", {"cluster"}).With({"we\"ird\n"}).Inc();
  EXPECT_EQ(r.Expose(),
            "# HELP berth_test_total Line one\\nline two.\n"
            "# TYPE berth_test_total counter\n"
            "berth_test_total{cluster=\"we\\\"ird\\n\"} 1\n");
}

TEST(MetricsTest, Values) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(1e21), "1e+21");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(MetricsTest, Names) {
  EXPECT_TRUE(IsValidMetricName("berth:api_requests_total"));
  EXPECT_FALSE(IsValidMetricName("9lives"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_TRUE(IsValidLabelName("cluster"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("__name"));
}

TEST(MetricsDeathTest, ProgrammingErrorsAbort) {
  Registry r;
  EXPECT_DEATH(r.AddCounter("berth_no_suffix", "x"), "_total");
  EXPECT_DEATH(r.AddGauge("bad-name", "x"), "invalid metric name");
  r.AddGauge("berth_g", "x");
  EXPECT_DEATH(r.AddCounter("berth_g", "x"), "");
  EXPECT_DEATH(r.AddCounter("berth_c_total", "x", {"a"}).With({}), "label values");
}

TEST(MetricsTest, Collectors) {
  Registry r;
  int id = r.AddCollector([](Exposition& out) {
    out.Family("berth_test_tasks", "Tasks.", Type::kGauge);
    out.Sample("berth_test_tasks", {"status"}, {"RUNNING"}, 4);
  });
  EXPECT_EQ(r.Expose(),
            "# HELP berth_test_tasks Tasks.\n# TYPE berth_test_tasks gauge\n"
            "berth_test_tasks{status=\"RUNNING\"} 4\n");
  r.RemoveCollector(id);
  EXPECT_EQ(r.Expose(), "");
  {
    ScopedCollector scoped(r, [](Exposition& out) { out.Family("berth_x", "X.", Type::kGauge); });
    EXPECT_NE(r.Expose(), "");
  }
  EXPECT_EQ(r.Expose(), "");
}

TEST(MetricsTest, ConcurrentUpdatesAreCounted) {
  Registry r;
  auto& c = r.AddCounter("berth_test_total", "x", {"t"});
  auto& h = r.AddHistogram("berth_test_seconds", "x", {});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        c.With({std::to_string(i % 3)}).Inc();
        h.With({}).Observe(0.01);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.With({"0"}).Value() + c.With({"1"}).Value() + c.With({"2"}).Value(), 40000);
  EXPECT_EQ(h.With({}).Read().count, 40000u);
}

}  // namespace
}  // namespace berth::metrics
