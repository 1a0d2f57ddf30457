// Included first: proves the header is self-contained.
#include "adapters/zkpush/zkpush_security_codes.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/adapters/zkpush/zkpush_security_test_support.hpp"

namespace pushgate::adapters::zkpush::security {
namespace {

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

TEST(NameTableTest, NamesReturnCodesOfBothFlavours) {
  EXPECT_EQ(return_code_name(0), "success");
  EXPECT_EQ(return_code_name(2048), "success");
  EXPECT_EQ(return_code_name(-1), "Failed to send the command");
  EXPECT_EQ(return_code_name(-1, PushFlavour::Attendance), "The parameter is incorrect");
  EXPECT_EQ(return_code_name(-13), "Incorrect command. The command does not exist");
  EXPECT_EQ(return_code_name(-13, PushFlavour::Attendance),
            "Incorrect command. The command does not exist");  // only Security has it
  EXPECT_EQ(return_code_name(-1002), "Not supported by the equipment");
  EXPECT_EQ(return_code_name(-1004, PushFlavour::Attendance),
            "command not supported by this firmware (The data and equipment configuration are "
            "inconsistent)");
  EXPECT_EQ(return_code_name(-1004), "The data and equipment configuration are inconsistent");
  // The attendance query form sent to access firmware.
  EXPECT_EQ(return_code_name(-629),
            "command not supported by this firmware (Incorrect table name)");
  EXPECT_EQ(return_code_name(-629, PushFlavour::Attendance), "Incorrect table name");
  EXPECT_EQ(return_code_name(-708), "The firmware does not support this command");
  EXPECT_EQ(return_code_name(-801),
            "Incorrect command format. The correct format is cmd:SN:command");
  EXPECT_EQ(return_code_name(-29), "unknown");
  EXPECT_EQ(return_code_name(-99999), "unknown");
}

TEST(NameTableTest, NamesEventCodes) {
  EXPECT_EQ(event_code_name(0), "The door opens normally after verification");
  EXPECT_EQ(event_code_name(8), "Open the door remotely");
  EXPECT_EQ(event_code_name(102), "The door is opened accidentally");
  EXPECT_EQ(event_code_name(254), "Definition of the extended event number");
  EXPECT_EQ(event_code_name(4009), "Video intercom call");
  EXPECT_EQ(event_code_name(5012), "The belt is broken");
  EXPECT_EQ(event_code_name(6010),
            "Using emergency DC power supply, the power battery enters a low voltage state");
  for (int code : {-1, 46, 81, 122, 238, 253, 256, 3999, 4014, 7000}) {
    EXPECT_EQ(event_code_name(code), "unknown") << code;
  }
}

TEST(NameTableTest, ClassifiesEventCodes) {
  EXPECT_EQ(event_category(0), EventCategory::Normal);
  EXPECT_EQ(event_category(19), EventCategory::Normal);
  EXPECT_EQ(event_category(20), EventCategory::Error);
  EXPECT_EQ(event_category(99), EventCategory::Error);
  EXPECT_EQ(event_category(100), EventCategory::Alarm);
  EXPECT_EQ(event_category(199), EventCategory::Alarm);
  EXPECT_EQ(event_category(200), EventCategory::Normal);
  EXPECT_EQ(event_category(253), EventCategory::Normal);
  EXPECT_EQ(event_category(254), EventCategory::Extended);
  EXPECT_EQ(event_category(4999), EventCategory::Normal);
  EXPECT_EQ(event_category(5000), EventCategory::Error);
  EXPECT_EQ(event_category(6999), EventCategory::Alarm);
  EXPECT_EQ(event_category(7000), EventCategory::Unknown);
  EXPECT_EQ(event_category(-5), EventCategory::Unknown);
}

TEST(NameTableTest, NamesVerifyModes) {
  EXPECT_EQ(verify_mode_name(0),
            "Vein, face, fingerprint, card, or password (automatically identified)");
  EXPECT_EQ(verify_mode_name(4), "Card only");
  EXPECT_EQ(verify_mode_name(29), "Palm, fingerprint and face");
  EXPECT_EQ(verify_mode_name(200), "Other: a door or system event (no user verified)");
  EXPECT_EQ(verify_mode_name(1), "Fingerprint only");
  EXPECT_EQ(verify_mode_name(4), "Card only");
  EXPECT_EQ(verify_mode_name(15), "Face");
  EXPECT_EQ(verify_mode_name(30), "unknown");
  EXPECT_EQ(verify_mode_name(-1), "unknown");
}

}  // namespace
}  // namespace pushgate::adapters::zkpush::security
