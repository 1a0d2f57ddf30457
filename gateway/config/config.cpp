#include "gateway/config/config.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace pushgate::config {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t dot = path.find('.', start);
    if (dot == std::string_view::npos) {
      parts.push_back(path.substr(start));
      break;
    }
    parts.push_back(path.substr(start, dot - start));
    start = dot + 1;
  }
  return parts;
}

bool path_matches(std::string_view pattern, std::string_view path) {
  auto p = split_path(pattern);
  auto c = split_path(path);
  if (p.size() != c.size()) {
    return false;
  }
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != "*" && p[i] != c[i]) {
      return false;
    }
    if (p[i] == "*" && c[i].empty()) {
      return false;
    }
  }
  return true;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += ch;
    }
  }
  out += '"';
  return out;
}

std::string render_value(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return std::to_string(x);
        } else if constexpr (std::is_same_v<T, double>) {
          std::ostringstream os;
          os << x;
          std::string s = os.str();
          if (s.find_first_of(".eE") == std::string::npos) {
            s += ".0";
          }
          return s;
        } else if constexpr (std::is_same_v<T, std::string>) {
          return quote(x);
        } else {
          std::string out = "[";
          for (std::size_t i = 0; i < x.size(); ++i) {
            out += (i ? ", " : "") + quote(x[i]);
          }
          return out + "]";
        }
      },
      v);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Checks the value against the spec's range and choices.
std::optional<std::string> check_constraints(const KeySpec& spec, const Value& v) {
  if (spec.type == ValueType::Int) {
    auto i = std::get<std::int64_t>(v);
    if (spec.min && i < *spec.min) {
      return "must be at least " + std::to_string(*spec.min) + ", got " + std::to_string(i);
    }
    if (spec.max && i > *spec.max) {
      return "must be at most " + std::to_string(*spec.max) + ", got " + std::to_string(i);
    }
  }
  if (spec.type == ValueType::String && !spec.choices.empty()) {
    const auto& s = std::get<std::string>(v);
    if (std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end()) {
      std::string list;
      for (const auto& c : spec.choices) {
        list += (list.empty() ? "" : ", ") + quote(c);
      }
      return "must be one of " + list + ", got " + quote(s);
    }
  }
  return std::nullopt;
}

// What a TOML node holds, with its value: `integer 5`, `string "x"`.
std::string describe_node(const toml::node& node) {
  std::ostringstream os;
  if (const auto* s = node.as_string()) {
    return "string " + quote(s->get());
  }
  if (const auto* i = node.as_integer()) {
    return "integer " + std::to_string(i->get());
  }
  if (const auto* f = node.as_floating_point()) {
    os << "number " << f->get();
    return os.str();
  }
  if (const auto* b = node.as_boolean()) {
    return std::string("boolean ") + (b->get() ? "true" : "false");
  }
  if (node.is_array()) {
    return "a list";
  }
  if (node.is_table()) {
    return "a table";
  }
  return "a date or time";
}

// The value of a scalar node as TOML source text, unquoted (5, true, 1.5).
std::string node_text(const toml::node& node) {
  std::ostringstream os;
  if (const auto* i = node.as_integer()) {
    os << i->get();
  } else if (const auto* f = node.as_floating_point()) {
    os << f->get();
  } else if (const auto* b = node.as_boolean()) {
    os << (b->get() ? "true" : "false");
  }
  return os.str();
}

// "expected an integer, got string "x"", plus how to fix the usual slips: a
// string key given a bare number (quote it), a number or boolean in quotes.
std::string type_mismatch(const KeySpec& spec, const toml::node& node, std::string_view key) {
  std::string expected;
  switch (spec.type) {
    case ValueType::Bool:
      expected = "true or false";
      break;
    case ValueType::Int:
      expected = "an integer";
      break;
    case ValueType::Double:
      expected = "a number";
      break;
    case ValueType::String:
      expected = "a string";
      break;
    case ValueType::StringList:
      expected = "a list of strings";
      break;
  }
  std::string why = "expected " + expected + ", got " + describe_node(node);
  if (spec.type == ValueType::String &&
      (node.is_integer() || node.is_floating_point() || node.is_boolean())) {
    why += "; quote it: " + std::string(key) + " = " + quote(node_text(node));
  } else if (spec.type == ValueType::StringList && node.is_string()) {
    why += "; write a list: " + std::string(key) + " = [" + quote(node.as_string()->get()) + "]";
  } else if (const auto* str = node.as_string()) {
    const std::string& text = str->get();
    bool fits = false;
    if (spec.type == ValueType::Int) {
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      fits = !text.empty() && ec == std::errc{} && p == text.data() + text.size();
    } else if (spec.type == ValueType::Bool) {
      fits = text == "true" || text == "false";
    }
    if (fits) {
      why += "; remove the quotes: " + std::string(key) + " = " + text;
    }
  }
  return why;
}

// Converts a TOML node to the spec's type, or says why it cannot.
std::optional<Value> from_toml(const KeySpec& spec, const toml::node& node, std::string_view key,
                               std::string& why) {
  switch (spec.type) {
    case ValueType::Bool:
      if (node.is_boolean()) {
        return Value{node.as_boolean()->get()};
      }
      break;
    case ValueType::Int:
      if (node.is_integer()) {
        return Value{node.as_integer()->get()};
      }
      break;
    case ValueType::Double:
      if (node.is_floating_point()) {
        return Value{node.as_floating_point()->get()};
      }
      if (node.is_integer()) {
        return Value{static_cast<double>(node.as_integer()->get())};
      }
      break;
    case ValueType::String:
      if (node.is_string()) {
        return Value{std::string(node.as_string()->get())};
      }
      break;
    case ValueType::StringList: {
      if (!node.is_array()) {
        break;
      }
      std::vector<std::string> out;
      std::size_t index = 0;
      for (const auto& el : *node.as_array()) {
        if (!el.is_string()) {
          why = "expected a list of strings, got " + describe_node(el) + " at position " +
                std::to_string(index + 1);
          return std::nullopt;
        }
        out.emplace_back(el.as_string()->get());
        ++index;
      }
      return Value{std::move(out)};
    }
  }
  why = type_mismatch(spec, node, key);
  return std::nullopt;
}

// The nearest declared key (or section, for a section) to a mistyped path,
// or "" when nothing is close. Wildcard segments take the given names.
std::string nearest(const Schema& schema, std::string_view path, bool section) {
  auto mine = split_path(path);
  std::vector<std::string> candidates;
  for (const auto& k : schema.keys()) {
    auto parts = split_path(k.path);
    if (section) {
      if (parts.size() <= mine.size()) {
        continue;
      }
      parts.resize(mine.size());
    } else if (parts.size() != mine.size()) {
      continue;
    }
    std::string candidate;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      candidate += (i ? "." : "") + std::string(parts[i] == "*" ? mine[i] : parts[i]);
    }
    candidates.push_back(std::move(candidate));
  }
  return nearest_word(path, candidates, mine.back(), section ? 0 : 1);
}

std::string unknown(const Schema& schema, std::string_view path, bool section) {
  std::string reason = section ? "unknown section" : "unknown key";
  if (auto near = nearest(schema, path, section); !near.empty()) {
    reason += "; did you mean " + near + "?";
  }
  return reason;
}

// Converts a `--set` text to the spec's type.
std::optional<Value> from_text(const KeySpec& spec, std::string_view text, std::string& why) {
  switch (spec.type) {
    case ValueType::Bool: {
      auto l = lower(text);
      if (l == "true" || l == "1" || l == "yes" || l == "on") {
        return Value{true};
      }
      if (l == "false" || l == "0" || l == "no" || l == "off") {
        return Value{false};
      }
      why = "expected true or false, got \"" + std::string(text) + "\"";
      return std::nullopt;
    }
    case ValueType::Int: {
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc{} || p != text.data() + text.size() || text.empty()) {
        why = "expected an integer, got \"" + std::string(text) + "\"";
        return std::nullopt;
      }
      return Value{v};
    }
    case ValueType::Double: {
      try {
        std::size_t used = 0;
        double d = std::stod(std::string(text), &used);
        if (used == text.size() && std::isfinite(d)) {
          return Value{d};
        }
      } catch (const std::exception&) {
      }
      why = "expected a number, got \"" + std::string(text) + "\"";
      return std::nullopt;
    }
    case ValueType::String:
      return Value{std::string(text)};
    case ValueType::StringList: {
      std::vector<std::string> out;
      if (!text.empty() && text.front() == '[') {
        // The TOML form, as in the file: ["a", "b"].
        try {
          auto doc = toml::parse("v = " + std::string(text));
          const auto* arr = doc["v"].as_array();
          if (arr == nullptr) {
            why = "expected a list of strings, got " + std::string(text);
            return std::nullopt;
          }
          for (const auto& item : *arr) {
            const auto* str = item.as_string();
            if (str == nullptr) {
              why = "expected a list of strings, got " + std::string(text);
              return std::nullopt;
            }
            out.push_back(str->get());
          }
          return Value{std::move(out)};
        } catch (const toml::parse_error&) {
          why = "expected a TOML list of strings [\"a\", \"b\"] or a,b, got " + std::string(text);
          return std::nullopt;
        }
      }
      std::size_t start = 0;
      while (start < text.size()) {
        auto comma = text.find(',', start);
        auto item = text.substr(
            start, comma == std::string_view::npos ? text.size() - start : comma - start);
        if (!item.empty()) {
          out.emplace_back(item);
        }
        if (comma == std::string_view::npos) {
          break;
        }
        start = comma + 1;
      }
      return Value{std::move(out)};
    }
  }
  why = "unsupported type";
  return std::nullopt;
}

void flatten(const toml::table& table, const std::string& prefix, const Schema& schema,
             std::map<std::string, Value, std::less<>>& values,
             std::map<std::string, bool, std::less<>>& explicit_keys,
             std::vector<ConfigError>& errors) {
  for (const auto& [k, node] : table) {
    std::string path = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = node.as_table()) {
      // A table is a section (or a per-terminal block); it is known when some
      // declared key lives below it.
      bool known = std::any_of(schema.keys().begin(), schema.keys().end(), [&](const KeySpec& s) {
        auto parts = split_path(s.path);
        auto mine = split_path(path);
        if (parts.size() <= mine.size()) {
          return false;
        }
        for (std::size_t i = 0; i < mine.size(); ++i) {
          if (parts[i] != "*" && parts[i] != mine[i]) {
            return false;
          }
        }
        return true;
      });
      if (!known) {
        errors.push_back({path, unknown(schema, path, true)});
        continue;
      }
      flatten(*sub, path, schema, values, explicit_keys, errors);
      continue;
    }
    const KeySpec* spec = schema.find(path);
    if (spec == nullptr) {
      errors.push_back({path, unknown(schema, path, false)});
      continue;
    }
    std::string why;
    auto v = from_toml(*spec, node, k.str(), why);
    if (!v) {
      errors.push_back({path, why});
      continue;
    }
    if (auto bad = check_constraints(*spec, *v)) {
      errors.push_back({path, *bad});
      continue;
    }
    values[path] = std::move(*v);
    explicit_keys[path] = true;
  }
}

}  // namespace

std::string nearest_word(std::string_view word, const std::vector<std::string>& candidates,
                         std::string_view measured, std::size_t slack) {
  const auto typed = lower(word);
  const std::string* best = nullptr;
  std::size_t best_distance = std::string::npos;
  for (const auto& c : candidates) {
    if (c == word) {
      continue;
    }
    if (auto d = edit_distance(typed, lower(c)); d < best_distance) {
      best_distance = d;
      best = &c;
    }
  }
  // Close means a slip of the keyboard, not another word: at most 1 edit in 4.
  const std::size_t allowed = std::max<std::size_t>(1, measured.size() / 4 + slack);
  if (best == nullptr || best_distance > allowed) {
    return {};
  }
  return *best;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string_view to_string(ValueType type) noexcept {
  switch (type) {
    case ValueType::Bool:
      return "boolean";
    case ValueType::Int:
      return "integer";
    case ValueType::Double:
      return "number";
    case ValueType::String:
      return "string";
    case ValueType::StringList:
      return "list of strings";
  }
  return "value";
}

std::string format_errors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    out += (e.key.empty() ? std::string("config") : e.key) + ": " + e.reason + "\n";
  }
  return out;
}

void Schema::add(KeySpec spec) {
  keys_.push_back(std::move(spec));
}

void Schema::describe_section(std::string section, std::string text) {
  sections_.emplace_back(std::move(section), std::move(text));
}

const KeySpec* Schema::find(std::string_view path) const {
  for (const auto& k : keys_) {
    if (k.path == path) {
      return &k;
    }
  }
  for (const auto& k : keys_) {
    if (path_matches(k.path, path)) {
      return &k;
    }
  }
  return nullptr;
}

std::string Schema::render_default_file() const {
  std::ostringstream out;
  out << "# pushgate configuration (TOML).\n"
         "#\n"
         "# Every key is shown commented out at its default value: uncomment a line\n"
         "# to change it. Unknown keys are errors. Check a file with\n"
         "#   pushgated --check-config FILE\n"
         "# and override any key for a single run with --set section.key=value.\n"
         "# Keys marked (reload) are applied on SIGHUP; the others need a restart.\n"
         "#\n"
         "# This file is generated by `pushgated --print-default-config` from the key\n"
         "# declarations in the code; a test keeps the two identical.\n";
  std::string current;
  std::string current_table;
  for (const auto& k : keys_) {
    auto parts = split_path(k.path);
    std::string section(parts.front());
    if (section != current) {
      current = section;
      current_table.clear();
      out << "\n";
      for (const auto& [name, text] : sections_) {
        if (name == section) {
          std::istringstream lines(text);
          std::string line;
          while (std::getline(lines, line)) {
            out << "#" << (line.empty() ? "" : " ") << line << "\n";
          }
        }
      }
      if (parts.size() == 2) {
        out << "[" << section << "]\n";
      }
    }
    std::string table;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      table += (i ? "." : "") + std::string(parts[i] == "*" ? "\"SERIAL\"" : parts[i]);
    }
    if (parts.size() > 2 && table != current_table) {
      current_table = table;
      out << "#[" << table << "]\n";
    }
    out << "\n";
    std::istringstream lines(k.description);
    std::string line;
    while (std::getline(lines, line)) {
      out << "# " << line << "\n";
    }
    if (k.type == ValueType::Int && (k.min || k.max)) {
      out << "# Range: " << (k.min ? std::to_string(*k.min) : "") << ".."
          << (k.max ? std::to_string(*k.max) : "") << ".";
      out << (k.reloadable ? " (reload)\n" : "\n");
    } else if (!k.choices.empty()) {
      out << "# One of:";
      for (const auto& c : k.choices) {
        out << " " << c;
      }
      out << "." << (k.reloadable ? " (reload)\n" : "\n");
    } else if (k.reloadable) {
      out << "# (reload)\n";
    }
    out << "#" << parts.back() << " = " << render_value(k.default_value) << "\n";
  }
  return out.str();
}

Config::LoadResult Config::load_file(const Schema& schema, const std::string& path,
                                     const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back({"", "cannot read config file " + path});
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_string(schema, text.str(), overrides, path);
}

Config::LoadResult Config::load_string(const Schema& schema, std::string_view toml_text,
                                       const std::vector<std::string>& overrides,
                                       std::string_view source) {
  LoadResult result;
  Config cfg;
  cfg.schema_ = &schema;
  for (const auto& k : schema.keys()) {
    if (k.path.find('*') == std::string::npos) {
      cfg.values_[k.path] = k.default_value;
    }
  }
  toml::table table;
  try {
    table = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "syntax error at line " << e.source().begin.line << ", column " << e.source().begin.column
       << ": " << e.description();
    result.errors.push_back({"", os.str()});
    return result;
  }
  flatten(table, "", schema, cfg.values_, cfg.explicit_, result.errors);

  for (const auto& o : overrides) {
    auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) {
      result.errors.push_back({o, "--set takes section.key=value"});
      continue;
    }
    std::string path = o.substr(0, eq);
    const KeySpec* spec = schema.find(path);
    if (spec == nullptr) {
      result.errors.push_back({path, unknown(schema, path, false) + " (from --set)"});
      continue;
    }
    std::string why;
    auto v = from_text(*spec, std::string_view(o).substr(eq + 1), why);
    if (!v) {
      result.errors.push_back({path, why + " (from --set)"});
      continue;
    }
    if (auto bad = check_constraints(*spec, *v)) {
      result.errors.push_back({path, *bad + " (from --set)"});
      continue;
    }
    cfg.values_[path] = std::move(*v);
    cfg.explicit_[path] = true;
  }
  if (result.errors.empty()) {
    result.config = std::move(cfg);
  } else {
    result.partial = std::move(cfg);
  }
  return result;
}

const Value& Config::lookup(std::string_view path) const {
  if (auto it = values_.find(path); it != values_.end()) {
    return it->second;
  }
  const KeySpec* spec = schema_ != nullptr ? schema_->find(path) : nullptr;
  // Reading an undeclared key is a programming error, not bad input.
  if (spec == nullptr) {
    throw std::logic_error("undeclared config key read: " + std::string(path));
  }
  return spec->default_value;
}

bool Config::get_bool(std::string_view path) const {
  return std::get<bool>(lookup(path));
}
std::int64_t Config::get_int(std::string_view path) const {
  return std::get<std::int64_t>(lookup(path));
}
double Config::get_double(std::string_view path) const {
  return std::get<double>(lookup(path));
}
const std::string& Config::get_string(std::string_view path) const {
  return std::get<std::string>(lookup(path));
}
const std::vector<std::string>& Config::get_list(std::string_view path) const {
  return std::get<std::vector<std::string>>(lookup(path));
}

bool Config::is_set(std::string_view path) const {
  return explicit_.count(path) > 0;
}

std::vector<std::string> Config::table_names(std::string_view section) const {
  std::vector<std::string> names;
  std::string prefix = std::string(section) + ".";
  for (const auto& [path, _] : explicit_) {
    if (path.rfind(prefix, 0) != 0) {
      continue;
    }
    auto rest = std::string_view(path).substr(prefix.size());
    auto dot = rest.find('.');
    if (dot == std::string_view::npos) {
      continue;
    }
    std::string name(rest.substr(0, dot));
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(std::move(name));
    }
  }
  return names;
}

std::vector<std::string> restart_only_changes(const Schema& schema, const Config& running,
                                              const Config& loaded) {
  std::vector<std::string> out;
  std::vector<std::string> paths;
  for (const auto& [path, _] : running.values()) {
    paths.push_back(path);
  }
  for (const auto& [path, _] : loaded.values()) {
    if (running.values().count(path) == 0) {
      paths.push_back(path);
    }
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    const KeySpec* spec = schema.find(path);
    if (spec == nullptr || spec->reloadable) {
      continue;
    }
    auto value_in = [&](const Config& c) -> const Value& {
      auto it = c.values().find(path);
      return it != c.values().end() ? it->second : spec->default_value;
    };
    const Value& before = value_in(running);
    const Value& after = value_in(loaded);
    if (before != after) {
      out.push_back(path + " changed from " + render_value(before) + " to " + render_value(after) +
                    ": takes effect after a restart");
    }
  }
  return out;
}

}  // namespace pushgate::config
