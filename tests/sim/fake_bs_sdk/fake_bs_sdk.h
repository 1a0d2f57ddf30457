/*
 * A fake of Suprema's BioStar 2 Device SDK (libBS_SDK_V2.so) for tests,
 * written from Suprema's public function reference (kb.supremainc.com,
 * "BioStar 2 Device SDK" API pages), not from pushgate's adapter. It exports
 * the same BS2_* entry points with the same structures; its simulated
 * devices live in a state directory (FAKE_BS_SDK_DIR), so a test can drive
 * them from its own process while pushgated loads the library:
 *
 *   addr-<port>   the device id answering BS2_ConnectDeviceViaIP on <port>
 *   log-<id>      the device's event log: 48-byte BS2Event rows, ids 1, 2, ...
 *   down-<id>     present: the device's link is cut (connects fail, the
 *                 connected SDK reports it disconnected)
 *   dial-<id>     present: the device dials the SDK's server port (server mode)
 *   doors-<id>    door commands the device received, one line each:
 *                 "<unlock|lock|release> flag=<n> door=<id>"
 *   users-<id>    the users enrolled on the device: "<user id>\t<name>" lines,
 *                 then "\tcard=<number>" per CSN card and "\tpin=<digits>"
 *                 when the user has them (this fake's BS2_MakePinCode form
 *                 is readable; the SDK's is a hash)
 *
 * FAKE_BS_SDK_GETLOG_DELAY_MS slows every BS2_GetLog call (a slow device).
 * The fakesdk_* functions below are the tests' control API.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Makes device `device_id` answer connects on `port`. 1 on success. */
int fakesdk_add_device(const char* dir, uint16_t port, uint32_t device_id);
/**
 * Appends `count` events with the next ids to the device's log (the device
 * records them whether or not a link is up). `local_time` is the device's
 * wall clock (seconds); `user_id` may be NULL. Returns the last id, 0 on error.
 */
uint32_t fakesdk_append_events(const char* dir, uint32_t device_id, uint32_t count, uint16_t code,
                               uint32_t local_time, const char* user_id, uint8_t tna_key);
/** Events in the device's log. */
uint32_t fakesdk_event_count(const char* dir, uint32_t device_id);
/** Cuts (up = 0) or restores (up = 1) the device's link. */
int fakesdk_set_link(const char* dir, uint32_t device_id, int up);
/** Makes the device dial the SDK's server port (on = 1) or stop dialling. */
int fakesdk_set_dial(const char* dir, uint32_t device_id, int on);
/** The door commands the device received, as text (see doors-<id>); returns the length. */
size_t fakesdk_door_commands(const char* dir, uint32_t device_id, char* buf, size_t cap);
/** The users enrolled on the device, as users-<id> above, by id; returns the length. */
size_t fakesdk_users(const char* dir, uint32_t device_id, char* buf, size_t cap);

#ifdef __cplusplus
}
#endif
