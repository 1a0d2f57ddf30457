#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_normalize.hpp"
#include "adapters/zkpush/zkpush_security_protocol.hpp"
#include "adapters/zkpush/zkpush_session.hpp"

namespace pushgate::adapters::zkpush {

/**
 * The access-control flavour (Security PUSH 3.x, DeviceType=acc) of one
 * terminal request, after ZkpushService has admitted it (serial, networks,
 * refused). Decided per terminal: the endpoints only this flavour has
 * (/iclock/registry, /iclock/push, /iclock/querydata), a handshake with
 * DeviceType=acc, or flavour "access" stored for the terminal; never by
 * pushver alone.
 *
 * Registration (§4.4) gives the terminal a RegistryCode, kept in its info
 * JSON so a restart does not force re-registration; each handshake (§4.1)
 * a new SessionID (also persisted). Every other request carries
 * `Cookie: token=MD5(RegistryCode+SN+SessionID)`, checked per
 * zkpush.token_check. Uploads are normalised into Events and commited before
 * the terminal hears its answer, through ZkpushService::commit_and_answer;
 * the command poll is ZkpushService's (dialect Access).
 *
 * Door states of rtstate (§7.3) and of rtlog state rows go to the core's
 * DoorService (ctx.doors), which serves GET /api/v1/doors.
 */
class SecurityService {
 public:
  explicit SecurityService(ZkpushService& base);

  /** Whether this request is Security PUSH (see the class comment). */
  bool claims(const ZkpushService::Request& r, security::SecurityEndpoint endpoint) const;
  void handle(ZkpushService::Request& r, security::SecurityEndpoint endpoint);

 private:
  using Request = ZkpushService::Request;

  /** What is kept in memory per terminal (registration persisted in its info JSON). */
  struct Session {
    bool loaded = false;
    std::string registry_code;
    std::string session_id;
    std::size_t lock_count = 0;
    std::string multi_bio_data_support;
    std::string multi_bio_photo_support;
    std::int64_t token_logged_ms = 0;
    // The token last computed (an MD5), and from which code and session:
    // every request of a registered terminal carries it.
    std::string token_code;
    std::string token_session;
    std::optional<std::string> token;
  };

  void handshake(Request& r);
  void registry(Request& r);
  /** A getrequest from a terminal recognised as Security PUSH before it registered. */
  void first_poll(Request& r);
  void push_config(Request& r);
  void upload(Request& r);
  void querydata(Request& r);
  void device_command(Request& r);
  /** False when the request was refused (token_check=enforce). */
  bool token_ok(Request& r);
  /** Whether the request's Cookie carries the token of the session `s`. */
  static bool current_token_presented(const Request& r, const Session& s);

  /** A copy of the terminal's session, loaded from its info JSON on first use. */
  Session session(const TerminalRecord& terminal);
  Session& session_locked(const TerminalRecord& terminal);
  security::ServerConfig server_config(const security::HandshakeRequest& h,
                                       std::string session_id) const;
  /** Stores the session keys in the terminal's info JSON and queues the persist op. */
  void persist_session(Request& r, const Session& s, const nlohmann::json* registration);

  std::size_t add_rtlog(const security::RtlogRecord& rec, const UploadContext& u,
                        WriteBatch& batch);
  void add_door_states(const std::string& sn, const std::vector<security::DoorState>& doors,
                       const std::string& time_text, const std::string& raw, const UploadContext& u,
                       bool emit_events, WriteBatch& batch);
  std::size_t add_table(const std::vector<security::TableEntry>& entries, security::TableKind kind,
                        const UploadContext& u, WriteBatch& batch);
  void merge_options(Request& r, const KeyValues& options, WriteBatch& batch);
  /** §10 remote identification: asks ctx_.access and answers when it has decided. */
  void remote_auth(Request& r, std::string_view body, const UploadContext& u, WriteBatch&& batch);

  ZkpushService& base_;
  AdapterContext& ctx_;
  std::shared_ptr<spdlog::logger> log_;
  metrics::Counter& token_mismatches_;
  metrics::Counter& remote_auth_refused_;       // access disabled: FAILED, the terminal decides
  metrics::Counter& remote_auth_decided_;       // answered from the local decision
  metrics::Counter& remote_auth_unusable_;      // no usable record line: FAILED
  metrics::Counter& remote_auth_unrecorded_;    // the decision could not be stored: FAILED
  metrics::Counter& remote_auth_not_admitted_;  // not an accepted, registered access terminal
  metrics::Counter& rtlog_bad_time_;            // rtlog rows whose time is unreadable
  /** The sessions, shared with the reset-registration route (the router outlives us). */
  struct Sessions {
    std::mutex mutex;
    std::map<std::string, Session, std::less<>> by_sn;
  };
  std::shared_ptr<Sessions> sessions_ = std::make_shared<Sessions>();
};

}  // namespace pushgate::adapters::zkpush
