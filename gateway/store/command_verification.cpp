#include "gateway/command_verification.hpp"

#include <utility>

#include "gateway/store/write_context.hpp"

namespace pushgate {

WriteOp record_command_verification(std::int64_t id, bool applied, std::string outcome) {
  return [id, applied,
          outcome = std::move(outcome)](store::WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    auto& st = ctx.statement(
        "UPDATE commands SET result=?2, state=CASE WHEN ?3 THEN state ELSE 'failed' END,"
        " error=CASE WHEN ?3 THEN error ELSE ?2 END WHERE id=?1",
        ec);
    if (ec) {
      return ec;
    }
    st.bind(1, id).bind(2, std::string_view(outcome)).bind(3, applied ? 1 : 0);
    return st.run();
  };
}

}  // namespace pushgate
