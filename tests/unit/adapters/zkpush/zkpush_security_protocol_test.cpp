// Included first: proves the header is self-contained.
#include "adapters/zkpush/zkpush_security_protocol.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <vector>

#include "tests/unit/adapters/zkpush/zkpush_security_test_support.hpp"

namespace pushgate::adapters::zkpush::security {
namespace {

namespace fs = std::filesystem;
using test_support::fixture;
using test_support::HttpRequestFixture;
using test_support::non_blank_lines;
using test_support::query_of;
using test_support::security_fixtures_dir;

// ---------------------------------------------------------------------------
// Every fixture
// ---------------------------------------------------------------------------

/** Parses a fixture's body with the parser its endpoint calls for; returns lines accounted. */
std::optional<std::size_t> accounted_lines(const HttpRequestFixture& request) {
  const QueryResult query = query_of(request);
  switch (classify_security_endpoint(request.path())) {
    case SecurityEndpoint::Registry: {
      const RegistryResult r = parse_registry(request.body);
      return r.fields.empty() ? 0 : non_blank_lines(request.body);
    }
    case SecurityEndpoint::DeviceCmd: {
      const DeviceCmdResult r = parse_devicecmd(request.body);
      std::size_t lines = r.problems.size();
      for (const CommandConfirmation& c : r.confirmations) {
        lines += c.line_count;
      }
      return lines;
    }
    case SecurityEndpoint::QueryData: {
      const QueryDataResult r = parse_querydata(query, request.body);
      if (r.params.datafmt == 3 || r.counted) {
        return non_blank_lines(request.body);
      }
      return r.entries.size() + r.problems.size();
    }
    case SecurityEndpoint::Cdata:
      switch (classify_cdata_upload(query)) {
        case CdataUpload::RtLog: {
          const RtlogResult r = parse_rtlog(request.body);
          return r.records.size() + r.problems.size();
        }
        case CdataUpload::RtState: {
          const RtStateResult r = parse_rtstate(request.body);
          return r.records.size() + r.problems.size();
        }
        case CdataUpload::TableData: {
          const TableDataResult r =
              parse_tabledata(tabledata_params(query).table_name, request.body);
          return r.entries.size() + r.problems.size();
        }
        case CdataUpload::RemoteAuth: {
          const RemoteAuthResult r = parse_remote_auth(request.body);
          return (r.request ? 1 : 0) + r.problems.size();
        }
        case CdataUpload::Options:
          return parse_options(request.body).options.empty() ? 0 : 1;
        default:
          return std::nullopt;
      }
    default:
      return std::nullopt;
  }
}

TEST(SecurityFixturesTest, EveryFixtureLoadsAndNoLineIsLost) {
  const std::vector<fs::path> files = test::http_fixture_files(security_fixtures_dir());
  ASSERT_GE(files.size(), 30U);
  std::size_t with_body = 0;
  for (const fs::path& file : files) {
    const HttpRequestFixture request = test::load_http_fixture(file);
    ASSERT_NE(request.header("Host"), nullptr) << request.name;
    EXPECT_NE(classify_security_endpoint(request.path()), SecurityEndpoint::Unknown)
        << request.name;
    if (request.body.empty()) {
      continue;
    }
    ++with_body;
    const std::optional<std::size_t> accounted = accounted_lines(request);
    ASSERT_TRUE(accounted.has_value()) << request.name;
    if (classify_cdata_upload(query_of(request)) == CdataUpload::Options) {
      EXPECT_EQ(*accounted, 1U) << request.name;
    } else {
      EXPECT_EQ(*accounted, non_blank_lines(request.body)) << request.name << " lost a line";
    }
  }
  EXPECT_GE(with_body, 28U);
}

TEST(SecurityFixturesTest, OptionsUploadParsesWithTheAttendanceParser) {
  const OptionsResult result = parse_options(fixture("options-4.6-example.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.options.size(), 30U);
  EXPECT_EQ(*result.find("DeviceName"), "ProBio");
  EXPECT_EQ(*result.find("OEMVendor"), "ZKTeco Inc. ");
  EXPECT_EQ(*result.find("MaxPvCount"), "");
  EXPECT_EQ(*result.find("PushVersion"), "Ver 2.0.34-20180822");
}

}  // namespace
}  // namespace pushgate::adapters::zkpush::security
