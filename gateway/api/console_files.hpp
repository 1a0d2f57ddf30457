#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "gateway/http/server.hpp"
#include "gateway/metrics/metrics.hpp"

namespace pushgate::api {

/** Where the console's files are installed (CMake installs gateway/console there). */
inline constexpr std::string_view kInstalledConsoleDir = "/usr/share/pushgate/console";

/**
 * The directory api.console_dir names: `configured` when set; else the
 * installed one when it exists; else `source_dir`/gateway/console when that
 * exists (running from a build tree); else the installed path (which then
 * serves nothing, and says so at start).
 */
std::filesystem::path resolve_console_dir(const std::string& configured,
                                          const std::filesystem::path& source_dir);

/**
 * The web console's static files (issue 18), served under /console/ with
 * `/` redirected there. The files are read once at start into memory: only
 * a regular file found under the directory then can ever be served, so no
 * request path reaches the file system (`..`, symlinks out, encoded
 * slashes: 404). Every answer carries a strict Content-Security-Policy,
 * nosniff, DENY framing and a Cache-Control (HTML revalidated each time,
 * with an ETag; the rest cached briefly).
 */
class ConsoleFiles {
 public:
  ConsoleFiles(const std::filesystem::path& dir, metrics::Registry& metrics);

  /** Whether the request is for the console (`/`, `/console`, `/console/...`). */
  static bool handles(std::string_view target);
  /** Answers GET of a console path (405 for other methods). */
  void serve(const http::Request& req, http::Reply reply) const;

  std::size_t files() const noexcept { return files_.size(); }
  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  struct File {
    std::string body;
    std::string content_type;
    std::string etag;
  };
  std::filesystem::path dir_;
  std::map<std::string, File, std::less<>> files_;  ///< by path under /console/
  metrics::Counter* not_found_ = nullptr;
};

/** The headers every console answer carries. */
void set_console_security_headers(http::Response& res);

}  // namespace pushgate::api
