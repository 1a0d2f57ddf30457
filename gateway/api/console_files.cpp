#include "gateway/api/console_files.hpp"

#include <fstream>
#include <iterator>
#include <system_error>

#include <openssl/sha.h>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include "gateway/http/query.hpp"
#include "gateway/logging.hpp"

namespace pushgate::api {

namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

namespace {

// Bounds of what is loaded: the console weighs well under 300 KB.
constexpr std::uintmax_t kMaxFileBytes = 2 * 1024 * 1024;
constexpr std::size_t kMaxFiles = 256;

std::string_view content_type_for(const fs::path& p) {
  auto ext = p.extension().string();
  if (ext == ".html") {
    return "text/html; charset=utf-8";
  }
  if (ext == ".js" || ext == ".mjs") {
    return "text/javascript; charset=utf-8";
  }
  if (ext == ".css") {
    return "text/css; charset=utf-8";
  }
  if (ext == ".svg") {
    return "image/svg+xml";
  }
  if (ext == ".png") {
    return "image/png";
  }
  if (ext == ".ico") {
    return "image/x-icon";
  }
  if (ext == ".json" || ext == ".webmanifest") {
    return "application/json";
  }
  if (ext == ".txt") {
    return "text/plain; charset=utf-8";
  }
  return {};
}

std::string etag_of(const std::string& body) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag = "\"";
  for (int i = 0; i < 8; ++i) {
    tag += kHex[digest[i] >> 4];
    tag += kHex[digest[i] & 0xf];
  }
  return tag + "\"";
}

}  // namespace

fs::path resolve_console_dir(const std::string& configured, const fs::path& source_dir) {
  if (!configured.empty()) {
    return configured;
  }
  std::error_code ec;
  fs::path installed{std::string(kInstalledConsoleDir)};
  if (fs::is_directory(installed, ec)) {
    return installed;
  }
  if (!source_dir.empty()) {
    auto in_tree = source_dir / "gateway" / "console";
    if (fs::is_directory(in_tree, ec)) {
      return in_tree;
    }
  }
  return installed;
}

void set_console_security_headers(http::Response& res) {
  // Everything the console loads is its own: no inline script or style, no
  // other origin, no framing; the API it calls is the same origin.
  res.set("Content-Security-Policy",
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
          "frame-ancestors 'none'");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
}

ConsoleFiles::ConsoleFiles(const fs::path& dir, metrics::Registry& metrics) : dir_(dir) {
  not_found_ = &metrics.counter("pushgate_console_not_found_total",
                                "Console requests for a file the console does not have");
  auto log = logger("api");
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) {
    log->warn("web console: {} is not a directory (api.console_dir): /console/ answers 404",
              dir_.string());
    return;
  }
  auto root = fs::canonical(dir_, ec);
  if (ec) {
    log->warn("web console: {}: {}", dir_.string(), ec.message());
    return;
  }
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    // Regular files only, symlinks not followed: nothing outside the folder.
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) {
      continue;
    }
    auto rel = fs::relative(it->path(), root, ec);
    auto type = content_type_for(it->path());
    if (ec || type.empty() || rel.empty() || rel.string().front() == '.') {
      continue;
    }
    if (it->file_size(ec) > kMaxFileBytes || files_.size() >= kMaxFiles) {
      log->warn("web console: {} skipped (over {} bytes or {} files)", rel.string(), kMaxFileBytes,
                kMaxFiles);
      continue;
    }
    std::ifstream in(it->path(), std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      log->warn("web console: cannot read {}", it->path().string());
      continue;
    }
    auto tag = etag_of(body);
    files_[rel.generic_string()] = File{std::move(body), std::string(type), std::move(tag)};
  }
  if (ec) {
    log->warn("web console: reading {}: {}", root.string(), ec.message());
  }
  log->info("web console: {} files from {}", files_.size(), root.string());
}

bool ConsoleFiles::handles(std::string_view target) {
  auto path = http::target_path(target);
  return path == "/" || path == "/console" || path.rfind("/console/", 0) == 0;
}

void ConsoleFiles::serve(const http::Request& req, http::Reply reply) const {
  auto path = http::target_path(req.target());
  if (req.method() != bhttp::verb::get) {
    auto res = http::make_response(req, bhttp::status::method_not_allowed, "method not allowed\n");
    res.set(bhttp::field::allow, "GET");
    set_console_security_headers(res);
    reply.send(std::move(res));
    return;
  }
  if (path == "/" || path == "/console") {
    auto res = http::make_response(req, bhttp::status::found, "");
    res.set(bhttp::field::location, "/console/");
    set_console_security_headers(res);
    reply.send(std::move(res));
    return;
  }
  // Exact names only: no decoding that could make "..%2f" or "%00" a path.
  std::string_view rel = path.substr(std::string_view("/console/").size());
  std::string name = rel.empty() ? std::string("index.html") : std::string(rel);
  auto it = files_.find(name);
  if (it == files_.end()) {
    not_found_->inc();
    logger("api")->debug("console: no file {}", std::string(path));
    auto res = http::make_response(req, bhttp::status::not_found, "not found\n");
    set_console_security_headers(res);
    res.set(bhttp::field::cache_control, "no-store");
    reply.send(std::move(res));
    return;
  }
  const File& f = it->second;
  const bool html = f.content_type.rfind("text/html", 0) == 0;
  http::Response res;
  if (req[bhttp::field::if_none_match] == f.etag) {
    res = http::make_response(req, bhttp::status::not_modified, "");
    res.body().clear();
  } else {
    res = http::make_response(req, bhttp::status::ok, f.body, f.content_type);
  }
  res.set(bhttp::field::etag, f.etag);
  // Pages revalidate every time (a new version shows at once); scripts and
  // styles are kept a minute and revalidated by ETag after.
  res.set(bhttp::field::cache_control, html ? "no-cache" : "max-age=60, must-revalidate");
  set_console_security_headers(res);
  reply.send(std::move(res));
}

}  // namespace pushgate::api
