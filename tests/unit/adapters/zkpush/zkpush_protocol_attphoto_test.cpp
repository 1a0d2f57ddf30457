// Attendance PUSH ATTPHOTO tests: photo uploads and photo file names.
#include "adapters/zkpush/zkpush_protocol.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "tests/support/http_fixture.hpp"
#include "tests/unit/adapters/zkpush/zkpush_protocol_test_support.hpp"

namespace pushgate::adapters::zkpush {
namespace {

using test::HttpRequestFixture;
using test_support::handmade;
using test_support::reasons;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// ATTPHOTO
// ---------------------------------------------------------------------------

TEST(AttphotoParserTest, LocatesBinaryPartAfterTheNul) {
  const HttpRequestFixture request = handmade("attphoto-nul-binary.http");
  const AttPhotoResult result = parse_attphoto(request.body);
  EXPECT_TRUE(result.problems.empty()) << ::testing::PrintToString(reasons(result.problems));
  ASSERT_TRUE(result.photo.has_value());
  const AttPhoto& photo = *result.photo;
  EXPECT_EQ(photo.file_name, "20200923150705-100.jpg");
  EXPECT_EQ(photo.sn, "CKJF202560310");
  EXPECT_EQ(photo.cmd, "uploadphoto");
  EXPECT_EQ(photo.header.size(), 4U);
  ASSERT_TRUE(photo.declared_size.has_value());
  EXPECT_EQ(static_cast<std::size_t>(*photo.declared_size), photo.data_size);
  EXPECT_EQ(photo.data_offset + photo.data_size, request.body.size());
  const std::string_view jpeg =
      std::string_view(request.body).substr(photo.data_offset, photo.data_size);
  EXPECT_EQ(jpeg.substr(0, 2), "\xFF\xD8");
  EXPECT_EQ(jpeg.substr(jpeg.size() - 2), "\xFF\xD9");
  EXPECT_GT(std::count(jpeg.begin(), jpeg.end(), '\0'), 5);
}

TEST(AttphotoParserTest, ParsesFdataUploadWithIdentityCardName) {
  const HttpRequestFixture request = handmade("attphoto-fdata-idcard-name.http");
  EXPECT_EQ(classify_endpoint(request.path()), Endpoint::Fdata);
  const AttPhotoResult result = parse_attphoto(request.body);
  ASSERT_TRUE(result.photo.has_value());
  const std::optional<AttPhotoName> name = parse_attphoto_name(result.photo->file_name);
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->time, (DeviceTime{2016, 6, 15, 9, 37, 58}));
  EXPECT_EQ(name->photo_type, 0);
  EXPECT_EQ(name->pin, "1457");
  EXPECT_EQ(name->id_number, "210218199011304365");
}

TEST(AttphotoParserTest, ParsesPlainFileName) {
  const std::optional<AttPhotoName> name = parse_attphoto_name("20150731103012-123.jpg");
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->time, (DeviceTime{2015, 7, 31, 10, 30, 12}));
  EXPECT_EQ(name->pin, "123");
  EXPECT_FALSE(name->photo_type.has_value());
  EXPECT_TRUE(name->id_number.empty());
}

TEST(AttphotoParserTest, RejectsOtherFileNames) {
  for (std::string_view text : {"", "photo.jpg", "20150731103012.jpg", "20151331103012-1.jpg",
                                "2015073110301-1.jpg", "20150731103012-x-1-2.jpg", "a-b-c"}) {
    EXPECT_FALSE(parse_attphoto_name(text).has_value()) << text;
  }
}

TEST(AttphotoParserTest, ReportsSizeMismatchButKeepsThePhoto) {
  const std::string body = handmade("attphoto-nul-binary.http").body;
  const AttPhotoResult result = parse_attphoto(std::string_view(body).substr(0, body.size() - 10));
  ASSERT_TRUE(result.photo.has_value());
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_THAT(result.problems[0].reason, HasSubstr("size says 185"));
}

TEST(AttphotoParserTest, RejectsUploadWithoutBinaryPart) {
  const AttPhotoResult result = parse_attphoto("PIN=1.jpg\nSN=1\nsize=3\nCMD=uploadphoto");
  EXPECT_FALSE(result.photo.has_value());
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_THAT(result.problems[0].reason, HasSubstr("without binary part"));
}

TEST(AttphotoParserTest, RejectsUploadWithoutFileName) {
  const AttPhotoResult result = parse_attphoto(std::string_view("SN=1\nCMD=uploadphoto\0ab", 23));
  EXPECT_FALSE(result.photo.has_value());
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_THAT(result.problems[0].reason, HasSubstr("without PIN"));
}

TEST(AttphotoParserTest, WithoutCmdLineTheFirstNulEndsTheHeader) {
  const AttPhotoResult result = parse_attphoto(std::string_view("PIN=2.jpg\r\nSN=9\0\x01\x02", 18));
  ASSERT_TRUE(result.photo.has_value());
  EXPECT_EQ(result.photo->sn, "9");
  EXPECT_EQ(result.photo->data_offset, 16U);
  EXPECT_EQ(result.photo->data_size, 2U);
}

TEST(AttphotoParserTest, StopsLookingForAHeaderInBinaryGarbage) {
  std::string garbage;
  for (int i = 0; i < 100; ++i) {
    garbage += "\xFF\x01 binary\n";
  }
  const AttPhotoResult result = parse_attphoto(garbage);
  EXPECT_FALSE(result.photo.has_value());
  EXPECT_LE(result.problems.size(), 18U);
}

}  // namespace
}  // namespace pushgate::adapters::zkpush
