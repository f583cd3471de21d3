#include "src/cli_errors.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iterator>
#include <sstream>
#include <utility>

#include "src/config_reader.h"
#include "src/util/fs.h"

namespace dp {
namespace {

// The flag a CLI11 message is about ("--lr" in "Could not convert: --lr = abc"), or "".
std::string flag_named_in(const std::string& what) {
  const auto at = what.find("--");
  if (at == std::string::npos) return "";
  return what.substr(at, what.find_first_of(" =:", at) - at);
}

// Whether opt appears on the command line under any of its names: --name, --name=VALUE,
// -b or -bVALUE. Scanning stops at a bare "--".
bool on_command_line(int argc, char** argv, const CLI::Option& opt) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    for (const std::string& name : opt.get_lnames())
      if (arg == "--" + name || arg.rfind("--" + name + "=", 0) == 0) return true;
    for (const std::string& name : opt.get_snames())
      if (arg.rfind("-" + name, 0) == 0 && arg.rfind("--", 0) != 0) return true;
  }
  return false;
}

// A bad value CLI11 reports ("Could not convert: --lr = abc", "--model: xx not in ...")
// came from the --config file when its option is not on the command line.
bool value_from_config_file(const CLI::ParseError& e, const CLI::App& app, int argc, char** argv) {
  if (!dynamic_cast<const CLI::ConversionError*>(&e) && !dynamic_cast<const CLI::ValidationError*>(&e) &&
      !dynamic_cast<const CLI::ArgumentMismatch*>(&e))
    return false;
  const CLI::Option* opt = app.get_option_no_throw(flag_named_in(e.what()));
  return opt != nullptr && !on_command_line(argc, argv, *opt);
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string without_dashes(const std::string& flag) {
  const auto at = flag.find_first_not_of('-');
  return at == std::string::npos ? "" : flag.substr(at);
}

// Levenshtein distance: the fewest inserted, deleted or replaced characters from a to b.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];  // row[i-1][j-1]
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "a", "a or b", "a, b or c".
std::string join_or(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "" : i + 1 == items.size() ? " or " : ", ") + items[i];
  return out;
}

// Every option's long names (lnames) or short names, each with `prefix` in front.
std::vector<std::string> option_names(const CLI::App& app, bool long_names, const std::string& prefix) {
  std::vector<std::string> out;
  for (const CLI::Option* opt : app.get_options())
    for (const std::string& n : long_names ? opt->get_lnames() : opt->get_snames()) out.push_back(prefix + n);
  return out;
}

// "-0.1", "3", "1e-3": a value, even where it starts with '-'.
bool is_number(const std::string& arg) {
  char* end = nullptr;
  std::strtod(arg.c_str(), &end);
  return !arg.empty() && end == arg.c_str() + arg.size();
}

// The option an argument names ("--lr=0.1" -> --lr, "-b64" -> -b), or nullptr; *name gets
// the name as typed ("-b" for "-b64"; the whole word, up to '=', when it names no option).
const CLI::Option* option_of(const CLI::App& app, const std::string& arg, std::string* name) {
  if (arg.rfind("--", 0) == 0) {
    *name = arg.substr(0, arg.find('='));
    return app.get_option_no_throw(*name);
  }
  const CLI::Option* opt = arg.size() >= 2 ? app.get_option_no_throw(arg.substr(0, 2)) : nullptr;
  *name = opt != nullptr ? arg.substr(0, 2) : arg.substr(0, arg.find('='));
  return opt;
}

// The first argument that looks like a flag but is none of the app's, described; or "".
std::string unknown_flag(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-' || is_number(arg)) continue;
    std::string name;
    if (option_of(app, arg, &name) != nullptr) continue;
    const std::vector<std::string> longs = option_names(app, true, "--");
    if (name.rfind("--", 0) != 0) {
      // "-dry-run": a long flag with one dash.
      const std::vector<std::string> close =
          name.size() > 2 ? close_flags("-" + name, longs) : std::vector<std::string>();
      return "unknown flag " + name + " (" +
             (close.empty() ? "the short flags are " + join_or(option_names(app, false, "-")) +
                                  "; long flags start with --"
                            : "long flags start with --: did you mean " + join_or(close) + "?") +
             ")";
    }
    const std::vector<std::string> close = close_flags(name, longs);
    return "unknown flag " + name + (close.empty() ? "" : " (did you mean " + join_or(close) + "?)");
  }
  return "";
}

// A word on the command line that no flag took: say which, and why when a switch before it
// (which takes no separate value) left it over.
std::string unexpected_argument(const CLI::App& app, int argc, char** argv, const std::string& fallback) {
  std::vector<std::string> extras = app.remaining();
  extras.erase(std::remove(extras.begin(), extras.end(), "--"), extras.end());
  if (extras.empty()) return fallback;
  const std::string& extra = extras.front();
  int dashes = argc;  // where a bare "--" is: every word after it is left over
  for (int i = 1; i < argc && dashes == argc; ++i)
    if (std::string(argv[i]) == "--") dashes = i;
  for (int i = 2; i < dashes; ++i) {
    if (extra != argv[i]) continue;
    const std::string before = argv[i - 1];
    std::string name;
    const CLI::Option* opt = option_of(app, before, &name);
    if (opt != nullptr && opt->get_expected_max() == 0 && before.find('=') == std::string::npos)
      return name + " is a switch and takes no value; '" + extra + "' after it is left over (write " + name +
             "=" + extra + " to set it)";
  }
  if (dashes < argc)
    return "unexpected argument '" + extra + "' after '--': there are no positional arguments";
  return "unexpected argument '" + extra + "': every value follows its flag (--name value or --name=value)";
}

// What a value of opt must look like, for "expected ..., got ...".
std::string expected_value(const CLI::Option& opt) {
  if (opt.get_expected_max() == 0) return "true or false (or no value)";
  const std::string type = opt.get_type_name();
  std::string one = type == "INT"      ? "an integer"
                    : type == "INT>=0" ? "an integer >= 0"
                    : type == "FLOAT"  ? "a number"
                                       : "a " + type;
  if (opt.get_delimiter() == '\0') return one;
  const std::string many = type == "INT" ? "integers" : type == "FLOAT" ? "numbers" : type + " values";
  return many + " separated by '" + std::string(1, opt.get_delimiter()) + "'";
}

// "Could not convert: --epochs = 1.5" -> "--epochs: expected an integer, got '1.5'".
std::string conversion_message(const std::string& what, const CLI::App& app, int argc, char** argv) {
  const std::string prefix = "Could not convert: ";
  const auto eq = what.find(" = ");
  if (what.rfind(prefix, 0) != 0 || eq == std::string::npos) return what;
  const std::string name = what.substr(prefix.size(), eq - prefix.size());
  const std::string value = what.substr(eq + 3);
  const CLI::Option* opt = app.get_option_no_throw(name);
  if (opt == nullptr) return what;
  std::string flag;
  // "--steps --dry-run": the value was forgotten, and CLI11 took the next flag for it (for a
  // list, as one of its entries: "64,--dry-run").
  std::stringstream entries(value);
  for (std::string entry; std::getline(entries, entry, ',');)
    if (entry.rfind("--", 0) == 0 && option_of(app, entry, &flag) != nullptr)
      return name + ": needs a value (" + expected_value(*opt) + "), got the flag " + flag;
  std::string message = name + ": expected " + expected_value(*opt) + ", got '" + value + "'";
  // "-epochs" with one dash is -e followed by the value "pochs".
  for (const std::string& s : opt->get_snames())
    for (int i = 1; i < argc; ++i)
      if (argv[i] == "-" + s + value)
        message +=
            " (" + std::string(argv[i]) + " reads as -" + s + " " + value + "; long flags start with --)";
  return message;
}

}  // namespace

std::vector<std::string> close_flags(const std::string& typed, const std::vector<std::string>& flags) {
  const std::string t = lower(without_dashes(typed));
  if (t.empty()) return {};
  const std::size_t limit = t.size() <= 4 ? 1 : 2;
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const std::string& f : flags) {
    const std::string n = lower(without_dashes(f));
    const std::size_t d = edit_distance(t, n);
    const bool prefix = t.size() >= 3 && n.rfind(t, 0) == 0;
    if (d <= limit || prefix) scored.emplace_back(d, f);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (const auto& [d, f] : scored)
    if (out.size() < 3 && std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  return out;
}

std::string describe_parse_error(const CLI::ParseError& e, const CLI::App& app, int argc, char** argv) {
  // CLI11 names unknown config-file keys without the file; say which file and key.
  const CLI::Option* config = app.get_config_ptr();
  const std::string file = config && config->count() > 0 ? config->as<std::string>() : "";
  std::string what = e.what();
  const std::string extras = "INI was not able to parse ";
  if (what.rfind(extras, 0) == 0) {
    // CLI11 reads "[name]" as a section: its keys arrive as "name.key", and the section
    // itself as "name.++".
    const std::string key = what.substr(extras.size());
    const auto dot = key.find('.');
    if (dot != std::string::npos)
      what = "section [" + key.substr(0, dot) +
             "] is not used: write every key at the top level, without [section] lines";
    else {
      const std::vector<std::string> close = close_flags(key, option_names(app, true, ""));
      what = "unknown key '" + key + "' (" +
             (close.empty() ? "keys are the long flags without --" : "did you mean " + join_or(close) + "?") +
             ")";
    }
  }
  if (dynamic_cast<const CLI::FileError*>(&e))
    return "--config: " + (!file.empty() && is_directory(file) ? file + " is a directory, not a file" : what);
  const bool from_file = !file.empty() && (dynamic_cast<const CLI::ConfigError*>(&e) ||
                                           value_from_config_file(e, app, argc, argv));
  // An empty list entry is the real error where CLI11 then stumbled over the rest
  // ("--hidden , --dry-run": the list is empty, and --dry-run was taken for its value).
  if (const std::string empty = empty_list_entry_on_command_line(app, argc, argv); !empty.empty())
    return empty;
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    const std::string unknown = unknown_flag(app, argc, argv);
    what = unknown.empty() ? unexpected_argument(app, argc, argv, what) : unknown;
  } else if (dynamic_cast<const CLI::ConversionError*>(&e)) {
    what = conversion_message(what, app, argc, argv);
  } else if (dynamic_cast<const CLI::ArgumentMismatch*>(&e)) {
    // "--epochs" as the last word: no value at all (the config reader refuses "hidden = []").
    if (const CLI::Option* opt = app.get_option_no_throw(flag_named_in(what)); opt != nullptr)
      what = opt->get_name() + ": needs a value (" + expected_value(*opt) + ")";
  }
  return from_file ? "--config " + file + ": " + what : what;
}

std::vector<ListOccurrence> list_occurrences(const CLI::App& app, int argc, char** argv) {
  std::vector<ListOccurrence> out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) continue;
    ListOccurrence occurrence;
    occurrence.option = option_of(app, arg, &occurrence.name);
    if (occurrence.option == nullptr || occurrence.option->get_delimiter() == '\0') continue;
    // --name=V or --name V, then (as CLI11 reads it) the words up to the next flag.
    if (const auto eq = arg.find('='); eq != std::string::npos)
      occurrence.values.push_back(arg.substr(eq + 1));
    for (int j = i + 1; j < argc && (argv[j][0] != '-' || is_number(argv[j])); ++j)
      occurrence.values.emplace_back(argv[j]);
    out.push_back(std::move(occurrence));
  }
  return out;
}

namespace {

// Whether a list value has an empty entry: "64,,32", "64,", ",64" or "".
bool has_empty_entry(const std::string& value, char sep) {
  return (sep + value + sep).find(std::string(2, sep)) != std::string::npos;
}

// The option's default as an example: "[256,128]" -> "256,128".
std::string example_of(const CLI::Option& opt) {
  std::string example = opt.get_default_str();
  example.erase(
      std::remove_if(example.begin(), example.end(), [](char ch) { return ch == '[' || ch == ']'; }),
      example.end());
  return example.empty() ? "" : ", e.g. " + example;
}

}  // namespace

std::string empty_list_entry_on_command_line(const CLI::App& app, int argc, char** argv) {
  for (const ListOccurrence& occurrence : list_occurrences(app, argc, argv))
    for (const std::string& v : occurrence.values)
      if (has_empty_entry(v, occurrence.option->get_delimiter()))
        return occurrence.name + ": '" + v + "' has an empty entry (" + expected_value(*occurrence.option) +
               example_of(*occurrence.option) + ")";
  return "";
}

std::string empty_list_entry(const CLI::App& app, int argc, char** argv) {
  if (std::string empty = empty_list_entry_on_command_line(app, argc, argv); !empty.empty()) return empty;
  // A --config file's value of a list that the command line does not override:
  // "hidden = [64,,32]" (an empty input) or "hidden = \"64,,32\"" (one input).
  const CLI::Option* config = app.get_config_ptr();
  const auto format = std::dynamic_pointer_cast<const ConfigFileFormat>(app.get_config_formatter());
  if (config == nullptr || config->count() == 0 || format == nullptr) return "";
  for (const CLI::ConfigItem& item : format->items_read()) {
    const CLI::Option* opt = app.get_option_no_throw("--" + item.name);
    if (opt == nullptr || opt->get_delimiter() == '\0' || !item.parents.empty() ||
        on_command_line(argc, argv, *opt))
      continue;
    for (const std::string& v : item.inputs)
      if (has_empty_entry(v, opt->get_delimiter()))
        return "--config " + config->as<std::string>() + ": " + item.name + " has an empty entry (" +
               expected_value(*opt) + example_of(*opt) + ")";
  }
  return "";
}

std::vector<CLI::ConfigItem> ConfigFileFormat::from_config(std::istream& input) const {
  items_read_ = read_config_items({std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()});
  return items_read_;
}

}  // namespace dp
