// What the command line refuses, said in dptrain's one-line style. CLI11 finds the errors;
// these turn its messages into ones that name the flag, what it expects and, for a typo,
// the flag that was probably meant.
#pragma once

#include <CLI/CLI.hpp>
#include <istream>
#include <string>
#include <vector>

namespace dp {

// The message (without "dptrain: error: ") for a ParseError of app.parse(argc, argv):
//   unknown flag --epoch (did you mean --epochs?)
//   --epochs: expected an integer, got '1.5'
//   --config run.toml: unknown key 'lrr' (keys are the long flags without --)
std::string describe_parse_error(const CLI::ParseError& e, const CLI::App& app, int argc, char** argv);

// One occurrence of a list flag (one with a delimiter, like --hidden) on the command line:
// "--hidden=64,32" or "--hidden 64 32" (the words up to the next flag).
struct ListOccurrence {
  const CLI::Option* option = nullptr;
  std::string name;  // as typed, e.g. "--hidden"
  std::vector<std::string> values;
};
std::vector<ListOccurrence> list_occurrences(const CLI::App& app, int argc, char** argv);

// An empty entry in a comma-separated list ("--hidden 64,,32", "--hidden 64,", or in the
// --config file "hidden = [64,,32]"), which CLI11 drops without a word (or reads as 0): the
// message, or "" when there is none. The first looks at the command line only (it needs no
// successful parse).
std::string empty_list_entry(const CLI::App& app, int argc, char** argv);
std::string empty_list_entry_on_command_line(const CLI::App& app, int argc, char** argv);

// The long flags closest to `typed` (a misspelt "--name"): edit distance at most 2 (1 for
// short names), or typed a prefix of a flag; best first, at most 3. Empty when none is close.
std::vector<std::string> close_flags(const std::string& typed, const std::vector<std::string>& flags);

// The --config reader: dptrain's own (src/config_reader.h) in place of CLI11's, which cut
// lines at '#' in strings, kept escapes, and read arrays on one line only. It keeps what it
// read, for the checks above.
class ConfigFileFormat : public CLI::ConfigTOML {
 public:
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;
  const std::vector<CLI::ConfigItem>& items_read() const { return items_read_; }

 private:
  mutable std::vector<CLI::ConfigItem> items_read_;  // from_config is const in CLI11's interface
};

}  // namespace dp
