// Included first: proves the header is self-contained.
#include "gateway/api/rest_api.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/adapter.hpp"
#include "gateway/config/config.hpp"
#include "gateway/http/server.hpp"
#include "gateway/store/adapter_state_impl.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate::api {
namespace {

namespace bhttp = boost::beast::http;
using nlohmann::json;
using test::HttpTestClient;
using test::make_event;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

/**
 * The REST API in-process, as pushgated wires it: a store on a temp file, the
 * terminal registry from a config built with the full schema, the router,
 * the API and an HTTP server on a loopback port 0.
 */
class RestApiTest : public ::testing::Test {
 protected:
  /** Builds everything from the defaults plus `--set` overrides `sets`. */
  void start(const std::vector<std::string>& sets) {
    auto loaded = config::Config::load_string(schema_, "", sets);
    ASSERT_TRUE(loaded.ok()) << config::format_errors(loaded.errors);
    config_ = std::make_unique<config::Config>(*loaded.config);

    store::Store::Options so;
    so.path = dir_.file("pushgate.db");
    std::string error;
    store_ = store::Store::open(so, clock_, metrics_, error);
    ASSERT_NE(store_, nullptr) << error;
    store_->start();
    terminals_ = std::make_unique<TerminalRegistry>(*config_);
    terminals_->load(*store_);

    RestApi::Options options;
    options.max_page = 5;
    options.default_page = 3;
    adapter_state_ = std::make_unique<store::StoreAdapterState>(*store_);
    api_ = std::make_unique<RestApi>(router_, *store_, *terminals_, *adapter_state_, metrics_,
                                     health_, clock_, options);
    http::ServerOptions ho;
    ho.name = "api";
    ho.address = "127.0.0.1";
    ho.port = 0;
    server_ = std::make_unique<http::Server>(
        io_.ioc(), ho,
        [this](http::Request&& req, const http::RequestInfo& info, http::Reply reply) {
          router_.handle(std::move(req), info, std::move(reply));
        },
        metrics_);
    ASSERT_FALSE(server_->start());
  }

  void TearDown() override {
    if (server_) {
      server_->stop();
    }
  }

  HttpTestClient::Response call(bhttp::verb method, const std::string& target) {
    HttpTestClient client;
    HttpTestClient::Response res;
    auto ec = client.connect(server_->port());
    EXPECT_FALSE(ec) << ec.message();
    if (!ec) {
      ec = client.request(method, target, res);
      EXPECT_FALSE(ec) << target << ": " << ec.message();
    }
    return res;
  }

  /** GET, expecting `status` and a JSON body. */
  json get_json(const std::string& target, bhttp::status status = bhttp::status::ok) {
    auto res = call(bhttp::verb::get, target);
    EXPECT_EQ(res.result(), status) << target << ": " << res.body();
    EXPECT_EQ(res[bhttp::field::content_type], "application/json") << target;
    return json::parse(res.body(), nullptr, false);
  }

  void commit(WriteBatch batch) {
    auto p = std::make_shared<std::promise<CommitResult>>();
    auto f = p->get_future();
    store_->append(std::move(batch), [p](CommitResult r) { p->set_value(std::move(r)); });
    ASSERT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    auto r = f.get();
    ASSERT_FALSE(r.ec) << r.ec.message();
  }

  /** A terminal talks to us: the registry learns it and the store keeps it. */
  void seen(const std::string& sn) {
    bool persist = false;
    auto record = terminals_->seen(sn, "192.0.2.10", clock_.now_ms(), persist);
    WriteBatch b;
    b.ops.push_back(TerminalRegistry::persist_op(record));
    commit(std::move(b));
  }

  // T1: attendance a1..a4, T2: access b1..b2, T1: alarm x1 (ids 1..7).
  void seed_events() {
    seen("T1");
    seen("T2");
    WriteBatch b;
    for (const char* k : {"a1", "a2", "a3", "a4"}) {
      b.events.push_back(make_event("T1", k, EventKind::Attendance));
    }
    b.events.push_back(make_event("T2", "b1", EventKind::Access));
    b.events.push_back(make_event("T2", "b2", EventKind::Access));
    b.events.push_back(make_event("T1", "x1", EventKind::Alarm));
    commit(std::move(b));
  }

  static std::vector<std::string> keys(const json& page) {
    std::vector<std::string> out;
    for (const auto& e : page["events"]) {
      out.push_back(e["terminal"].get<std::string>() + "/" + e["record_key"].get<std::string>());
    }
    return out;
  }

  config::Schema schema_ = build_schema();
  std::unique_ptr<config::Config> config_;
  test::TempDir dir_;
  test::FakeClock clock_;
  metrics::Registry metrics_;
  Health health_;
  test::IoThread io_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<TerminalRegistry> terminals_;
  Router router_;
  std::unique_ptr<store::StoreAdapterState> adapter_state_;
  std::unique_ptr<RestApi> api_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(RestApiTest, EventsPageWithNextAfterUntilNoMore) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  seed_events();
  std::vector<std::string> all;
  std::int64_t after = 0;
  std::vector<bool> mores;
  for (int page = 0; page < 10; ++page) {
    auto j = get_json("/api/v1/events?limit=3&after=" + std::to_string(after));
    ASSERT_TRUE(j.is_object());
    for (const auto& k : keys(j)) {
      all.push_back(k);
    }
    mores.push_back(j["more"].get<bool>());
    if (!j["events"].empty()) {
      EXPECT_EQ(j["next_after"], j["events"].back()["id"]);
    } else {
      EXPECT_EQ(j["next_after"], after);  // an empty page leaves the cursor where it was
    }
    after = j["next_after"].get<std::int64_t>();
    if (!j["more"].get<bool>()) {
      break;
    }
  }
  EXPECT_THAT(all, ElementsAre("T1/a1", "T1/a2", "T1/a3", "T1/a4", "T2/b1", "T2/b2", "T1/x1"));
  EXPECT_THAT(mores, ElementsAre(true, true, false));
  EXPECT_EQ(after, 7);
  auto end = get_json("/api/v1/events?after=7");
  EXPECT_TRUE(end["events"].empty());
  EXPECT_EQ(end["next_after"], 7);
  EXPECT_EQ(end["more"], false);
}

// A page that ends exactly at the last event: nothing follows, so no more
// (a client paging until more is false must not ask once more for nothing).
TEST_F(RestApiTest, PageEndingAtTheLastEventSaysNoMore) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  seed_events();
  auto last = get_json("/api/v1/events?after=5&limit=2");
  EXPECT_THAT(keys(last), ElementsAre("T2/b2", "T1/x1"));
  EXPECT_EQ(last["next_after"], 7);
  EXPECT_EQ(last["more"], false);
  auto full = get_json("/api/v1/events?after=2&limit=5");  // max_page 5: a full last page
  EXPECT_EQ(full["events"].size(), 5U);
  EXPECT_EQ(full["more"], false);
  auto before_last = get_json("/api/v1/events?after=4&limit=2");
  EXPECT_EQ(before_last["more"], true);
  auto t2 = get_json("/api/v1/events?terminal=T2&limit=2");
  EXPECT_THAT(keys(t2), ElementsAre("T2/b1", "T2/b2"));
  EXPECT_EQ(t2["more"], false);
}

TEST_F(RestApiTest, EventsDefaultPageAndMaxPage) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  seed_events();
  EXPECT_EQ(get_json("/api/v1/events")["events"].size(), 3U);             // default_page
  EXPECT_EQ(get_json("/api/v1/events?limit=1000")["events"].size(), 5U);  // max_page
}

TEST_F(RestApiTest, EventsFilterByTerminalAndKind) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  seed_events();
  EXPECT_THAT(keys(get_json("/api/v1/events?terminal=T2")), ElementsAre("T2/b1", "T2/b2"));
  EXPECT_THAT(keys(get_json("/api/v1/events?kind=alarm")), ElementsAre("T1/x1"));
  EXPECT_THAT(keys(get_json("/api/v1/events?terminal=T1&kind=attendance&limit=5")),
              ElementsAre("T1/a1", "T1/a2", "T1/a3", "T1/a4"));
  EXPECT_TRUE(get_json("/api/v1/events?terminal=T2&kind=alarm")["events"].empty());
  // Paging within a filter continues after the last id of the filtered page.
  auto first = get_json("/api/v1/events?terminal=T1&limit=2");
  EXPECT_THAT(keys(first), ElementsAre("T1/a1", "T1/a2"));
  auto second = get_json("/api/v1/events?terminal=T1&limit=5&after=" +
                         std::to_string(first["next_after"].get<std::int64_t>()));
  EXPECT_THAT(keys(second), ElementsAre("T1/a3", "T1/a4", "T1/x1"));
}

TEST_F(RestApiTest, EventsCarryTheEventJson) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  seen("T1");
  Event e = make_event("T1", "k1", EventKind::Access);
  e.utc_ms = 1'600'884'084'000;
  e.local_time = "2020-09-23 13:01:24";
  e.door = 2;
  WriteBatch b;
  b.events.push_back(e);
  commit(std::move(b));
  auto j = get_json("/api/v1/events");
  ASSERT_EQ(j["events"].size(), 1U);
  const auto& ev = j["events"][0];
  EXPECT_EQ(ev["id"], 1);
  EXPECT_EQ(ev["seq"], 1);
  EXPECT_EQ(ev["kind"], "access");
  EXPECT_EQ(ev["time"], "2020-09-23T13:01:24-05:00");
  EXPECT_EQ(ev["utc"], "2020-09-23T18:01:24.000Z");
  EXPECT_EQ(ev["door"], 2);
  EXPECT_TRUE(ev["pin"].is_null());
}

TEST_F(RestApiTest, BadEventParametersAre400) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  for (const char* target :
       {"/api/v1/events?after=-1", "/api/v1/events?after=abc", "/api/v1/events?limit=0",
        "/api/v1/events?limit=ten", "/api/v1/events?after=1.5",
        "/api/v1/events?limit=", "/api/v1/events?after=99999999999999999999999"}) {
    auto j = get_json(target, bhttp::status::bad_request);
    EXPECT_EQ(j["error"], "bad parameter") << target;
  }
}

TEST_F(RestApiTest, UnknownKindIs400NamingIt) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  auto j = get_json("/api/v1/events?kind=punch", bhttp::status::bad_request);
  EXPECT_EQ(j["error"], "bad parameter");
  EXPECT_THAT(j["detail"].get<std::string>(), HasSubstr("punch"));
}

TEST_F(RestApiTest, QuarantineListsRawLinesPagedAndFiltered) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  WriteBatch b;
  int n = 0;
  for (const char* sn : {"T1", "T2", "T1"}) {
    QuarantineRecord q;
    q.terminal_sn = sn;
    q.endpoint = "cdata";
    q.table = "ATTLOG";
    q.line_no = 3;
    q.reason = "bad timestamp";
    // Distinct lines: the quarantine keeps one row per terminal and raw line.
    q.raw = std::string("1001\t1971--10--29 -23:-27:-54\xff ") + sn + (n++ == 2 ? " again" : "");
    q.received_ms = 1'600'884'084'000;
    b.quarantine.push_back(q);
  }
  commit(std::move(b));
  auto page = get_json("/api/v1/quarantine?limit=2");
  ASSERT_EQ(page["quarantine"].size(), 2U);
  EXPECT_EQ(page["more"], true);
  EXPECT_EQ(page["next_after"], 2);
  const auto& row = page["quarantine"][0];
  EXPECT_EQ(row["id"], 1);
  EXPECT_EQ(row["terminal"], "T1");
  EXPECT_EQ(row["endpoint"], "cdata");
  EXPECT_EQ(row["table"], "ATTLOG");
  EXPECT_EQ(row["line"], 3);
  EXPECT_EQ(row["reason"], "bad timestamp");
  EXPECT_EQ(row["received"], "2020-09-23T18:01:24.000Z");
  // Invalid UTF-8 from the device is replaced, not a broken answer.
  EXPECT_EQ(row["raw"], "1001\t1971--10--29 -23:-27:-54\xef\xbf\xbd T1");

  auto rest = get_json("/api/v1/quarantine?after=2");
  ASSERT_EQ(rest["quarantine"].size(), 1U);
  EXPECT_EQ(rest["more"], false);
  EXPECT_EQ(get_json("/api/v1/quarantine?after=1&limit=2")["more"], false);  // ends at the last
  auto t1 = get_json("/api/v1/quarantine?terminal=T1");
  ASSERT_EQ(t1["quarantine"].size(), 2U);
  EXPECT_EQ(t1["quarantine"][1]["id"], 3);
  get_json("/api/v1/quarantine?limit=-5", bhttp::status::bad_request);
}

TEST_F(RestApiTest, TerminalsListsEveryKnownTerminalWithCounts) {
  ASSERT_NO_FATAL_FAILURE(start(
      {"gateway.timezone=UTC", "terminals.T2.name=Gate 2", "terminals.T2.timezone=Europe/Berlin"}));
  seed_events();
  WriteBatch q;
  QuarantineRecord bad;
  bad.terminal_sn = "T2";
  bad.reason = "bad";
  bad.raw = "x";
  q.quarantine.push_back(bad);
  commit(std::move(q));

  auto j = get_json("/api/v1/terminals");
  ASSERT_EQ(j["terminals"].size(), 2U) << j.dump();
  const auto& t1 = j["terminals"][0];
  EXPECT_EQ(t1["sn"], "T1");
  EXPECT_EQ(t1["name"], "");
  EXPECT_EQ(t1["state"], "accepted");
  EXPECT_EQ(t1["ip"], "192.0.2.10");
  EXPECT_EQ(t1["timezone"], "UTC");
  EXPECT_EQ(t1["counts"]["events"], 5);
  EXPECT_EQ(t1["counts"]["by_kind"], (json{{"attendance", 4}, {"alarm", 1}}));
  EXPECT_EQ(t1["counts"]["quarantined"], 0);
  const auto& t2 = j["terminals"][1];
  EXPECT_EQ(t2["sn"], "T2");
  EXPECT_EQ(t2["name"], "Gate 2");
  EXPECT_EQ(t2["timezone"], "Europe/Berlin");
  EXPECT_EQ(t2["counts"]["events"], 2);
  EXPECT_EQ(t2["counts"]["by_kind"], (json{{"access", 2}}));
  EXPECT_EQ(t2["counts"]["quarantined"], 1);
}

TEST_F(RestApiTest, ApproveAndRefuseChangeStateAndPersist) {
  ASSERT_NO_FATAL_FAILURE(start({"gateway.unknown_terminals=pending"}));
  seen("P1");
  ASSERT_EQ(terminals_->find("P1")->state, "pending");

  auto approved = call(bhttp::verb::post, "/api/v1/terminals/P1/approve");
  ASSERT_EQ(approved.result(), bhttp::status::ok) << approved.body();
  EXPECT_EQ(json::parse(approved.body()), (json{{"sn", "P1"}, {"state", "accepted"}}));
  EXPECT_EQ(terminals_->find("P1")->state, "accepted");
  {
    // What a restart would load: the state is in the database.
    TerminalRegistry reloaded(*config_);
    reloaded.load(*store_);
    ASSERT_TRUE(reloaded.find("P1").has_value());
    EXPECT_EQ(reloaded.find("P1")->state, "accepted");
    EXPECT_EQ(reloaded.find("P1")->ip, "192.0.2.10");
  }

  auto refused = call(bhttp::verb::post, "/api/v1/terminals/P1/refuse");
  ASSERT_EQ(refused.result(), bhttp::status::ok) << refused.body();
  EXPECT_EQ(json::parse(refused.body())["state"], "refused");
  {
    TerminalRegistry reloaded(*config_);
    reloaded.load(*store_);
    EXPECT_EQ(reloaded.find("P1")->state, "refused");
  }
  auto listed = get_json("/api/v1/terminals");
  ASSERT_EQ(listed["terminals"].size(), 1U);
  EXPECT_EQ(listed["terminals"][0]["state"], "refused");
}

TEST_F(RestApiTest, ApprovingAnUnseenSerialAdmitsItAheadOfTime) {
  ASSERT_NO_FATAL_FAILURE(start({"gateway.unknown_terminals=pending"}));
  auto res = call(bhttp::verb::post, "/api/v1/terminals/NEW%201/approve");
  ASSERT_EQ(res.result(), bhttp::status::ok) << res.body();
  TerminalRegistry reloaded(*config_);
  reloaded.load(*store_);
  ASSERT_TRUE(reloaded.find("NEW 1").has_value());
  EXPECT_EQ(reloaded.find("NEW 1")->state, "accepted");
}

TEST_F(RestApiTest, ApproveWhenTheStoreCannotCommitIs503) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  store_->stop();
  auto res = call(bhttp::verb::post, "/api/v1/terminals/P1/approve");
  EXPECT_EQ(res.result(), bhttp::status::service_unavailable);
  EXPECT_EQ(json::parse(res.body())["error"], "store unavailable");
}

TEST_F(RestApiTest, MetricsServesPrometheusText) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  seed_events();
  auto res = call(bhttp::verb::get, "/metrics");
  ASSERT_EQ(res.result(), bhttp::status::ok);
  EXPECT_THAT(std::string(res[bhttp::field::content_type]),
              StartsWith("text/plain; version=0.0.4"));
  EXPECT_THAT(res.body(), HasSubstr("# TYPE pushgate_store_commits_total counter\n"));
  EXPECT_THAT(res.body(), HasSubstr("pushgate_records_ingested_total{kind=\"attendance\"} 4\n"));
  EXPECT_THAT(res.body(), HasSubstr("pushgate_http_requests_total{server=\"api\"}"));
}

TEST_F(RestApiTest, HealthzAndReadyzReflectHealth) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  auto live = get_json("/healthz");
  EXPECT_EQ(live["status"], "ok");
  EXPECT_EQ(live["failing"], json::object());
  get_json("/readyz");

  health_.set(Health::Kind::Ready, "startup", false, "adapters starting");
  get_json("/healthz");  // not ready is still alive
  auto not_ready = get_json("/readyz", bhttp::status::service_unavailable);
  EXPECT_EQ(not_ready["status"], "failing");
  EXPECT_EQ(not_ready["failing"], (json{{"startup", "adapters starting"}}));

  health_.set(Health::Kind::Ready, "startup", true);
  health_.set(Health::Kind::Live, "store", false, "writer stalled");
  auto dead = get_json("/healthz", bhttp::status::service_unavailable);
  EXPECT_EQ(dead["failing"], (json{{"store", "writer stalled"}}));
  // Ready needs every live check too.
  auto ready = get_json("/readyz", bhttp::status::service_unavailable);
  EXPECT_EQ(ready["failing"], (json{{"store", "writer stalled"}}));

  health_.set(Health::Kind::Live, "store", true);
  get_json("/healthz");
  get_json("/readyz");
}

TEST_F(RestApiTest, UnknownPathIs404) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  auto j = get_json("/api/v2/events", bhttp::status::not_found);
  EXPECT_EQ(j["error"], "not found");
  get_json("/api/v1/terminals/T1/nothing", bhttp::status::not_found);
  // A terminal's own path takes PATCH only (its name and zone): GET is 405, not 404.
  auto get_terminal = call(bhttp::verb::get, "/api/v1/terminals/T1");
  EXPECT_EQ(get_terminal.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(get_terminal[bhttp::field::allow], "PATCH");
}

TEST_F(RestApiTest, WrongMethodIs405WithAllow) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  auto post_events = call(bhttp::verb::post, "/api/v1/events");
  EXPECT_EQ(post_events.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(post_events[bhttp::field::allow], "GET");
  auto get_approve = call(bhttp::verb::get, "/api/v1/terminals/T1/approve");
  EXPECT_EQ(get_approve.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(get_approve[bhttp::field::allow], "POST");
  auto delete_metrics = call(bhttp::verb::delete_, "/metrics");
  EXPECT_EQ(delete_metrics.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(delete_metrics[bhttp::field::allow], "GET");
}

}  // namespace
}  // namespace pushgate::api
