#include "gateway/config/device_credentials.hpp"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate::config {
namespace {

using ::testing::HasSubstr;

std::string write_file(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), mode);
  return path.string();
}

TEST(DeviceCredentialsTest, ReadsTheFirstLineOfAFileOnlyItsOwnerMayRead) {
  pushgate::test::TempDir dir;
  const auto path = write_file(dir.path() / "pw", "s3cret \r\nsecond line\n", 0600);
  std::string out = "before";
  EXPECT_EQ(read_secret_file(path, out), "");
  EXPECT_EQ(out, "s3cret");
}

TEST(DeviceCredentialsTest, RefusesAFileGroupOrOthersMayReadAndKeepsTheOldValue) {
  pushgate::test::TempDir dir;
  std::string out = "before";
  for (mode_t mode : {0640, 0604, 0620}) {
    const auto path = write_file(dir.path() / "pw", "s3cret\n", mode);
    const auto problem = read_secret_file(path, out);
    EXPECT_THAT(problem, HasSubstr("group or others (chmod 600 it)")) << std::oct << mode;
    EXPECT_THAT(problem, HasSubstr(path));
  }
  EXPECT_EQ(out, "before");
}

TEST(DeviceCredentialsTest, NamesAMissingEmptyOrNonRegularFile) {
  pushgate::test::TempDir dir;
  std::string out;
  EXPECT_EQ(read_secret_file((dir.path() / "absent").string(), out),
            "cannot read " + (dir.path() / "absent").string());
  const auto empty = write_file(dir.path() / "empty", "\n", 0600);
  EXPECT_EQ(read_secret_file(empty, out), empty + " is empty");
  ::chmod(dir.path().c_str(), 0700);
  EXPECT_THAT(read_secret_file(dir.path().string(), out), HasSubstr("is not a regular file"));
}

TEST(DeviceCredentialsTest, EachProblemIsNamedByItsKey) {
  pushgate::test::TempDir dir;
  std::vector<ConfigError> errors;
  DeviceAccess both{"inline", write_file(dir.path() / "pw", "x\n", 0600), false, ""};
  check_device_access("dahua.devices.door1", both, errors);
  DeviceAccess none{};
  check_device_access("suprema.servers.hq", none, errors);
  DeviceAccess ca_without_https{"pw", "", false, "/etc/ssl/ca.pem"};
  check_device_access("dahua.devices.door2", ca_without_https, errors);
  DeviceAccess unreadable_ca{"pw", "", true, (dir.path() / "nope.pem").string()};
  check_device_access("dahua.devices.door3", unreadable_ca, errors);
  DeviceAccess loose{"", write_file(dir.path() / "loose", "x\n", 0644), false, ""};
  check_device_access("dahua.devices.door4", loose, errors);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0].key, "dahua.devices.door1.password");
  EXPECT_EQ(errors[0].reason, "set either password or password_file, not both");
  EXPECT_EQ(errors[1].key, "suprema.servers.hq.password");
  EXPECT_EQ(errors[1].reason, "one of password and password_file is required");
  EXPECT_EQ(errors[2].key, "dahua.devices.door2.ca_file");
  EXPECT_EQ(errors[2].reason, "is set but https is off");
  EXPECT_EQ(errors[3].key, "dahua.devices.door3.ca_file");
  EXPECT_THAT(errors[3].reason, HasSubstr("cannot read"));
  EXPECT_EQ(errors[4].key, "dahua.devices.door4.password_file");
  EXPECT_THAT(errors[4].reason, HasSubstr("chmod 600"));
}

TEST(DeviceCredentialsTest, AGoodFileFillsThePassword) {
  pushgate::test::TempDir dir;
  std::vector<ConfigError> errors;
  DeviceAccess a{"", write_file(dir.path() / "pw", "from-file\n", 0600), true, ""};
  check_device_access("dahua.devices.door1", a, errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(a.password, "from-file");
}

}  // namespace
}  // namespace pushgate::config
