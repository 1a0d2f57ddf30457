// Push-mode bodies: JSON, text, deflate (raw and zlib), gzip, picture multipart, caps.
#include "adapters/dahua/dahua_push.hpp"

#include <gtest/gtest.h>

#include "tests/unit/adapters/dahua/dahua_test_support.hpp"

namespace pushgate::adapters::dahua {
namespace {

using test_support::fixture;

std::vector<std::string> codes(const PushBody& body) {
  std::vector<std::string> out;
  for (const EventParse& parsed : body.events) {
    out.push_back(parsed.event ? parsed.event->code : "error:" + parsed.error);
  }
  return out;
}

TEST(DahuaPush, JsonBody) {
  const PushBody body = parse_push_body("application/json", "", fixture("push-json.body"));
  EXPECT_TRUE(body.problems.empty());
  ASSERT_EQ(codes(body), std::vector<std::string>{"AccessControl"});
  const DahuaEvent& e = *body.events[0].event;
  EXPECT_EQ(e.action, EventAction::Pulse);
  EXPECT_EQ(e.data.rec_no, 900);
  EXPECT_EQ(e.data.user_id, "108");
  EXPECT_EQ(e.data.method, 15);
  EXPECT_TRUE(body.usable());
}

TEST(DahuaPush, TextBodyWithTwoRecords) {
  const PushBody body = parse_push_body("text/plain", "", fixture("push-text.body"));
  ASSERT_EQ(codes(body), (std::vector<std::string>{"AccessControl", "DoorStatus"}));
  EXPECT_EQ(body.events[0].event->data.error_code, 18);
  EXPECT_EQ(body.events[0].event->data.direction, Direction::Exit);
  EXPECT_EQ(body.events[1].event->data.status_text, "Close");
}

TEST(DahuaPush, DeflateRawAndZlibWrappedGiveTheTextBody) {
  const std::string plain = fixture("push-text.body");
  const DecodedBody raw =
      decode_content_encoding("deflate", fixture("push-text.deflate-raw"), 1 << 20);
  ASSERT_TRUE(raw.ok()) << raw.error;
  EXPECT_EQ(raw.coding, "deflate-raw");
  EXPECT_EQ(raw.bytes, plain);
  const DecodedBody wrapped =
      decode_content_encoding("Deflate", fixture("push-text.deflate-zlib"), 1 << 20);
  ASSERT_TRUE(wrapped.ok()) << wrapped.error;
  EXPECT_EQ(wrapped.coding, "deflate-zlib");
  EXPECT_EQ(wrapped.bytes, plain);
  const PushBody body = parse_push_body("", "deflate", fixture("push-text.deflate-zlib"));
  EXPECT_EQ(codes(body), (std::vector<std::string>{"AccessControl", "DoorStatus"}));
}

TEST(DahuaPush, GzipBody) {
  const DecodedBody decoded = decode_content_encoding("gzip", fixture("push-json.gzip"), 1 << 20);
  ASSERT_TRUE(decoded.ok()) << decoded.error;
  EXPECT_EQ(decoded.bytes, fixture("push-json.body"));
  EXPECT_EQ(codes(parse_push_body("application/json", "x-gzip", fixture("push-json.gzip"))),
            std::vector<std::string>{"AccessControl"});
}

TEST(DahuaPush, APlainBodyLabelledDeflateIsTakenAsItIs) {
  const PushBody body =
      parse_push_body("text/plain", "deflate", fixture("push-text-labelled-deflate.body"));
  EXPECT_EQ(body.coding, "plain-labelled-deflate");
  EXPECT_EQ(codes(body), (std::vector<std::string>{"AccessControl", "DoorStatus"}));
}

TEST(DahuaPush, AZipBombStopsAtTheCap) {
  const DecodedBody decoded =
      decode_content_encoding("deflate", fixture("push-zipbomb.deflate-zlib"), 64 * 1024);
  EXPECT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error.find("larger than 65536"), std::string::npos);
  EXPECT_LE(decoded.bytes.size(), 64u * 1024);
  const PushBody body = parse_push_body("", "deflate", fixture("push-zipbomb.deflate-zlib"));
  EXPECT_FALSE(body.usable());
  EXPECT_EQ(body.problems.size(), 1u);
}

TEST(DahuaPush, CorruptedCompressedBodiesAreErrors) {
  std::string gz = fixture("push-json.gzip");
  gz[gz.size() - 6] = static_cast<char>(gz[gz.size() - 6] ^ 0x55);  // CRC-32
  EXPECT_FALSE(decode_content_encoding("gzip", gz, 1 << 20).ok());
  std::string zl = fixture("push-text.deflate-zlib");
  zl.resize(zl.size() / 2);
  EXPECT_FALSE(decode_content_encoding("deflate", zl, 1 << 20).ok());
  EXPECT_FALSE(decode_content_encoding("br", "x", 1 << 20).ok());
  EXPECT_FALSE(decode_content_encoding("gzip", "\x01\x02\x03", 1 << 20).ok());
}

TEST(DahuaPush, PictureUploadInfoEventsAndImage) {
  const PushBody body = parse_push_body("multipart/form-data; boundary=pushgateboundary", "",
                                        fixture("push-picture.multipart"));
  EXPECT_TRUE(body.problems.empty());
  EXPECT_EQ(body.channel, 0);
  ASSERT_EQ(codes(body), std::vector<std::string>{"AccessControl"});
  EXPECT_EQ(body.events[0].event->data.rec_no, 902);
  ASSERT_EQ(body.images.size(), 1u);
  EXPECT_TRUE(body.images[0].kept);
  EXPECT_EQ(body.images[0].filename, "snap.jpg");
  EXPECT_EQ(body.images[0].content_type, "image/jpeg");
  EXPECT_EQ(body.images[0].size, 1030u);
  EXPECT_EQ(body.images[0].bytes.substr(0, 2), "\xff\xd8");
  EXPECT_EQ(body.images[0].bytes.substr(body.images[0].bytes.size() - 2), "\xff\xd9");
}

TEST(DahuaPush, ImageOverTheCapIsCountedNotKept) {
  PushLimits limits;
  limits.max_image_bytes = 100;
  const PushBody body = parse_push_body("multipart/form-data; boundary=pushgateboundary", "",
                                        fixture("push-picture.multipart"), limits);
  ASSERT_EQ(body.images.size(), 1u);
  EXPECT_FALSE(body.images[0].kept);
  EXPECT_TRUE(body.images[0].bytes.empty());
  EXPECT_EQ(body.images[0].size, 1030u);
}

TEST(DahuaPush, TooManyEventsAreRefusedWithAProblem) {
  std::string text;
  for (int i = 0; i < 10; ++i) {
    text += "Code=BreakIn;action=Pulse;index=0\n";
  }
  PushLimits limits;
  limits.max_events = 3;
  const PushBody body = parse_push_body("text/plain", "", text, limits);
  EXPECT_EQ(body.events.size(), 3u);
  EXPECT_EQ(body.problems.size(), 1u);
  EXPECT_EQ(body.refused_events, 7u);
}

TEST(DahuaPush, GarbageIsAProblemNotAnEvent) {
  const PushBody json = parse_push_body("application/json", "", "{\"Code\":");
  EXPECT_FALSE(json.usable());
  EXPECT_EQ(json.problems.size(), 1u);
  const PushBody text = parse_push_body("text/plain", "", "hello");
  ASSERT_EQ(text.events.size(), 1u);
  EXPECT_FALSE(text.events[0].event);
}

TEST(DahuaPush, KeepaliveTargets) {
  EXPECT_TRUE(is_push_keepalive("/EventHttpUpload/keepalive"));
  EXPECT_TRUE(is_push_keepalive("/PictureHttpUpload/KeepAlive/?x=1"));
  EXPECT_FALSE(is_push_keepalive("/dahua/gate1/event"));
}

}  // namespace
}  // namespace pushgate::adapters::dahua
