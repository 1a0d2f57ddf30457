#include "tests/support/pushdemo_log.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "tests/support/http_fixture.hpp"

namespace pushgate::test {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

enum class SectionKind { Receive, Send, Start, Stop };

struct Marker {
  SectionKind kind;
  std::string_view text;  ///< "Sever Receive Data:  " etc.
};

constexpr Marker kMarkers[] = {
    {SectionKind::Receive, "Sever Receive Data:  "},
    {SectionKind::Send, "Sever Send Data:  "},
    {SectionKind::Start, "Sever Start:  "},
    {SectionKind::Stop, "Sever Stop:  "},
};

/** The bytes between one marker line and the next marker. */
struct Section {
  SectionKind kind = SectionKind::Receive;
  std::size_t log_line = 0;
  std::string timestamp;
  std::string_view content;
};

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

bool icontains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) {
    return false;
  }
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (iequals(haystack.substr(i, needle.size()), needle)) {
      return true;
    }
  }
  return false;
}

[[noreturn]] void fail(const std::string& source, std::size_t line, const std::string& what) {
  throw std::runtime_error(source + ":" + std::to_string(line) + ": " + what);
}

std::vector<Section> split_sections(std::string_view data, const std::string& source) {
  std::vector<Section> sections;
  std::size_t content_begin = 0;
  std::size_t line = 1;
  for (std::size_t pos = 0; pos < data.size(); ++line) {
    const std::size_t eol = std::min(data.find('\n', pos), data.size());
    const std::string_view text = data.substr(pos, eol - pos);
    const std::size_t next = eol == data.size() ? eol : eol + 1;
    const Marker* found = nullptr;
    for (const Marker& marker : kMarkers) {
      if (text.substr(0, marker.text.size()) == marker.text) {
        found = &marker;
        break;
      }
    }
    if (found != nullptr) {
      if (!sections.empty()) {
        sections.back().content = data.substr(content_begin, pos - content_begin);
      }
      Section section;
      section.kind = found->kind;
      section.log_line = line;
      section.timestamp = std::string(text.substr(found->text.size()));
      sections.push_back(std::move(section));
      content_begin = next;
    } else if (sections.empty() && !text.empty()) {
      fail(source, line, "text before the first marker");
    }
    pos = next;
  }
  if (!sections.empty()) {
    sections.back().content = data.substr(content_begin);
  }
  return sections;
}

std::vector<HttpField> parse_header_lines(std::string_view block, const std::string& source,
                                          std::size_t log_line) {
  std::vector<HttpField> headers;
  std::size_t pos = 0;
  while (pos < block.size()) {
    std::size_t eol = block.find('\n', pos);
    if (eol == std::string_view::npos) {
      eol = block.size();
    }
    const std::string_view text = block.substr(pos, eol - pos);
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
      fail(source, log_line, "header line without ':': " + std::string(text));
    }
    std::string_view value = text.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
    while (!value.empty() && value.back() == ' ') {
      value.remove_suffix(1);
    }
    headers.push_back(HttpField{std::string(text.substr(0, colon)), std::string(value)});
    pos = eol + 1;
  }
  return headers;
}

std::size_t content_length(const std::vector<HttpField>& headers, const std::string& source,
                           std::size_t log_line) {
  const std::string* text = find_header(headers, "Content-Length");
  if (text == nullptr) {
    return 0;
  }
  std::size_t value = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr != text->data() + text->size()) {
    fail(source, log_line, "bad Content-Length: " + *text);
  }
  return value;
}

/** Splits "<first line>\n<headers>\n\n<rest>"; rest starts after the blank line. */
struct Head {
  std::string_view first_line;
  std::vector<HttpField> headers;
  std::string_view rest;
};

Head split_head(std::string_view content, const std::string& source, std::size_t log_line) {
  const std::size_t end = content.find("\n\n");
  if (end == std::string_view::npos) {
    fail(source, log_line, "no blank line after the headers");
  }
  const std::string_view block = content.substr(0, end);
  const std::size_t eol = block.find('\n');
  Head head;
  head.first_line = block.substr(0, eol);
  if (eol != std::string_view::npos) {
    head.headers = parse_header_lines(block.substr(eol + 1), source, log_line);
  }
  head.rest = content.substr(end + 2);
  return head;
}

/** The logger separates sections with two LFs; strip exactly those. */
std::string_view strip_separator(std::string_view content) {
  if (content.size() >= 2 && content.substr(content.size() - 2) == "\n\n") {
    content.remove_suffix(2);
  }
  return content;
}

DemoResponse parse_response(const Section& head_section, const Section* body_section,
                            const std::string& source) {
  DemoResponse response;
  response.log_line = head_section.log_line;
  response.sent_at = head_section.timestamp;
  Head head = split_head(head_section.content, source, head_section.log_line);
  response.status_line = std::string(head.first_line);
  response.headers = std::move(head.headers);
  const std::size_t space = response.status_line.find(' ');
  if (space != std::string::npos) {
    const char* begin = response.status_line.data() + space + 1;
    std::from_chars(begin, response.status_line.data() + response.status_line.size(),
                    response.status);
  }
  if (body_section != nullptr) {
    response.body = std::string(strip_separator(body_section->content));
  }
  return response;
}

void classify_hand_made(PushdemoExchange& exchange) {
  // Real terminals in these logs all send "iClock Proxy/1.09", upper-case
  // SN= and only /iclock/ paths; the developer's tools did not.
  const std::string* agent = exchange.header("User-Agent");
  const std::string_view path = exchange.path();
  const std::string_view query = exchange.query();
  std::string reason;
  auto add = [&reason](std::string_view why) {
    reason += reason.empty() ? "" : "; ";
    reason += why;
  };
  if (path.substr(0, 8) != "/iclock/") {
    add("path outside /iclock/: " + std::string(path));
  }
  if (agent != nullptr && icontains(*agent, "PostmanRuntime")) {
    add("Postman request");
  }
  if (agent != nullptr && icontains(*agent, "Mozilla/")) {
    add("web browser request");
  }
  if (query.find("%s") != std::string_view::npos || query.find("%d") != std::string_view::npos) {
    add("unexpanded printf placeholder in the query");
  }
  if (query.substr(0, 3) == "sn=" || query.find("&sn=") != std::string_view::npos) {
    add("lower-case sn= (terminals send SN=)");
  }
  exchange.hand_made = !reason.empty();
  exchange.hand_made_reason = std::move(reason);
}

PushdemoExchange parse_request(const Section& section, const std::string& source) {
  PushdemoExchange exchange;
  exchange.source = source;
  exchange.log_line = section.log_line;
  exchange.received_at = section.timestamp;
  Head head = split_head(section.content, source, section.log_line);
  const std::string_view line = head.first_line;
  const std::size_t first = line.find(' ');
  const std::size_t last = line.rfind(' ');
  if (first == std::string_view::npos || last == first) {
    fail(source, section.log_line, "bad request line: " + std::string(line));
  }
  exchange.method = std::string(line.substr(0, first));
  exchange.target = std::string(line.substr(first + 1, last - first - 1));
  exchange.version = std::string(line.substr(last + 1));
  exchange.headers = std::move(head.headers);
  const std::size_t length = content_length(exchange.headers, source, section.log_line);
  if (head.rest.size() < length) {
    fail(source, section.log_line,
         "body shorter than Content-Length " + std::to_string(length) + ": " +
             std::to_string(head.rest.size()) + " bytes logged");
  }
  exchange.body = std::string(head.rest.substr(0, length));
  const std::string_view tail = head.rest.substr(length);
  // Exactly Content-Length bytes, then the logger's separator (two LFs, fewer
  // at the end of the file): anything else means the body is not byte-exact.
  if (tail.size() > 2 || tail.find_first_not_of('\n') != std::string_view::npos) {
    fail(source, section.log_line,
         "body does not end where Content-Length says (" + std::to_string(tail.size()) +
             " unexpected bytes)");
  }
  classify_hand_made(exchange);
  return exchange;
}

}  // namespace

const std::string* find_header(const std::vector<HttpField>& headers, std::string_view name) {
  for (const HttpField& field : headers) {
    if (iequals(field.name, name)) {
      return &field.value;
    }
  }
  return nullptr;
}

std::string_view PushdemoExchange::path() const {
  const std::string_view target_view = target;
  return target_view.substr(0, target_view.find('?'));
}

std::string_view PushdemoExchange::query() const {
  const std::string_view target_view = target;
  const std::size_t q = target_view.find('?');
  return q == std::string_view::npos ? std::string_view() : target_view.substr(q + 1);
}

PushdemoLog load_pushdemo_log(const std::filesystem::path& file) {
  const std::string bytes = read_file_bytes(file);
  std::string_view data = bytes;
  // The demo wrote a UTF-8 BOM in front of the first marker of each file.
  if (data.substr(0, kBom.size()) == kBom) {
    data.remove_prefix(kBom.size());
  }
  PushdemoLog log;
  log.source = file.filename().string();
  const std::vector<Section> sections = split_sections(data, log.source);
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const Section& section = sections[i];
    switch (section.kind) {
      case SectionKind::Start:
        ++log.restarts;
        break;
      case SectionKind::Stop:
        break;
      case SectionKind::Receive: {
        PushdemoExchange exchange = parse_request(section, log.source);
        // The answer is a status/headers section, then a body section.
        if (i + 1 < sections.size() && sections[i + 1].kind == SectionKind::Send &&
            sections[i + 1].content.substr(0, 5) == "HTTP/") {
          const Section* body = nullptr;
          if (i + 2 < sections.size() && sections[i + 2].kind == SectionKind::Send &&
              sections[i + 2].content.substr(0, 5) != "HTTP/") {
            body = &sections[i + 2];
          }
          exchange.response = parse_response(sections[i + 1], body, log.source);
          i += body != nullptr ? 2 : 1;
        }
        log.exchanges.push_back(std::move(exchange));
        break;
      }
      case SectionKind::Send: {
        if (section.content.substr(0, 5) != "HTTP/") {
          // A body whose status section is in the previous file.
          DemoResponse orphan;
          orphan.log_line = section.log_line;
          orphan.sent_at = section.timestamp;
          orphan.body = std::string(strip_separator(section.content));
          log.orphan_responses.push_back(std::move(orphan));
          break;
        }
        const Section* body = nullptr;
        if (i + 1 < sections.size() && sections[i + 1].kind == SectionKind::Send &&
            sections[i + 1].content.substr(0, 5) != "HTTP/") {
          body = &sections[i + 1];
          ++i;
        }
        log.orphan_responses.push_back(parse_response(section, body, log.source));
        break;
      }
    }
  }
  return log;
}

std::vector<std::filesystem::path> pushdemo_log_files(const std::filesystem::path& directory) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.is_regular_file() && entry.path().extension() == ".txt") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string render_http_request(const PushdemoExchange& exchange) {
  std::string out = exchange.method + " " + exchange.target + " " + exchange.version + "\r\n";
  for (const HttpField& field : exchange.headers) {
    out += field.name + ": " + field.value + "\r\n";
  }
  out += "\r\n";
  out += exchange.body;
  return out;
}

}  // namespace pushgate::test
