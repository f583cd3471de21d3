// The suggestions and the config reader behind dptrain's command-line messages
// (src/cli_errors.*); cli_test.sh checks the messages themselves on the executable.
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "src/cli.h"
#include "src/cli_errors.h"

namespace {
const std::vector<std::string> kFlags = {"--epochs",        "--steps",  "--seed",        "--lr",
                                         "--lr-schedule",   "--min-lr", "--check-every", "--checkpoint-every",
                                         "--checkpoint-dir"};
using Flags = std::vector<std::string>;
}  // namespace

TEST_CASE("close_flags: a typo names the flag it is nearest to", "[cli]") {
  CHECK(dp::close_flags("--epoch", kFlags) == Flags{"--epochs"});   // a letter missing
  CHECK(dp::close_flags("--EPOCHS", kFlags) == Flags{"--epochs"});  // case is ignored
  CHECK(dp::close_flags("--stesp", kFlags) == Flags{"--steps"});    // two letters swapped: distance 2
  CHECK(dp::close_flags("--lrr", kFlags) == Flags{"--lr"});         // short names: distance 1 only
  CHECK(dp::close_flags("epochs", kFlags) == Flags{"--epochs"});    // a config key, without dashes
}

TEST_CASE("close_flags: a prefix lists its flags, nearest first, at most three", "[cli]") {
  CHECK(dp::close_flags("--check", kFlags) ==
        Flags{"--check-every", "--checkpoint-dir", "--checkpoint-every"});
  CHECK(dp::close_flags("--lr-s", kFlags) == Flags{"--lr-schedule"});
}

TEST_CASE("close_flags: nothing close, nothing suggested", "[cli]") {
  CHECK(dp::close_flags("--bogus", kFlags).empty());
  CHECK(dp::close_flags("--xy", kFlags).empty());  // 2 letters: neither a prefix nor within 1 of --lr
  CHECK(dp::close_flags("--", kFlags).empty());
  CHECK(dp::close_flags("--sxxxx", kFlags).empty());  // distance 3 from --steps and --seed
}

TEST_CASE("ConfigFileFormat reads a file with and without a UTF-8 byte-order mark alike", "[cli]") {
  const dp::ConfigFileFormat format;
  for (const std::string& bom : {std::string(), std::string("\xEF\xBB\xBF")}) {
    std::istringstream in(bom + "epochs = 3\nhidden = [64,32]\n");
    const std::vector<CLI::ConfigItem> items = format.from_config(in);
    REQUIRE(items.size() == 2);
    CHECK(items[0].name == "epochs");
    CHECK(items[0].inputs == Flags{"3"});
    CHECK(items[1].name == "hidden");
    CHECK(items[1].inputs == Flags{"64", "32"});
  }
  // A key given twice takes its last value (CLI11 alone joins them: hidden = 64,32,8), also
  // across a comment and in a section; other keys keep theirs.
  std::istringstream twice("hidden = [64,32]\n# later\nlr = 0.1\nhidden = [8]\n[s]\nk = 1\nk = 2\n");
  const std::vector<CLI::ConfigItem> last = format.from_config(twice);
  REQUIRE(last.size() >= 3);
  CHECK(last[0].name == "lr");
  CHECK(last[0].inputs == Flags{"0.1"});
  CHECK(last[1].name == "hidden");
  CHECK(last[1].inputs == Flags{"8"});
  bool k_seen = false;
  for (const CLI::ConfigItem& item : last)
    if (item.name == "k") {
      CHECK(item.inputs == Flags{"2"});
      k_seen = true;
    }
  CHECK(k_seen);
  // A multi-line array given twice: the later one, whole, wins.
  std::istringstream twice_long("hidden = [\n  64,\n  32,\n]\nhidden = [\n  8,\n]\nlr = 0.5\n");
  const std::vector<CLI::ConfigItem> long_last = format.from_config(twice_long);
  REQUIRE(long_last.size() == 2);
  CHECK(long_last[0].name == "hidden");
  CHECK(long_last[0].inputs == Flags{"8"});
  CHECK(long_last[1].inputs == Flags{"0.5"});
  // A mark anywhere but at the start is not one: it stays in the key.
  std::istringstream late("\nx\xEF\xBB\xBF = 1\n");
  const std::vector<CLI::ConfigItem> items = format.from_config(late);
  REQUIRE(items.size() == 1);
  CHECK(items[0].name == "x\xEF\xBB\xBF");
}

TEST_CASE("ConfigFileFormat reads TOML arrays over several lines and with spaces", "[cli]") {
  const dp::ConfigFileFormat format;
  // Comments, CRLF ends, a trailing comma, spaces around entries; strings keep their spaces,
  // ',' and ']' (a quote escaped in a "..." string does not end it).
  std::istringstream in(
      "a = [\r\n  1 ,  # one\r\n\r\n  2,\r\n]  # end\r\n"
      "b = [ \"x y\" , 'p q' ]\n"
      "c = [\"u,]\\\" v\",\n \"w\"]\n"
      "d = 7\n");
  const std::vector<CLI::ConfigItem> items = format.from_config(in);
  REQUIRE(items.size() == 4);
  CHECK(items[0].name == "a");
  CHECK(items[0].inputs == Flags{"1", "2"});
  CHECK(items[1].name == "b");
  CHECK(items[1].inputs == Flags{"x y", "p q"});
  CHECK(items[2].name == "c");
  REQUIRE(items[2].inputs.size() == 2);
  CHECK(items[2].inputs[1] == "w");
  CHECK(items[3].name == "d");
  CHECK(items[3].inputs == Flags{"7"});
  // A '#' in a string is no comment (CLI11 alone cut "a#1" to "a); one outside strings is,
  // after a scalar too; a quote inside a bare value is a character.
  std::istringstream hashes("run-dir = \"runs/a#1\"  # where\nlr = 1e-3# rate\nname = it's # mine\n");
  const std::vector<CLI::ConfigItem> scalars = format.from_config(hashes);
  REQUIRE(scalars.size() == 3);
  CHECK(scalars[0].inputs == Flags{"runs/a#1"});
  CHECK(scalars[1].inputs == Flags{"1e-3"});
  CHECK(scalars[2].inputs == Flags{"it's"});
  std::istringstream open_string("x = 1\nrun-dir = \"runs/a#1\n");
  try {
    format.from_config(open_string);
    FAIL("accepted a string that is not closed");
  } catch (const CLI::ConfigError& e) {
    CHECK_THAT(e.what(),
               Catch::Contains("run-dir (line 2): the string is not closed (a closing \" is missing)"));
  }
  // Never closed, or a string not closed on its line: an error naming the key and line.
  for (const std::string text : {"x = 1\nhidden = [\n 1,\n 2\ny = 3\n", "x = 1\nhidden = [1, \"2]\n"}) {
    std::istringstream bad(text);
    try {
      format.from_config(bad);
      FAIL("accepted: " << text);
    } catch (const CLI::ConfigError& e) {
      CHECK_THAT(e.what(), Catch::Contains("hidden = [ (line 2): the array is not closed"));
    }
  }
}

TEST_CASE("ConfigFileFormat reads back every string resume.toml writes", "[cli]") {
  // resume.toml spells strings as JSON does (its escapes are TOML's); CLI11 alone kept them
  // escaped (a run dir a\\b resumed from a\\\\b) and split a value at a quote inside it.
  const dp::ConfigFileFormat format;
  for (const std::string path : {"runs/a\\b", "q\"uote,x.npy", "tab\there", "caf\xC3\xA9 #1", "it's", "x,y",
                                 "back`tick's", "ctl\x01", ""}) {
    nlohmann::ordered_json table;
    table["run-dir"] = path;
    table["hidden"] = nlohmann::ordered_json::array({path});
    std::istringstream in(dp::config_file_text(table));
    const std::vector<CLI::ConfigItem> items = format.from_config(in);
    REQUIRE(items.size() == 2);
    CHECK(items[0].inputs == Flags{path});
    CHECK(items[1].inputs == Flags{path});
  }
  // TOML's escapes, \\uXXXX and \\UXXXXXXXX as UTF-8; a line break and an unknown escape
  // stay as written.
  std::istringstream escapes("a = \"\\u00e9\\U0001F600\\t\\n\\u000a\\q\"\n");
  const std::vector<CLI::ConfigItem> items = format.from_config(escapes);
  REQUIRE(items.size() == 1);
  CHECK(items[0].inputs == Flags{"\xC3\xA9\xF0\x9F\x98\x80\t\\n\\u000a\\q"});
}
