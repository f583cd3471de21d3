#include "src/config_reader.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace dp {

bool is_valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t code = 0, min = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if ((lead & 0xE0) == 0xC0) {
      extra = 1, code = lead & 0x1Fu, min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2, code = lead & 0x0Fu, min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3, code = lead & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      code = (code << 6) | (c & 0x3Fu);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

namespace {

bool is_bare_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// code point -> UTF-8 (code is a Unicode scalar value).
void append_utf8(std::uint32_t code, std::string* out) {
  if (code < 0x80) {
    *out += static_cast<char>(code);
  } else if (code < 0x800) {
    *out += static_cast<char>(0xC0 | (code >> 6));
    *out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    *out += static_cast<char>(0xE0 | (code >> 12));
    *out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (code >> 18));
    *out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// A number as TOML writes it may hold '_' between digits (1_000, 5_000.000_1, 0xdead_beef);
// CLI11 converts it without them. Only a whole token of that form loses them: a path like
// runs/exp_2024_01 is no number.
std::string without_digit_separators(const std::string& token) {
  static const std::regex number(
      "[+-]?([0-9]+(_[0-9]+)*(\\.[0-9]+(_[0-9]+)*)?([eE][+-]?[0-9]+(_[0-9]+)*)?"
      "|0x[0-9a-fA-F]+(_[0-9a-fA-F]+)*|0o[0-7]+(_[0-7]+)*|0b[01]+(_[01]+)*)");
  if (token.find('_') == std::string::npos || !std::regex_match(token, number)) return token;
  std::string out;
  for (const char c : token)
    if (c != '_') out += c;
  return out;
}

// At most 40 bytes of s for a message, not cutting a UTF-8 character.
std::string snippet(const std::string& s) {
  std::size_t n = std::min<std::size_t>(s.size(), 40);
  while (n > 0 && n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// TOML refuses control characters other than a tab in values (write them as \uXXXX).
bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7F;
}

class Reader {
 public:
  explicit Reader(std::string text) : t_(std::move(text)) {}

  std::vector<CLI::ConfigItem> read() {
    std::vector<CLI::ConfigItem> items;
    std::vector<std::string> section;
    while (true) {
      skip_blanks();
      if (at_end()) break;
      const char c = peek();
      if (c == '\n') {
        next_line();
      } else if (c == '#' || c == ';') {  // a comment line (';': INI's)
        skip_comment();
      } else if (c == '[') {
        section = section_header();
      } else {
        items.push_back(statement(section));
      }
    }
    // A key given twice keeps its last statement, as a flag given twice does.
    std::map<std::string, std::size_t> last;
    for (std::size_t i = 0; i < items.size(); ++i) last[items[i].fullname()] = i;
    std::vector<CLI::ConfigItem> kept;
    for (std::size_t i = 0; i < items.size(); ++i)
      if (last[items[i].fullname()] == i) kept.push_back(std::move(items[i]));
    return kept;
  }

 private:
  std::string t_;
  std::size_t pos_ = 0;
  int line_ = 1;
  std::string key_;  // the statement's key, for messages

  [[noreturn]] void fail(const std::string& what, int line = 0) const {
    throw CLI::ConfigError((key_.empty() ? std::string() : key_ + " ") + "(line " +
                           std::to_string(line > 0 ? line : line_) + "): " + what);
  }
  static std::string control_message(char c) {
    char code[8];
    std::snprintf(code, sizeof code, "%02X", static_cast<unsigned>(static_cast<unsigned char>(c)));
    return std::string("a control character (0x") + code + ") in the value (write it as \\u00" + code + ")";
  }
  bool at_end() const { return pos_ >= t_.size(); }
  // The line from pos_ on, shortened for a message.
  std::string rest_of_line() const { return snippet(t_.substr(pos_, t_.find('\n', pos_) - pos_)); }
  char peek() const { return at_end() ? '\0' : t_[pos_]; }
  void next_line() {
    ++pos_;
    ++line_;
  }
  void skip_blanks() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) ++pos_;
  }
  void skip_comment() {
    while (!at_end() && peek() != '\n') ++pos_;
  }
  // Blanks and a comment, then the end of the line or of the file.
  void end_of_line(const char* after) {
    skip_blanks();
    if (peek() == '#') skip_comment();
    if (at_end()) return;
    if (peek() != '\n') {
      fail("unexpected '" + rest_of_line() + "' after " + after +
           " (a value with spaces needs quotes: \"...\"; a comment starts with #)");
    }
    next_line();
  }
  // In an array: blanks, comments and line ends.
  void skip_space_in_array() {
    while (true) {
      skip_blanks();
      if (peek() == '#') skip_comment();
      if (peek() != '\n') return;
      next_line();
    }
  }

  std::string key_part() {
    if (peek() == '"' || peek() == '\'') return string_value();
    const std::size_t start = pos_;
    while (!at_end() && is_bare_key_char(peek())) ++pos_;
    if (pos_ == start) {
      fail("expected a key (a long flag without --, as in epochs = 3), got '" + rest_of_line() + "'");
    }
    return t_.substr(start, pos_ - start);
  }
  // key or key.key...: the parts.
  std::vector<std::string> dotted_key() {
    std::vector<std::string> parts{key_part()};
    while (true) {
      skip_blanks();
      if (peek() != '.') return parts;
      ++pos_;
      skip_blanks();
      parts.push_back(key_part());
    }
  }

  std::vector<std::string> section_header() {
    key_.clear();
    ++pos_;
    const bool array_of_tables = peek() == '[';
    if (array_of_tables) ++pos_;
    skip_blanks();
    std::vector<std::string> name = dotted_key();
    skip_blanks();
    for (int k = array_of_tables ? 2 : 1; k > 0; --k) {
      if (peek() != ']') fail("the section header is not closed (a ']' is missing)");
      ++pos_;
    }
    end_of_line("the section header");
    return name;
  }

  CLI::ConfigItem statement(const std::vector<std::string>& section) {
    key_.clear();
    const std::vector<std::string> parts = dotted_key();
    for (const std::string& p : parts) key_ += (key_.empty() ? "" : ".") + p;
    CLI::ConfigItem item;
    item.parents = section;
    item.parents.insert(item.parents.end(), parts.begin(), parts.end() - 1);
    item.name = parts.back();
    skip_blanks();
    if (peek() != '=') {
      // A key alone on its line: INI's way to turn a switch on.
      if (!at_end() && peek() != '\n' && peek() != '#') fail("expected '=' after the key");
      item.inputs = {"true"};
      end_of_line("the key");
      return item;
    }
    ++pos_;
    skip_blanks();
    item.inputs = value();
    end_of_line("the value");
    return item;
  }

  std::vector<std::string> value() {
    const char c = peek();
    if (c == '[') return array();
    if (c == '{') fail("inline tables ({...}) are not read: write each setting as key = value");
    if (c == '"' || c == '\'') return {string_value()};
    if (at_end() || c == '\n' || c == '#') fail("no value after '='");
    return {bare_value()};
  }

  // A number, true/false, a date or an unquoted word: up to a blank, comment or line end
  // (and, in an array, a ',' or ']').
  std::string bare_value(bool in_array = false) {
    const std::size_t start = pos_;
    while (!at_end()) {
      const char c = peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '#' || (in_array && (c == ',' || c == ']'))) break;
      if (is_control(c)) fail(control_message(c));
      ++pos_;
    }
    return without_digit_separators(t_.substr(start, pos_ - start));
  }

  std::string string_value() {
    const char quote = peek();
    if (t_.compare(pos_, 3, std::string(3, quote)) == 0)
      fail("multi-line strings (" + std::string(3, quote) + ") are not read: write the value on one line");
    ++pos_;
    std::string out;
    while (true) {
      if (at_end() || peek() == '\n')
        fail(std::string("the string is not closed (a closing ") + quote + " is missing)");
      const char c = t_[pos_++];
      if (c == quote) return out;
      if (is_control(c)) fail(control_message(c));
      if (c == '\\' && quote == '"')
        escape(&out);
      else
        out += c;
    }
  }

  // After the '\' of a "..." string.
  void escape(std::string* out) {
    const char e = peek();
    ++pos_;
    switch (e) {
      case '"':
        *out += '"';
        return;
      case '\\':
        *out += '\\';
        return;
      case 'b':
        *out += '\b';
        return;
      case 't':
        *out += '\t';
        return;
      case 'n':
        *out += '\n';
        return;
      case 'f':
        *out += '\f';
        return;
      case 'r':
        *out += '\r';
        return;
      case 'u':
      case 'U':
        break;
      default:
        fail(std::string("unknown escape \\") + (e == '\n' || e == '\0' ? std::string() : std::string(1, e)) +
             " in a \"...\" string (write \\\\ for a backslash, or use '...', which has no escapes)");
    }
    const std::size_t digits = e == 'u' ? 4 : 8;
    const std::string hex = t_.substr(pos_, digits);
    if (hex.size() != digits || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      fail(std::string("\\") + e + " needs " + std::to_string(digits) + " hex digits");
    pos_ += digits;
    const auto code = static_cast<std::uint32_t>(std::stoul(hex, nullptr, 16));
    if (code == 0) fail("\\" + std::string(1, e) + hex + ": a NUL character is not allowed");
    if (code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
      fail("\\" + std::string(1, e) + hex + " is not a Unicode character");
    append_utf8(code, out);
  }

  std::vector<std::string> array() {
    const int opened = line_;
    ++pos_;
    std::vector<std::string> out;
    while (true) {
      skip_space_in_array();
      if (at_end()) fail("the array opened on this line is not closed (a ']' is missing)", opened);
      const char c = peek();
      if (c == ']') {
        ++pos_;
        // CLI11 would hand a scalar option no value at all (it reads past the end).
        if (out.empty()) fail("an empty array has no value: leave the key out for its default", opened);
        return out;
      }
      if (c == ',') {  // an empty entry: kept, for the message that names it
        ++pos_;
        out.emplace_back();
        continue;
      }
      if (c == '[') fail("nested arrays are not read");
      if (c == '{') fail("inline tables ({...}) are not read");
      out.push_back(c == '"' || c == '\'' ? string_value() : bare_value(/*in_array=*/true));
      skip_space_in_array();
      if (at_end()) fail("the array opened on this line is not closed (a ']' is missing)", opened);
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ']') {
        const std::string rest = t_.substr(pos_, t_.find_first_of(",]\n", pos_) - pos_);
        fail("missing ',' between '" + out.back() + "' and '" + snippet(rest) + "'");
      }
    }
  }
};

}  // namespace

std::vector<CLI::ConfigItem> read_config_items(const std::string& text) {
  std::string t = text.rfind("\xEF\xBB\xBF", 0) == 0 ? text.substr(3) : text;
  // CRLF line ends lose the '\r'; a '\r' alone (old Mac line ends) is a line end.
  std::string lf;
  lf.reserve(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '\r')
      lf += t[i];
    else if (i + 1 == t.size() || t[i + 1] != '\n')
      lf += '\n';
  }
  if (!is_valid_utf8(lf)) {
    // The first line that is not UTF-8, for the message.
    std::size_t line = 1;
    for (std::size_t start = 0; start <= lf.size(); ++line) {
      const std::size_t end = std::min(lf.find('\n', start), lf.size());
      if (!is_valid_utf8(lf.substr(start, end - start))) break;
      start = end + 1;
    }
    throw CLI::ConfigError("(line " + std::to_string(line) + "): not UTF-8 text");
  }
  return Reader(std::move(lf)).read();
}

}  // namespace dp
