#pragma once

// `pushgated --add-user NAME --role ROLE [--password-file F]`, `--list-users`,
// `--remove-user NAME`: the local accounts, managed on the database file
// (online: a running pushgated sees a change at the next login or request).

#include <filesystem>
#include <iosfwd>
#include <string>

namespace pushgate::auth {

struct AccountCommand {
  enum class Kind { Add, List, Remove };
  Kind kind = Kind::List;
  std::string name;
  std::string role;           ///< Add: viewer / operator / admin
  std::string password_file;  ///< Add: empty reads the terminal without echo
  std::string gateway_id = "pushgate";
};

/**
 * Runs `cmd` on the database at `db_path` (created and migrated when
 * missing), writing the answer to `out` and problems to `err`. Exit codes:
 * 0 done, 2 bad arguments (role, name, password), 3 no such user, 4 the
 * user exists, 1 other failures (database).
 */
int run_account_command(const AccountCommand& cmd, const std::filesystem::path& db_path,
                        std::ostream& out, std::ostream& err);

/** The password policy: an error message, or "" when `password` is acceptable. */
std::string password_problem(const std::string& password);

}  // namespace pushgate::auth
