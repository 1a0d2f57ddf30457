// zkpush's mapping of what a ZKTeco terminal announced (registration,
// INFO, options) onto the vendor-neutral TerminalRecord description.
#include "adapters/zkpush/zkpush_device_model.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pushgate::adapters::zkpush {
namespace {

using nlohmann::json;

// As zkpush stores a Security PUSH terminal after §4.4 (the F20/M example).
TerminalRecord access_terminal() {
  TerminalRecord t;
  t.sn = "ACC1";
  t.flavour = "access";
  t.device_type = "acc";
  t.info_json = json{
      {"registry_code", "x"},
      {"lock_count", 1},
      {"multi_bio_data_support", ""},
      {"registration",
       {{"DeviceType", "acc"},
        {"~DeviceName", "F20/M"},
        {"LockCount", "1"},
        {"ReaderCount", "2"},
        {"FingerFunOn", "1"},
        {"FaceFunOn", "0"},
        {"AutoServerFunOn",
         "1"}}}}.dump();
  return t;
}

TEST(ZkpushDeviceModelTest, SecurityPushTerminalFromItsRegistration) {
  auto t = access_terminal();
  describe_terminal(t);
  EXPECT_EQ(t.vendor, "zkteco");
  EXPECT_EQ(t.protocol, kProtocolSecurity);
  EXPECT_EQ(t.model, "F20/M");
  EXPECT_EQ(t.capabilities.doors, 1);
  EXPECT_EQ(t.capabilities.readers, 2);
  EXPECT_TRUE(t.capabilities.has(Biometric::Fingerprint));
  EXPECT_FALSE(t.capabilities.has(Biometric::Face));
  EXPECT_EQ(t.capabilities.decision, DecisionMode::Gateway);
  EXPECT_EQ(t.capabilities.commands, CommandDelivery::Poll);
  EXPECT_TRUE(t.capabilities.user_sync);
  EXPECT_EQ(t.capabilities.sync_writes, kAllSyncWrites);

  // Options pushed later win over the registration; remote identification off.
  t.options_json = json{{"~DeviceName", "ProBio"},
                        {"AutoServerFunOn", "0"},
                        {"MultiBioDataSupport", "0:1:0:0:0:0:0:0:1:1"}}
                       .dump();
  describe_terminal(t);
  EXPECT_EQ(t.model, "ProBio");
  EXPECT_EQ(t.capabilities.decision, DecisionMode::Local);
  EXPECT_TRUE(t.capabilities.has(Biometric::Palm));  // type 8
  EXPECT_TRUE(t.capabilities.has(Biometric::Face));  // type 9
}

TEST(ZkpushDeviceModelTest, AccessTerminalThatNeverSaidHasOneDoor) {
  TerminalRecord t;
  t.flavour = "access";
  t.device_type = "acc";
  describe_terminal(t);
  EXPECT_EQ(t.capabilities.doors, 1);
  EXPECT_EQ(t.model, "acc");
  EXPECT_EQ(t.capabilities.decision, DecisionMode::Local);
}

TEST(ZkpushDeviceModelTest, AttendanceTerminalFromInfoAndOptions) {
  TerminalRecord t;
  t.flavour = "attendance";
  t.device_type = "SpeedFace-V5L[TD]";
  t.info_json = json{{"fingerprints", 2}, {"faces", 0}, {"users", 3}}.dump();
  t.options_json = json{{"FvFunOn", "1"}, {"AutoServerFunOn", "1"}}.dump();
  describe_terminal(t);
  EXPECT_EQ(t.vendor, "zkteco");
  EXPECT_EQ(t.protocol, kProtocolAttendance);
  EXPECT_EQ(t.model, "SpeedFace-V5L[TD]");
  EXPECT_EQ(t.capabilities.doors, 0);
  EXPECT_TRUE(t.capabilities.has(Biometric::Fingerprint));
  EXPECT_TRUE(t.capabilities.has(Biometric::FingerVein));
  EXPECT_FALSE(t.capabilities.has(Biometric::Face));
  // Attendance PUSH has no remote identification, and the sync does not serve it.
  EXPECT_EQ(t.capabilities.decision, DecisionMode::Local);
  EXPECT_FALSE(t.capabilities.user_sync);
  EXPECT_EQ(t.capabilities.sync_writes, 0u);
}

TEST(ZkpushDeviceModelTest, WhatWasKnownBeforeIsKeptAndGarbageIsIgnored) {
  TerminalRecord t;
  t.flavour = "attendance";
  t.capabilities.add(Biometric::Iris);  // e.g. migrated from stored templates
  t.info_json = "not json";
  t.options_json = json{{"FingerFunOn", 1}, {"LockCount", "two"}}.dump();
  describe_terminal(t);
  EXPECT_TRUE(t.capabilities.has(Biometric::Iris));
  EXPECT_FALSE(t.capabilities.has(Biometric::Fingerprint));  // not the text "1"
  EXPECT_EQ(t.capabilities.doors, 0);
}

}  // namespace
}  // namespace pushgate::adapters::zkpush
