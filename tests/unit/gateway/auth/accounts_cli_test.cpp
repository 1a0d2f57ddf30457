#include "gateway/auth/accounts_cli.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "gateway/auth/crypto.hpp"
#include "gateway/store/auth_queries.hpp"
#include "gateway/store/sqlite.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate::auth {
namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class AccountsCli : public ::testing::Test {
 protected:
  int run(AccountCommand cmd) {
    out_.str("");
    err_.str("");
    return run_account_command(cmd, db_, out_, err_);
  }
  std::filesystem::path password_file(const std::string& password) {
    auto p = dir_.path() / "pw";
    std::ofstream(p) << password << "\n";
    return p;
  }
  AccountCommand add(const std::string& name, const std::string& role, const std::string& pw) {
    AccountCommand c;
    c.kind = AccountCommand::Kind::Add;
    c.name = name;
    c.role = role;
    c.password_file = password_file(pw).string();
    return c;
  }

  test::TempDir dir_;
  std::filesystem::path db_ = dir_.path() / "pushgate.db";
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(AccountsCli, AddsListsAndRemovesUsers) {
  ASSERT_EQ(run(add("alice", "admin", "alice's long secret")), 0) << err_.str();
  ASSERT_EQ(run(add("bob", "viewer", "bob's long secret")), 0) << err_.str();
  AccountCommand list;
  ASSERT_EQ(run(list), 0) << err_.str();
  EXPECT_EQ(out_.str(), "alice\tadmin\nbob\tviewer\n");

  AccountCommand remove;
  remove.kind = AccountCommand::Kind::Remove;
  remove.name = "bob";
  ASSERT_EQ(run(remove), 0) << err_.str();
  EXPECT_EQ(run(remove), 3);
  ASSERT_EQ(run(list), 0);
  EXPECT_EQ(out_.str(), "alice\tadmin\n");
}

TEST_F(AccountsCli, ThePasswordIsStoredOnlyAsAVerifiableHash) {
  ASSERT_EQ(run(add("alice", "operator", "a password in clear")), 0) << err_.str();
  // Nowhere in the database or its WAL.
  for (const auto& suffix : {"", "-wal"}) {
    auto bytes = slurp(db_.string() + suffix);
    EXPECT_EQ(bytes.find("a password in clear"), std::string::npos) << suffix;
  }
  boost::system::error_code ec;
  auto db = store::Connection::open(db_.string(), {}, ec);
  ASSERT_FALSE(ec);
  auto user = store::find_auth_user(db, "alice", ec);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->role, "operator");
  EXPECT_EQ(user->password_hash.rfind("scrypt$", 0), 0U);
  EXPECT_TRUE(verify_password("a password in clear", user->password_hash));
  // And the change is audited.
  auto st = db.prepare("SELECT count(*) FROM events WHERE kind = 12 AND pin LIKE 'cli:%'", ec);
  ASSERT_TRUE(st.step(ec));
  EXPECT_EQ(st.column_int(0), 1);
}

TEST_F(AccountsCli, RefusesBadRolesShortPasswordsAndDuplicates) {
  EXPECT_EQ(run(add("alice", "root", "long enough secret")), 2);
  EXPECT_NE(err_.str().find("--role"), std::string::npos);
  EXPECT_EQ(run(add("alice", "admin", "short")), 2);
  EXPECT_NE(err_.str().find("at least 10"), std::string::npos);
  EXPECT_EQ(run(add("has space", "admin", "long enough secret")), 2);
  ASSERT_EQ(run(add("alice", "admin", "long enough secret")), 0);
  EXPECT_EQ(run(add("alice", "viewer", "another long secret")), 4);
}

TEST_F(AccountsCli, WithoutATerminalOrFileThePasswordIsRefused) {
  AccountCommand c;
  c.kind = AccountCommand::Kind::Add;
  c.name = "alice";
  c.role = "admin";
  // ctest runs without a terminal on stdin.
  if (isatty(0) != 0) {
    GTEST_SKIP() << "stdin is a terminal";
  }
  EXPECT_EQ(run(c), 2);
  EXPECT_NE(err_.str().find("--password-file"), std::string::npos);
}

}  // namespace
}  // namespace pushgate::auth
