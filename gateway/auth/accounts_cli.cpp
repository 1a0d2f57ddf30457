#include "gateway/auth/accounts_cli.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <iostream>
#include <optional>

#include "gateway/audit.hpp"
#include "gateway/auth/crypto.hpp"
#include "gateway/auth/role.hpp"
#include "gateway/clock.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/auth_queries.hpp"
#include "gateway/store/store.hpp"

namespace pushgate::auth {

namespace {

std::string unix_user() {
  if (const auto* pw = ::getpwuid(::getuid()); pw != nullptr) {
    return pw->pw_name;
  }
  return "uid " + std::to_string(::getuid());
}

/** One line from the terminal with echo off; nullopt when stdin is no terminal. */
std::optional<std::string> read_hidden(const char* prompt) {
  if (::isatty(STDIN_FILENO) == 0) {
    return std::nullopt;
  }
  std::cerr << prompt << std::flush;
  termios old{};
  ::tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  std::string line;
  std::getline(std::cin, line);
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  std::cerr << "\n";
  return line;
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  for (unsigned char c : name) {
    if (c <= 0x20 || c == 0x7F) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string password_problem(const std::string& password) {
  if (password.size() < 10) {
    return "a password has at least 10 characters";
  }
  if (password.size() > 1024) {
    return "a password has at most 1024 bytes";
  }
  return {};
}

int run_account_command(const AccountCommand& cmd, const std::filesystem::path& db_path,
                        std::ostream& out, std::ostream& err) {
  std::string password;
  if (cmd.kind == AccountCommand::Kind::Add) {
    if (!role_from_string(cmd.role)) {
      err << "pushgated: --role is one of viewer, operator, admin\n";
      return 2;
    }
    if (!valid_name(cmd.name)) {
      err << "pushgated: a user name has 1 to 64 characters, no spaces or control characters\n";
      return 2;
    }
    if (!cmd.password_file.empty()) {
      std::ifstream f(cmd.password_file);
      if (!f) {
        err << "pushgated: cannot read " << cmd.password_file << "\n";
        return 2;
      }
      std::getline(f, password);
      if (!password.empty() && password.back() == '\r') {
        password.pop_back();
      }
    } else {
      auto first = read_hidden("Password: ");
      if (!first) {
        err << "pushgated: no terminal to read the password from; give --password-file FILE\n";
        return 2;
      }
      auto again = read_hidden("Password again: ");
      if (!again || *again != *first) {
        err << "pushgated: the passwords differ\n";
        return 2;
      }
      password = *first;
    }
    if (auto why = password_problem(password); !why.empty()) {
      err << "pushgated: " << why << "\n";
      return 2;
    }
  }

  SystemClock clock;
  metrics::Registry metrics;
  store::Store::Options so;
  so.path = db_path.string();
  so.read_threads = 1;
  std::string error;
  auto store = store::Store::open(so, clock, metrics, error);
  if (!store) {
    err << "pushgated: " << db_path.string() << ": " << error << "\n";
    return 1;
  }
  store->start();
  auto commit = [&](WriteBatch batch) {
    std::promise<boost::system::error_code> done;
    store->append(std::move(batch), [&done](CommitResult r) { done.set_value(r.ec); });
    return done.get_future().get();
  };
  int code = 0;
  const std::string actor = "cli:" + unix_user();
  boost::system::error_code ec;
  switch (cmd.kind) {
    case AccountCommand::Kind::List: {
      auto users =
          store->read([&](store::Connection& db) { return store::list_auth_users(db, ec); });
      if (ec) {
        err << "pushgated: cannot read the users: " << ec.message() << "\n";
        code = 1;
        break;
      }
      for (const auto& u : users) {
        out << u.name << "\t" << u.role << (u.disabled ? "\tdisabled" : "") << "\n";
      }
      break;
    }
    case AccountCommand::Kind::Add: {
      auto existing = store->read(
          [&](store::Connection& db) { return store::find_auth_user(db, cmd.name, ec); });
      if (existing) {
        err << "pushgated: user " << cmd.name << " exists (--remove-user it first)\n";
        code = 4;
        break;
      }
      store::AuthUserRow u;
      u.name = cmd.name;
      u.role = cmd.role;
      u.password_hash = hash_password(password);
      u.created_ms = clock.now_ms();
      WriteBatch batch;
      batch.ops.push_back(
          [u](store::WriteContext& ctx) { return store::insert_auth_user(ctx.db(), u); });
      batch.events.push_back(make_audit_event(cmd.gateway_id, actor, "local", "user_created",
                                              {{"user", u.name}, {"role", u.role}},
                                              clock.now_ms()));
      if (auto wec = commit(std::move(batch))) {
        err << "pushgated: user " << cmd.name << " not created: " << wec.message() << "\n";
        code = 1;
        break;
      }
      out << "user " << cmd.name << " (" << cmd.role << ") created\n";
      break;
    }
    case AccountCommand::Kind::Remove: {
      auto found = std::make_shared<bool>(false);
      WriteBatch batch;
      batch.ops.push_back([name = cmd.name, found](store::WriteContext& ctx) {
        boost::system::error_code e;
        *found = store::delete_auth_user(ctx.db(), name, e);
        return e;
      });
      batch.events.push_back(make_audit_event(cmd.gateway_id, actor, "local", "user_removed",
                                              {{"user", cmd.name}}, clock.now_ms()));
      // The audit event is only kept when there was a user to remove.
      if (!store->read([&](store::Connection& db) {
            return store::find_auth_user(db, cmd.name, ec).has_value();
          })) {
        err << "pushgated: no user " << cmd.name << "\n";
        code = 3;
        break;
      }
      if (auto wec = commit(std::move(batch)); wec || !*found) {
        err << "pushgated: user " << cmd.name << " not removed"
            << (wec ? ": " + wec.message() : std::string()) << "\n";
        code = 1;
        break;
      }
      out << "user " << cmd.name << " removed (and its sessions)\n";
      break;
    }
  }
  store->stop();
  return code;
}

}  // namespace pushgate::auth
