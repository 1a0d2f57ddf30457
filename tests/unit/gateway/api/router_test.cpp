// Included first: proves the header is self-contained.
#include "gateway/api/router.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace pushgate::api {
namespace {

namespace bhttp = boost::beast::http;
using ::testing::HasSubstr;

/** Routes one request and returns what was sent through its Reply. */
class RouterTest : public ::testing::Test {
 protected:
  std::optional<http::Response> route(bhttp::verb method, std::string target) {
    std::optional<http::Response> sent;
    http::Request req{method, target, 11};
    http::Reply reply([&sent](http::Response&& res) { sent = std::move(res); },
                      ioc_.get_executor());
    router_.handle(std::move(req), http::RequestInfo{}, std::move(reply));
    return sent;
  }

  void add(bhttp::verb method, std::string pattern, std::string name) {
    router_.add(method, std::move(pattern),
                [this, name](http::Request&& req, const http::RequestInfo&, const PathParams& p,
                             http::Reply reply) {
                  last_route_ = name;
                  last_params_ = p;
                  reply.send(http::make_response(req, bhttp::status::ok, name));
                });
  }

  boost::asio::io_context ioc_;
  Router router_;
  std::string last_route_;
  PathParams last_params_;
};

TEST_F(RouterTest, RoutesByMethodAndPath) {
  add(bhttp::verb::get, "/api/v1/terminals", "list");
  add(bhttp::verb::post, "/api/v1/terminals/{sn}/approve", "approve");
  auto res = route(bhttp::verb::get, "/api/v1/terminals?x=1");
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->result(), bhttp::status::ok);
  EXPECT_EQ(last_route_, "list");
}

TEST_F(RouterTest, PathParametersArePercentDecoded) {
  add(bhttp::verb::post, "/api/v1/terminals/{sn}/approve", "approve");
  auto res = route(bhttp::verb::post, "/api/v1/terminals/AB%2FC%20D/approve");
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(last_route_, "approve");
  EXPECT_EQ(last_params_.at("sn"), "AB/C D");
}

TEST_F(RouterTest, UnknownPathIs404WithJsonError) {
  add(bhttp::verb::get, "/api/v1/events", "events");
  auto res = route(bhttp::verb::get, "/api/v1/nothing");
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->result(), bhttp::status::not_found);
  EXPECT_EQ((*res)[bhttp::field::content_type], "application/json");
  auto j = nlohmann::json::parse(res->body());
  EXPECT_EQ(j["error"], "not found");
  EXPECT_EQ(j["detail"], "/api/v1/nothing");
  EXPECT_TRUE(last_route_.empty());
}

TEST_F(RouterTest, KnownPathWithOtherMethodIs405ListingAllowedMethods) {
  add(bhttp::verb::get, "/api/v1/things/{id}", "get");
  add(bhttp::verb::delete_, "/api/v1/things/{id}", "delete");
  auto res = route(bhttp::verb::post, "/api/v1/things/7");
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->result(), bhttp::status::method_not_allowed);
  EXPECT_EQ((*res)[bhttp::field::allow], "GET, DELETE");
  EXPECT_TRUE(last_route_.empty());
}

TEST_F(RouterTest, SegmentCountMustMatch) {
  add(bhttp::verb::get, "/api/v1/terminals/{sn}", "one");
  EXPECT_EQ(route(bhttp::verb::get, "/api/v1/terminals")->result(), bhttp::status::not_found);
  EXPECT_EQ(route(bhttp::verb::get, "/api/v1/terminals/A/B")->result(), bhttp::status::not_found);
  EXPECT_EQ(route(bhttp::verb::get, "/api/v1/terminals/A/")->result(), bhttp::status::ok);
}

TEST_F(RouterTest, JsonErrorOmitsEmptyDetail) {
  http::Request req{bhttp::verb::get, "/", 11};
  auto res = json_error(req, bhttp::status::bad_request, "bad parameter");
  auto j = nlohmann::json::parse(res.body());
  EXPECT_EQ(j["error"], "bad parameter");
  EXPECT_FALSE(j.contains("detail"));
}

}  // namespace
}  // namespace pushgate::api
