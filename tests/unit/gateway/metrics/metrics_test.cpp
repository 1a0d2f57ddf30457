// Included first: proves the header is self-contained.
#include "gateway/metrics/metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace pushgate::metrics {
namespace {

using ::testing::HasSubstr;

/** One sample line of the text format, parsed. */
struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // unescaped
  std::string value;
};

// Parses `{a="x",b="y"}` with the format's escapes (\\, \", \n); false if malformed.
bool parse_labels(const std::string& text, std::vector<std::pair<std::string, std::string>>& out) {
  std::size_t i = 0;
  const std::regex name_re("[a-zA-Z_][a-zA-Z0-9_]*");
  while (i < text.size()) {
    auto eq = text.find('=', i);
    if (eq == std::string::npos || !std::regex_match(text.substr(i, eq - i), name_re) ||
        eq + 1 >= text.size() || text[eq + 1] != '"') {
      return false;
    }
    std::string value;
    std::size_t j = eq + 2;
    for (; j < text.size() && text[j] != '"'; ++j) {
      if (text[j] == '\n') {
        return false;  // a raw newline would end the line
      }
      if (text[j] == '\\') {
        if (j + 1 >= text.size()) {
          return false;
        }
        char c = text[++j];
        if (c == 'n') {
          value += '\n';
        } else if (c == '\\' || c == '"') {
          value += c;
        } else {
          return false;
        }
      } else {
        value += text[j];
      }
    }
    if (j >= text.size()) {
      return false;
    }
    out.emplace_back(text.substr(i, eq - i), value);
    i = j + 1;
    if (i < text.size()) {
      if (text[i] != ',') {
        return false;
      }
      ++i;
    }
  }
  return true;
}

bool valid_value(const std::string& v) {
  if (v == "+Inf" || v == "-Inf" || v == "NaN") {
    return true;
  }
  char* end = nullptr;
  std::strtod(v.c_str(), &end);
  return !v.empty() && end == v.c_str() + v.size();
}

/**
 * Checks `text` against the Prometheus text format 0.0.4 and returns the
 * samples; adds a failure for every line that breaks it: each family has
 * HELP then TYPE before its samples, sample names belong to the family
 * (histograms: _bucket/_sum/_count), labels are well escaped, values parse,
 * and histogram buckets are cumulative and end with +Inf equal to _count.
 */
std::vector<Sample> parse_exposition(const std::string& text) {
  std::vector<Sample> samples;
  EXPECT_TRUE(text.empty() || text.back() == '\n') << "text must end with a newline";
  std::istringstream in(text);
  std::string line;
  std::map<std::string, std::string> types;
  std::string family;
  std::string help_for;
  const std::regex help_re(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$)");
  const std::regex type_re(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
  const std::regex sample_re(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$)");
  std::map<std::string, std::vector<std::pair<std::string, std::uint64_t>>> buckets;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, help_re)) {
      EXPECT_EQ(types.count(m[1]), 0U) << "family declared twice: " << line;
      help_for = m[1];
      continue;
    }
    if (std::regex_match(line, m, type_re)) {
      EXPECT_EQ(help_for, m[1]) << "TYPE without its HELP: " << line;
      family = m[1];
      types[family] = m[2];
      continue;
    }
    if (!std::regex_match(line, m, sample_re)) {
      ADD_FAILURE() << "not a valid line: " << line;
      continue;
    }
    Sample s;
    s.name = m[1];
    s.value = m[4];
    if (m[2].matched && !parse_labels(m[3], s.labels)) {
      ADD_FAILURE() << "bad labels: " << line;
    }
    EXPECT_TRUE(valid_value(s.value)) << line;
    const std::string& type = types[family];
    if (type == "histogram") {
      bool ok =
          s.name == family + "_bucket" || s.name == family + "_sum" || s.name == family + "_count";
      EXPECT_TRUE(ok) << "sample outside its histogram family: " << line;
      std::string series;
      std::string le;
      for (const auto& [k, v] : s.labels) {
        if (k == "le") {
          le = v;
        } else {
          series += k + "=" + v + ",";
        }
      }
      if (s.name == family + "_bucket") {
        EXPECT_FALSE(le.empty()) << line;
        buckets[family + "{" + series + "}"].emplace_back(le, std::stoull(s.value));
      } else if (s.name == family + "_count") {
        auto& b = buckets[family + "{" + series + "}"];
        EXPECT_FALSE(b.empty()) << "no buckets before _count: " << line;
        if (!b.empty()) {
          EXPECT_EQ(b.back().first, "+Inf") << "last bucket must be +Inf: " << line;
          EXPECT_EQ(b.back().second, std::stoull(s.value)) << "+Inf bucket != _count";
          for (std::size_t i = 1; i < b.size(); ++i) {
            EXPECT_LE(b[i - 1].second, b[i].second) << "buckets not cumulative: " << line;
            if (i + 1 < b.size()) {
              EXPECT_LT(std::stod(b[i - 1].first), std::stod(b[i].first)) << line;
            }
          }
        }
      }
    } else {
      EXPECT_EQ(s.name, family) << "sample outside its family: " << line;
    }
    samples.push_back(std::move(s));
  }
  return samples;
}

TEST(MetricsTest, CounterRendersWithHelpTypeAndLabels) {
  Registry r;
  r.counter("pushgate_jobs_total", "Jobs done", {{"kind", "a"}}).inc(3);
  r.counter("pushgate_jobs_total", "Jobs done", {{"kind", "b"}}).inc();
  auto text = r.render();
  EXPECT_THAT(text, HasSubstr("# HELP pushgate_jobs_total Jobs done\n"
                              "# TYPE pushgate_jobs_total counter\n"
                              "pushgate_jobs_total{kind=\"a\"} 3\n"
                              "pushgate_jobs_total{kind=\"b\"} 1\n"));
  parse_exposition(text);
}

TEST(MetricsTest, SameNameAndLabelsIsTheSameMetric) {
  Registry r;
  auto& a = r.counter("c_total", "C", {{"x", "1"}});
  auto& b = r.counter("c_total", "C", {{"x", "1"}});
  auto& other = r.counter("c_total", "C", {{"x", "2"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  a.inc(2);
  b.inc(3);
  EXPECT_EQ(r.value("c_total", {{"x", "1"}}), 5.0);
  EXPECT_EQ(r.value("c_total", {{"x", "2"}}), 0.0);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Registry r;
  r.gauge("g", "G", {{"path", "C:\\dir \"x\"\nnext"}}).set(1);
  auto text = r.render();
  EXPECT_THAT(text, HasSubstr("g{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n"));
  auto samples = parse_exposition(text);
  ASSERT_EQ(samples.size(), 1U);
  ASSERT_EQ(samples[0].labels.size(), 1U);
  EXPECT_EQ(samples[0].labels[0].second, "C:\\dir \"x\"\nnext");
}

TEST(MetricsTest, GaugeRendersSetAndAddedValues) {
  Registry r;
  auto& g = r.gauge("pushgate_open", "Open things");
  g.set(2.5);
  g.add(-4);
  EXPECT_DOUBLE_EQ(g.value(), -1.5);
  EXPECT_THAT(r.render(), HasSubstr("# TYPE pushgate_open gauge\npushgate_open -1.5\n"));
  EXPECT_EQ(r.value("pushgate_open"), -1.5);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  auto& h =
      r.histogram("pushgate_commit_seconds", "Commit time", {0.1, 1, 10}, {{"store", "main"}});
  for (double v : {0.05, 0.1, 0.5, 50.0}) {
    h.observe(v);
  }
  auto snap = h.snapshot();
  EXPECT_THAT(snap.cumulative, ::testing::ElementsAre(2, 3, 3, 4));
  EXPECT_EQ(snap.count, 4U);
  EXPECT_DOUBLE_EQ(snap.sum, 50.65);

  auto text = r.render();
  EXPECT_THAT(text, HasSubstr("# TYPE pushgate_commit_seconds histogram\n"
                              "pushgate_commit_seconds_bucket{store=\"main\",le=\"0.1\"} 2\n"
                              "pushgate_commit_seconds_bucket{store=\"main\",le=\"1\"} 3\n"
                              "pushgate_commit_seconds_bucket{store=\"main\",le=\"10\"} 3\n"
                              "pushgate_commit_seconds_bucket{store=\"main\",le=\"+Inf\"} 4\n"
                              "pushgate_commit_seconds_sum{store=\"main\"} 50.65\n"
                              "pushgate_commit_seconds_count{store=\"main\"} 4\n"));
  parse_exposition(text);
}

TEST(MetricsTest, HistogramWithoutLabelsGetsOnlyLe) {
  Registry r;
  r.histogram("h", "H", {0.0005, 0.0025}).observe(0.001);
  auto text = r.render();
  EXPECT_THAT(text, HasSubstr("h_bucket{le=\"0.0005\"} 0\n"
                              "h_bucket{le=\"0.0025\"} 1\n"
                              "h_bucket{le=\"+Inf\"} 1\n"
                              "h_sum 0.001\n"
                              "h_count 1\n"));
  parse_exposition(text);
}

TEST(MetricsTest, CallbackGaugeIsEvaluatedAtEachScrape) {
  Registry r;
  double level = 7;
  r.callback_gauge("pushgate_disk_free_bytes", "Free space", [&level] { return level; },
                   {{"dir", "/var"}});
  EXPECT_THAT(r.render(), HasSubstr("pushgate_disk_free_bytes{dir=\"/var\"} 7\n"));
  level = 1e12;
  EXPECT_THAT(r.render(), HasSubstr("pushgate_disk_free_bytes{dir=\"/var\"} 1e+12\n"));
  EXPECT_EQ(r.value("pushgate_disk_free_bytes", {{"dir", "/var"}}), 1e12);
}

TEST(MetricsTest, ValueOfAbsentMetricIsZero) {
  Registry r;
  EXPECT_EQ(r.value("nothing"), 0.0);
  r.counter("c_total", "C").inc();
  EXPECT_EQ(r.value("c_total", {{"x", "y"}}), 0.0);
  EXPECT_EQ(r.value("c_total"), 1.0);
}

TEST(MetricsTest, WholeRegistryRendersValidTextFormat) {
  Registry r;
  r.counter("a_total", "A", {{"server", "api"}, {"code", "200"}}).inc(10);
  r.counter("a_total", "A", {{"server", "api"}, {"code", "500"}}).inc(1);
  r.gauge("b", "B").set(-0.25);
  r.callback_gauge("c", "C", [] { return 3.0; });
  auto& h = r.histogram("d_seconds", "D", {0.001, 0.01, 0.1, 1});
  h.observe(0.0001);
  h.observe(2);
  r.histogram("d_seconds", "D", {0.001, 0.01, 0.1, 1}, {{"k", "x\"y"}}).observe(0.05);
  r.gauge("e", "E").set(std::numeric_limits<double>::infinity());
  auto samples = parse_exposition(r.render());
  EXPECT_EQ(samples.size(), 2U + 1U + 1U + 2U * 7U + 1U);
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  Registry r;
  auto& c = r.counter("n_total", "N");
  auto& h = r.histogram("n_seconds", "N", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.5);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(c.value(), 40000U);
  auto snap = h.snapshot();
  EXPECT_EQ(snap.count, 40000U);
  EXPECT_DOUBLE_EQ(snap.sum, 20000.0);
}

TEST(MetricsTest, RenderLabelsIsEmptyForNoLabels) {
  EXPECT_EQ(render_labels({}), "");
  EXPECT_EQ(render_labels({{"a", "1"}, {"b", "2"}}), "{a=\"1\",b=\"2\"}");
}

}  // namespace
}  // namespace pushgate::metrics
