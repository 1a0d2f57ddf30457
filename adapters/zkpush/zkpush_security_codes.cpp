#include "adapters/zkpush/zkpush_security_codes.hpp"

#include <array>
#include <cstddef>

namespace pushgate::adapters::zkpush::security {
namespace {

// ---------------------------------------------------------------------------
// Name tables
// ---------------------------------------------------------------------------

struct CodeName {
  std::int64_t code;
  std::string_view name;
};

template <std::size_t N>
constexpr std::string_view find_name(const std::array<CodeName, N>& table,
                                     std::int64_t code) noexcept {
  for (const CodeName& entry : table) {
    if (entry.code == code) {
      return entry.name;
    }
  }
  return {};
}

// Appendix 1 of Security PUSH 3.1.2, and §7.4's -5000.
constexpr auto kSecurityReturnCodes = std::to_array<CodeName>({
    {-1, "Failed to send the command"},
    {-2, "No response to the command"},
    {-3, "Insufficient cache"},
    {-4, "Failed to decompress"},
    {-5, "Incorrect length of read data"},
    {-6, "The length after decompression does not meet the required one"},
    {-7, "Repeated command"},
    {-8, "Unauthorized connection"},
    {-9, "Incorrect data. CRC failed"},
    {-10, "Incorrect data. Failed to resolve data API"},
    {-11, "Incorrect data parameter"},
    {-12, "Command execution error"},
    {-13, "Incorrect command. The command does not exist"},
    {-14, "Incorrect communication password"},
    {-15, "Failed to write the file"},
    {-16, "Failed to read the file"},
    {-17, "The file does not exist"},
    {-18, "The device has insufficient space"},
    {-19, "Checksum error"},
    {-20, "The length of the received data is inconsistent with the specified data length"},
    {-21, "No platform parameter is set on the device"},
    {-22, "The received firmware platform for upgrade is not same to the local platform"},
    {-23, "The firmware version for upgrade is earlier than that in the device"},
    {-24, "Incorrect flag of the upgrade file"},
    {-25, "The name of the received file for firmware upgrade is not emfw.cfg"},
    {-26, "The length of the received fingerprint template is 0"},
    {-27, "The PIN of the received fingerprint template is incorrect. Failed to find the user"},
    {-28, "Door opening command is executed during the open time period"},
    {-30, "The integrated template algorithm's version is inconsistent"},
    {-100, "The table structure does not exist"},
    {-101, "The conditional field in the table structure does not exist"},
    {-102, "The total field count is inconsistent"},
    {-103, "The field sequence is inconsistent"},
    {-104, "Incorrect real-time event data"},
    {-105, "Incorrect data for resolution"},
    {-106, "The size of the delivered data exceeds 4 MB"},
    {-107, "Failed to get the table structure"},
    {-108, "Invalid OPTIONS"},
    {-201, "LoadLibrary failed"},
    {-202, "Failed to call the interface"},
    {-203, "Communication initialization failed"},
    {-206, "Failed to start the serial port agent program"},
    {-301, "Failed to get the TCP/IP version"},
    {-601, "Reserved. For firmware internal use only"},
    {-603, "Internal error: invalid handle"},
    {-604, "Insufficient memory"},
    {-609, "Internal error: invalid handle"},
    {-612, "The device failed to save the parameter"},
    {-614, "Failed to remotely cancel the alarm"},
    {-615, "Remote restart failed"},
    {-616, "Remotely enabling or canceling normal open failed"},
    {-618, "Incorrect URL format"},
    {-619, "Firmware internal error: blank input parameter"},
    {-620, "The format of the data delivered by the server is incorrect"},
    {-621, "The table structure does not support this field"},
    {-628, "Main failed to load the fingerprint to the memory"},
    {-629, "Incorrect table name"},
    {-630, "Failed to execute the shell command"},
    {-631, "Incorrect base64 length"},
    {-632, "Incorrect file name"},
    {-701, "Reserved. For firmware internal use only"},
    {-702, "Reserved. For firmware internal use only"},
    {-703, "Reserved. For firmware internal use only"},
    {-704, "Reserved. For firmware internal use only"},
    {-705, "Reserved. For firmware internal use only"},
    {-706, "Reserved. For firmware internal use only"},
    {-707, "Reserved. For firmware internal use only"},
    {-708, "The firmware does not support this command"},
    {-709, "Failed to upload options"},
    {-720, "Failed to upgrade the firmware"},
    {-721, "The device downloads the file"},
    {-722, "Failed to upload the data to the software"},
    {-723, "Reserved. For firmware internal use only"},
    {-724, "Reserved. For firmware internal use only"},
    {-725, "It times out when the device waits for the result"},
    {-726, "The server returns an HTTP error"},
    {-727, "Reserved. For firmware internal use only"},
    {-728, "Failed to upload the number of table data entries"},
    {-729, "Reserved. For firmware internal use only"},
    {-730, "No response from the server"},
    {-731, "An error occurs when the server receives the data"},
    {-732, "Reserved. For firmware internal use only"},
    {-801, "Incorrect command format. The correct format is cmd:SN:command"},
    {-5000, "Received by the master controller, waiting for the sub-controller"},
});

// Appendix 1 of the attendance PUSH SDK 2.4.1 (shared/specs/).
constexpr auto kAttendanceReturnCodes = std::to_array<CodeName>({
    {-1, "The parameter is incorrect"},
    {-2, "The transmitted user photo data does not match the given size"},
    {-3, "Reading or writing is incorrect"},
    {-9, "The transmitted template data does not match the given size"},
    {-10, "The user specified by PIN does not exist in the equipment"},
    {-11, "The fingerprint template format is illegal"},
    {-12, "The fingerprint template is illegal"},
    {-1001, "Limited capacity"},
    {-1002, "Not supported by the equipment"},
    {-1003, "Command execution timeout"},
    {-1004, "The data and equipment configuration are inconsistent"},
    {-1005, "The equipment is busy"},
    {-1006, "The data is too long"},
    {-1007, "Memory error"},
    {-1008, "Failed to get server data"},
});

// Appendix 2 (the generic "Event Type" wording of its second column) and
// Appendix 19. Codes the appendices skip (46, 81-99, 122-131, ...) are unknown.
constexpr auto kEventNames = std::to_array<CodeName>({
    {0, "The door opens normally after verification"},
    {1, "Verify in the normal open time period"},
    {2, "The first user opens the door"},
    {3, "Multiple users open the door"},
    {4, "Open the door by using the emergency password"},
    {5, "Open the door in the normal open time period"},
    {6, "Trigger linkage"},
    {7, "Cancel the alarm"},
    {8, "Open the door remotely"},
    {9, "Close the door remotely"},
    {10, "Disable the normal open time period of the day"},
    {11, "Enable the normal open time period of the day"},
    {12, "Enable auxiliary output remotely"},
    {13, "Disable auxiliary output remotely"},
    {14, "The door is normally opened after verification"},
    {15, "Multiple users open the door"},
    {16, "Perform verification in the normal open time period"},
    {17, "Open the door by verification"},
    {18, "The first user opens the door"},
    {19, "The first user opens the door"},
    {20, "The operation interval is too short"},
    {21, "Open the door by verification during the non-valid time period"},
    {22, "Invalid time period"},
    {23, "Unauthorized access"},
    {24, "APB"},
    {25, "Interlock"},
    {26, "Multiple users wait for verification"},
    {27, "The user is not registered"},
    {28, "Door opening times out"},
    {29, "The user privilege expires"},
    {30, "The user is not registered"},
    {31, "The operation interval is too short"},
    {32, "Multiple users wait for verification"},
    {33, "The user privilege expires"},
    {34, "The user is not registered"},
    {35, "Open the door by verification during the non-valid time period"},
    {36, "Press the exit button during the non-valid time period"},
    {37, "The door cannot be closed during the normal open time period"},
    {38, "The card has been reported as lost"},
    {39, "Blacklist"},
    {40, "Multi-user verification failed"},
    {41, "Incorrect verification mode"},
    {42, "Incorrect Wiegand format"},
    {43, "The user is focused"},
    {44, "Remote identification failed"},
    {45, "Remote identification times out"},
    {47, "Failed to send the command"},
    {48, "Multi-user verification failed"},
    {49, "Open the door by verification during the non-valid time period"},
    {50, "The operation interval is too short"},
    {51, "Multiple users wait for verification"},
    {52, "Multi-user verification failed"},
    {53, "The user privilege expires"},
    {54, "Battery voltage is too low"},
    {55, "Replace the battery immediately"},
    {56, "Unauthorized operation"},
    {57, "Backup power supply"},
    {58, "Normal open alarm"},
    {59, "Unauthorized admin"},
    {60, "The door is locked inside"},
    {61, "Repeat verification"},
    {62, "Prohibited user"},
    {63, "Door locked"},
    {64, "The exit button is not operated within the time period"},
    {65, "Auxiliary input is not operated within the time period"},
    {66, "Reader upgrade failed"},
    {67, "Remote comparison is successful (device is not authorized)"},
    {68, "High body temperature - access denied"},
    {69, "Without mask - access denied"},
    {70, "The face comparison server communication is abnormal"},
    {71, "Face server responds abnormally"},
    {72, "Call unanswered"},
    {73, "Invalid QR code"},
    {74, "QR code has expired"},
    {75, "Combined verification timeout"},
    {76, "Cannot get fingerprints in TITAN mode"},
    {77, "Internet cable not plugged in"},
    {78, "Device hotspot disconnected abnormally"},
    {79, "Mobile network disconnected abnormally"},
    {80, "The elevator control floor selection button is triggered without any permission"},
    {100, "Tamper alarm"},
    {101, "Alarm for opening the door with the duress password"},
    {102, "The door is opened accidentally"},
    {103, "Alarm for opening the door with the duress fingerprint"},
    {104, "Alarm for punch with an invalid card"},
    {105, "Failed to connect to the server"},
    {106, "Battery power failure"},
    {107, "Mains power failure"},
    {108, "Failed to connect to the main controller"},
    {109, "Reader disassembly alarm"},
    {110, "Reader offline alarm"},
    {111, "POE power down"},
    {112, "Extension board offline alarm"},
    {113, "Illegal security level"},
    {114, "Line detection, fire alarm input disconnected"},
    {115, "Line detection, fire alarm input short circuit"},
    {116, "Line detection, auxiliary input disconnect"},
    {117, "Line detection, auxiliary input short circuit"},
    {118, "Line detection, the exit button is off"},
    {119, "Line detection, short circuit of exit button"},
    {120, "Line detection, door sensor disconnected"},
    {121, "Line detection, door sensor short circuit"},
    {132, "Cancel the emergency state of the elevator control"},
    {133, "It is not possible to cancel the elevator control emergency state"},
    {134, "The elevator control is in a restricted state"},
    {150, "The elevator control manual button is short-circuited"},
    {151, "The elevator control manual button is disconnected"},
    {152, "The elevator control emergency button is short-circuited"},
    {153, "The elevator control emergency button is disconnected"},
    {154, "The elevator control fire button is short-circuited"},
    {155, "The elevator control fire button is disconnected"},
    {200, "The door is open"},
    {201, "The door is closed"},
    {202, "Open the door by pressing the exit button"},
    {203, "Multiple users open the door"},
    {204, "The door normal open time period ends"},
    {205, "Remotely enable normal open for the door"},
    {206, "Start the device"},
    {207, "Open the door by password"},
    {208, "The super user opens the door"},
    {209, "Press the exit button (locked)"},
    {210, "Start firefighting door opening"},
    {211, "The super user closes the door"},
    {212, "Enable the elevator control function"},
    {213, "Disable the elevator control function"},
    {214, "Successfully connected to the server"},
    {215, "The first card opens the door by password"},
    {216, "Open the door by password during the normal open time period"},
    {217, "Successfully connected to the main controller"},
    {218, "Pass by identity card"},
    {219, "Verification within the time period when the exit button is normally open"},
    {220, "Disconnected from the auxiliary input point"},
    {221, "The auxiliary input point is short-circuited"},
    {222, "Remote identification is successful"},
    {223, "Remote identification"},
    {224, "Ring the doorbell"},
    {225, "The auxiliary input point is normal"},
    {226, "Trigger the auxiliary input point"},
    {227, "The door is in dual-on mode"},
    {228, "The door is in dual-off mode"},
    {229, "Regularly enable normal open for auxiliary output"},
    {230, "Regularly disable normal open for auxiliary output"},
    {231, "IPC firmware linkage event"},
    {232, "Passed the verification"},
    {233, "Remote lock"},
    {234, "Remote unlock"},
    {235, "Reader upgrade successfully"},
    {236, "Reader disassembly alarm release"},
    {237, "Reader online"},
    {239, "Device call"},
    {240, "Call ended"},
    {241, "Linked capture event"},
    {242, "Linked recording event"},
    {243, "Fire alarm input disconnected"},
    {244, "Fire alarm input short circuit"},
    {245, "Connect to hotspot"},
    {246, "Mobile network connection is successful"},
    {247, "Expansion board online"},
    {248, "Plug in the internet cable"},
    {249, "The elevator control direct button triggers"},
    {250, "The elevator control floor selection button is triggered with the permissions"},
    {251, "The elevator control cancels the button via voice"},
    {252, "The elevator control triggers the button via voice"},
    {254, "Definition of the extended event number"},
    {255, "Door status"},
    {4000, "Fire control normally open ends"},
    {4001, "Normal communication of the personnel"},
    {4002, "Configured successfully (elevator control)"},
    {4003, "Successful loss report (elevator control)"},
    {4004, "Successfully cancel the loss report (elevator control)"},
    {4005, "Voice light on the door closing button (elevator control)"},
    {4006, "Voice light on the door open button (elevator control)"},
    {4007, "Green Code (health code)"},
    {4008, "Mains power recovery"},
    {4009, "Video intercom call"},
    {4010, "Video intercom answering"},
    {4011, "Video intercom call timeout"},
    {4012, "Video intercom rejection"},
    {4013, "Video intercom hangs up normally"},
    {5000, "The clutch is abnormal"},
    {5001, "The fire control board is abnormal"},
    {5002, "The fire control board is losing electricity"},
    {5003, "The power supply is abnormal"},
    {5004, "The signal synchronization is abnormal"},
    {5005, "The motor current is too large"},
    {5006, "The mainboard current is too large"},
    {5007, "The mainboard current is overloaded"},
    {5008, "Receives continuous opening signal"},
    {5009, "The voice loading is abnormal"},
    {5010, "The slave machine is offline"},
    {5011, "The slave machine communication interface is disconnected"},
    {5012, "The belt is broken"},
    {5013, "The turnstile-opening solenoid is abnormal"},
    {5014, "The drop-arm solenoid is abnormal"},
    {5015, "The turnstile arm cannot be lifted"},
    {5016, "The turnstile arm cannot be dropped"},
    {5017, "Configuration failed (elevator control)"},
    {5018, "Failed to report loss (elevator control)"},
    {5019, "Failed to cancel the loss report (elevator control)"},
    {5020, "Card data exception (elevator control)"},
    {5021, "QR code is invalid"},
    {5022, "The acquisition of the health code of Chongqing is abnormal"},
    {6000, "The fire control start is normally opened"},
    {6001, "Yellow Code (health code)"},
    {6002, "Red Code (health code)"},
    {6003, "Unknown health status"},
    {6004, "Abnormal status of health code of Chongqing"},
    {6005, "The device record capacity reaches 90%"},
    {6006, "Short circuit of reader (RS485)"},
    {6007, "Short circuit of reader (Wiegand)"},
    {6008, "Using emergency power supply, switch from AC power supply to DC power supply"},
    {6009, "Using emergency power supply, switch from DC power supply to AC power supply"},
    {6010, "Using emergency DC power supply, the power battery enters a low voltage state"},
});

// Appendix 3.
constexpr auto kVerifyModes = std::to_array<CodeName>({
    {0, "Vein, face, fingerprint, card, or password (automatically identified)"},
    {1, "Fingerprint only"},
    {2, "User ID"},
    {3, "Password only"},
    {4, "Card only"},
    {5, "Fingerprint or password"},
    {6, "Fingerprint or card"},
    {7, "Card or password"},
    {8, "User ID and fingerprint"},
    {9, "Fingerprint and password"},
    {10, "Card and fingerprint"},
    {11, "Card and password"},
    {12, "Fingerprint, password, and card"},
    {13, "User ID, fingerprint, and password"},
    {14, "User ID and fingerprint, or card and fingerprint"},
    {15, "Face"},
    {16, "Face and fingerprint"},
    {17, "Face and password"},
    {18, "Face and card"},
    {19, "Face, fingerprint, and card"},
    {20, "Face, fingerprint, and password"},
    {21, "Finger vein"},
    {22, "Finger vein and password"},
    {23, "Finger vein and card"},
    {24, "Finger vein, password, and card"},
    {25, "Palm"},
    {26, "Palm and card"},
    {27, "Palm and face"},
    {28, "Palm and fingerprint"},
    {29, "Palm, fingerprint and face"},
    {200, "Other: a door or system event (no user verified)"},
});

// §4.4 NewVFStyles, VERIFY_STYLE_E.
constexpr auto kVerifyStyles = std::to_array<CodeName>({
    {0, "Invalid bit"},
    {1, "Face"},
    {2, "Palm print"},
    {3, "Palm vein"},
    {4, "Fingerprint"},
    {5, "Finger vein"},
    {6, "Voice print"},
    {7, "Iris"},
    {8, "Retina"},
    {9, "Password"},
    {10, "User ID"},
    {11, "Card"},
    {12, "QR code / health code"},
});

}  // namespace

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

std::string_view return_code_name(std::int64_t code, PushFlavour flavour) noexcept {
  if (code >= 0) {
    // Appendix 1: any value >= 0 is success (GetFile-style commands return a size).
    return "success";
  }
  // What these two mean in the field: the command was written in the other
  // flavour's form (access firmware refuses DATA QUERY USERINFO with -629,
  // attendance firmware refuses the table form with -1004). Said first, so a
  // result names the cause rather than the spec's wording alone.
  if (flavour == PushFlavour::Security && code == -629) {
    return "command not supported by this firmware (Incorrect table name)";
  }
  if (flavour == PushFlavour::Attendance && code == -1004) {
    return "command not supported by this firmware (The data and equipment configuration are "
           "inconsistent)";
  }
  const std::string_view security = find_name(kSecurityReturnCodes, code);
  const std::string_view attendance = find_name(kAttendanceReturnCodes, code);
  const std::string_view first = flavour == PushFlavour::Security ? security : attendance;
  const std::string_view second = flavour == PushFlavour::Security ? attendance : security;
  if (!first.empty()) {
    return first;
  }
  if (!second.empty()) {
    return second;
  }
  return "unknown";
}

std::string_view event_code_name(int code) noexcept {
  const std::string_view name = find_name(kEventNames, code);
  return name.empty() ? std::string_view("unknown") : name;
}

EventCategory event_category(int code) noexcept {
  if ((code >= 0 && code <= 19) || (code >= 200 && code <= 253) || (code >= 4000 && code <= 4999)) {
    return EventCategory::Normal;
  }
  if ((code >= 20 && code <= 99) || (code >= 5000 && code <= 5999)) {
    return EventCategory::Error;
  }
  if ((code >= 100 && code <= 199) || (code >= 6000 && code <= 6999)) {
    return EventCategory::Alarm;
  }
  if (code == 254) {
    return EventCategory::Extended;
  }
  if (code == 255) {
    return EventCategory::Status;
  }
  return EventCategory::Unknown;
}

std::string_view verify_mode_name(int mode) noexcept {
  const std::string_view name = find_name(kVerifyModes, mode);
  return name.empty() ? std::string_view("unknown") : name;
}

std::string_view verify_style_name(int bit) noexcept {
  const std::string_view name = find_name(kVerifyStyles, bit);
  return name.empty() ? std::string_view("unknown") : name;
}

}  // namespace pushgate::adapters::zkpush::security
