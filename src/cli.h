// The command line. Every option is declared once in register_options(): that table
// drives --help, the --config file keys (TOML/INI, same names without "--"), the
// resolved-config printout and RUN_DIR/config.json.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/config.h"

namespace dp {

class OptionTable {
 public:
  OptionTable(CLI::App& app, Config& cfg);
  // Resolved values, typed, keyed like the config file (e.g. "batch-size").
  nlohmann::ordered_json to_json() const;

 private:
  template <typename T>
  CLI::Option* add(const std::string& flags, T& field, const std::string& help);
  CLI::Option* add_flag(const std::string& flags, bool& field, const std::string& help);

  CLI::App& app_;
  std::string group_;
  std::vector<std::pair<std::string, std::function<nlohmann::ordered_json()>>> fields_;
};

// `key = value` lines of a resolved table (OptionTable::to_json's shape): a --config file.
// dry-run is left out (the file reproduces a run, not a check).
std::string config_file_text(const nlohmann::ordered_json& table);

// Parses argv into cfg. Returns -1 to go on, or the exit code to return now: 0 after
// --help/--version, 2 after a bad option (the message is printed by rank 0 only).
int parse_command_line(int argc, char** argv, bool print, CLI::App& app, Config& cfg);

}  // namespace dp
