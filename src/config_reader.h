// The --config file, read by dptrain itself: the part of TOML that a file of flags uses.
// CLI11 2.1's own reader cut a line at its first '#' even inside a string, kept a string's
// escapes as written (resume.toml's run dir a\b came back as a\\b), read an array only on
// its key's line and kept the spaces around its entries, and joined "64 32" into one entry
// after the spaces went. This one reads, per statement:
//   key = "basic string"        TOML escapes decoded (\" \\ \b \t \n \f \r \uXXXX \UXXXXXXXX)
//   key = 'literal string'      as written
//   key = 12_000 / 3e-4 / true  a bare value, as written (a number's digit separators '_'
//                               taken out)
//   key = [1, "a", 2,]          an array, over any number of lines, comments between entries
//                               (not empty: CLI11 would give a scalar option no value)
//   # comment                   a '#' outside strings, to the end of the line
//   [section] / [[section]]     the keys below it get the section as parent (CLI11 then
//                               refuses them: dptrain has no sections)
//   key                         alone: "true" (INI's switch)
// Anything else (a missing ',', text after a value, an unclosed string or array, a nested
// array, an inline table, a multi-line string, an unknown escape, a control character, a
// value with spaces and no quotes, text that is not UTF-8) is a CLI::ConfigError
// "KEY (line N): what". Line ends: LF, CRLF or CR.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace dp {

// One ConfigItem per key (a key given twice keeps its last statement), in the order of the
// statements kept. A UTF-8 byte-order mark at the start and CRLF line ends are accepted.
std::vector<CLI::ConfigItem> read_config_items(const std::string& text);

// Whether s is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool is_valid_utf8(const std::string& s);

}  // namespace dp
