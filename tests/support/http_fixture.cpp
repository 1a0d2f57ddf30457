#include "tests/support/http_fixture.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace pushgate::test {
namespace {

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  throw std::runtime_error(file.string() + ": " + what);
}

std::string_view target_path(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::string_view target_query(std::string_view target) {
  const std::size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

}  // namespace

std::string_view HttpRequestFixture::path() const {
  return target_path(target);
}

std::string_view HttpRequestFixture::query() const {
  return target_query(target);
}

std::string read_file_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (!in || ec) {
    throw std::runtime_error("cannot read " + file.string());
  }
  std::string bytes(static_cast<std::size_t>(size), '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
    throw std::runtime_error("short read of " + file.string());
  }
  return bytes;
}

HttpRequestFixture load_http_fixture(const std::filesystem::path& file) {
  HttpRequestFixture fixture;
  fixture.name = file.filename().string();
  fixture.raw = read_file_bytes(file);
  const std::string_view raw = fixture.raw;
  const std::size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    fail(file, "no CRLF CRLF after the headers");
  }
  const std::string_view head = raw.substr(0, head_end + 2);
  std::size_t pos = 0;
  bool first = true;
  while (pos < head.size()) {
    const std::size_t eol = head.find("\r\n", pos);
    const std::string_view line = head.substr(pos, eol - pos);
    if (line.find('\n') != std::string_view::npos) {
      fail(file, "header line ends with a bare LF");
    }
    if (first) {
      const std::size_t a = line.find(' ');
      const std::size_t b = line.rfind(' ');
      if (a == std::string_view::npos || a == b) {
        fail(file, "bad request line");
      }
      fixture.method = std::string(line.substr(0, a));
      fixture.target = std::string(line.substr(a + 1, b - a - 1));
      fixture.version = std::string(line.substr(b + 1));
      first = false;
    } else {
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        fail(file, "header line without ':'");
      }
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
      fixture.headers.push_back(HttpField{std::string(line.substr(0, colon)), std::string(value)});
    }
    pos = eol + 2;
  }
  fixture.body = std::string(raw.substr(head_end + 4));
  std::size_t length = 0;
  if (const std::string* text = fixture.header("Content-Length")) {
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), length);
    if (ec != std::errc() || ptr != text->data() + text->size()) {
      fail(file, "bad Content-Length");
    }
  }
  if (fixture.body.size() != length) {
    fail(file, "body has " + std::to_string(fixture.body.size()) + " bytes, Content-Length says " +
                   std::to_string(length));
  }
  return fixture;
}

std::vector<std::filesystem::path> http_fixture_files(const std::filesystem::path& directory) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.is_regular_file() && entry.path().extension() == ".http") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string line_value(const std::string& body, const std::string& key) {
  auto pos = body.find(key + "=");
  if (pos == std::string::npos) {
    return {};
  }
  pos += key.size() + 1;
  auto end = body.find_first_of("\r\n", pos);
  return body.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

}  // namespace pushgate::test
