// The suggestions and the config reader behind dptrain's command-line messages
// (src/cli_errors.*); cli_test.sh checks the messages themselves on the executable.
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

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
  // A key given twice takes its last value, as a flag given twice does (CLI11's own reader
  // kept the first of keys apart, and joined lists on consecutive lines), also across a
  // comment and in a section; other keys keep theirs.
  std::istringstream twice("hidden = [64,32]\n# later\nlr = 0.1\nhidden = [8]\n[s]\nk = 1\nk = 2\n");
  const std::vector<CLI::ConfigItem> last = format.from_config(twice);
  REQUIRE(last.size() == 3);
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
  // A mark anywhere but at the start is not one: no key holds it.
  std::istringstream late("\nx\xEF\xBB\xBF = 1\n");
  CHECK_THROWS_AS(format.from_config(late), CLI::ConfigError);
}
