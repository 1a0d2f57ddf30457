#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <boost/system/error_code.hpp>

#include "gateway/event_log.hpp"

namespace pushgate::access {

/** A §10 remote identification as a terminal asked it (Security PUSH `AuthType=device`). */
struct RemoteAuthRequest {
  std::string terminal_sn;
  std::string time_text;  ///< the record's `time=`, as sent
  std::string pin;        ///< "" or "0": none
  std::string card;       ///< "" or "0": none
  int addr_type = -1;     ///< 1 device, 2 door, 3 reader, 4 aux input, 5 aux output
  int event_addr = -1;    ///< the door (§10: "currently, the door is the only option")
  int event = -1;         ///< the terminal's event code
  int in_out = -1;        ///< 0 in, 1 out, else unknown
  int verify_type = -1;   ///< Appendix 3
  std::string raw;        ///< the record line, echoed in the answer
  std::int64_t received_ms = 0;
};

/** What to tell the terminal. */
struct RemoteAuthAnswer {
  /** Set when the decision could not be recorded (store failure): the door must stay shut. */
  boost::system::error_code ec;
  bool granted = false;
  int event_code = 0;  ///< Appendix 2: 0/1/2/3/101 when granted, else why not
  int door = 0;        ///< CONTROL DEVICE BB
  int open_s = 0;      ///< CONTROL DEVICE DD: seconds, 255 = normal open
  std::string tips;    ///< TIPS, a short reason in English
};

/**
 * Takes local access decisions for the §10 remote identification
 * (gateway/access/ implements it; adapters/zkpush calls it).
 *
 * Contract: `decide` may be called from any thread and never blocks on
 * disk. `done` is called exactly once, on any thread (an I/O thread or the
 * store's writer): post to your own strand. A grant that changes durable
 * state (anti-passback) is answered only after that state is committed.
 */
class Decider {
 public:
  virtual ~Decider() = default;
  virtual void decide(RemoteAuthRequest request, std::function<void(RemoteAuthAnswer)> done) = 0;

  /**
   * An access event a terminal uploaded (rtlog, or a querydata transaction)
   * on its way into `batch`. A passage in it (a door opened for a user,
   * whoever decided) moves the user for anti-passback, and the new position
   * is written by `batch` itself: in the same transaction as the event, so
   * the terminal hears OK for both or neither. Called on the uploading
   * session's thread, before the batch is appended.
   */
  virtual void note_pass(const Event& event, WriteBatch& batch) = 0;
};

}  // namespace pushgate::access
