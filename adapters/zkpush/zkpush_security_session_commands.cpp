// Security PUSH service: devicecmd, the terminal's results of delivered commands.
#include "adapters/zkpush/zkpush_security_session.hpp"

#include "adapters/zkpush/zkpush_commands.hpp"
#include "adapters/zkpush/zkpush_security_session_support.hpp"
#include "gateway/device_text.hpp"
#include "gateway/event_log.hpp"

namespace pushgate::adapters::zkpush {

using security_session_detail::to_int64;

void SecurityService::device_command(Request& r) {
  auto parsed = parse_devicecmd(r.req.body());
  UploadContext u;
  u.sn = r.sn;
  u.received_ms = r.now_ms;
  u.endpoint = "devicecmd";
  WriteBatch batch = std::move(r.pending);
  add_problems(parsed.problems, u, batch);
  std::vector<CommandQueue::Result> results;
  for (const auto& c : parsed.confirmations) {
    auto sub = security::sub_controller_sn(c);
    if (security::queued_for_sub_controller(c)) {
      // Appendix 15: the master took it for a sub-controller; the final
      // result follows in a later devicecmd.
      log_->debug("[sn={}] [cmd={}] queued for sub-controller {}", r.sn, text::log_escape(c.id),
                  text::log_escape(sub.value_or("?")));
      continue;
    }
    auto id = to_int64(c.id);
    if (!id) {
      continue;
    }
    log_->debug("[sn={}] [cmd={}] result Return={} CMD={}{}", r.sn, text::log_escape(c.id),
                c.return_code, text::log_escape(c.cmd),
                sub ? " sub-controller " + text::log_escape(*sub) : std::string());
    results.push_back(
        {*id, c.return_code,
         std::string(security::return_code_name(c.return_code, security::PushFlavour::Security)),
         c.raw});
  }
  std::vector<CommandRecord> changed;
  std::vector<CommandQueue::Refusal> refused;
  ctx_.commands.complete(r.sn, results, batch, changed, &refused);
  base_.refused_results(r, refused);
  base_.read_back(r, changed, batch);
  base_.commit_and_answer(r, std::move(batch), std::string(security::kOkAnswer),
                          std::move(changed));
}

}  // namespace pushgate::adapters::zkpush
