// The --config reader (src/config_reader.*): what TOML a flag file uses is read as TOML
// reads it, resume.toml's strings come back exactly, and everything else is refused with
// the key and line, never read as another value.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/cli.h"
#include "src/config_reader.h"

namespace {
using Values = std::vector<std::string>;

std::vector<CLI::ConfigItem> read(const std::string& text) {
  return dp::read_config_items(text);
}

// The message of the ConfigError that text raises ("" when it is accepted).
std::string refusal(const std::string& text) {
  try {
    dp::read_config_items(text);
  } catch (const CLI::ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("config reader: arrays over several lines, with comments and spaces", "[cli]") {
  // CRLF ends, a trailing comma, comments between entries, spaces around them; strings keep
  // their spaces, ',', ']' and '#' (an escaped quote does not end a "..." string).
  const auto items = read(
      "a = [\r\n  1 ,  # one\r\n\r\n  2,\r\n]  # end\r\n"
      "b = [ \"x y\" , 'p q' ]\n"
      "c = [\"u,]#\\\" v\",\n \"w\"]\n"
      "d = 7\n"
      "e = [ 'x' ]\n");
  REQUIRE(items.size() == 5);
  CHECK(items[0].name == "a");
  CHECK(items[0].inputs == Values{"1", "2"});
  CHECK(items[1].inputs == Values{"x y", "p q"});
  CHECK(items[2].inputs == Values{"u,]#\" v", "w"});
  CHECK(items[3].inputs == Values{"7"});
  CHECK(items[4].name == "e");
  CHECK(items[4].inputs == Values{"x"});
  // An empty entry is kept (the caller names it: "hidden has an empty entry").
  CHECK(read("h = [64,,32]\n")[0].inputs == Values{"64", "", "32"});
}

TEST_CASE("config reader: scalars, comments, keys", "[cli]") {
  const auto items = read(
      "run-dir = \"runs/a#1\"  # where\n"
      "lr = 1e-3# rate\n"
      "name = it's\n"
      "steps = 12_000\n"
      "\"quoted-key\" = \"q#1\"\n"
      "  # an indented comment\n"
      "; an INI comment\n"
      "dry-run\n"
      "tf32 = false\n");
  REQUIRE(items.size() == 7);
  CHECK(items[0].name == "run-dir");
  CHECK(items[0].inputs == Values{"runs/a#1"});  // CLI11 alone read "runs/a
  CHECK(items[1].inputs == Values{"1e-3"});
  CHECK(items[2].inputs == Values{"it's"});
  CHECK(items[3].inputs == Values{"12000"});  // TOML's digit separators, in numbers only
  CHECK(items[4].name == "quoted-key");
  CHECK(items[4].inputs == Values{"q#1"});
  CHECK(items[5].name == "dry-run");
  CHECK(items[5].inputs == Values{"true"});  // a key alone: INI's switch
  CHECK(items[6].inputs == Values{"false"});
  const auto numbers =
      read("a = 5_000.000_1\nb = 0xdead_beef\nc = -1e1_0\nd = runs/exp_2024_01\ne = a_1\nf = 1__0\n");
  REQUIRE(numbers.size() == 6);
  CHECK(numbers[0].inputs == Values{"5000.0001"});
  CHECK(numbers[1].inputs == Values{"0xdeadbeef"});
  CHECK(numbers[2].inputs == Values{"-1e10"});
  CHECK(numbers[3].inputs == Values{"runs/exp_2024_01"});  // a path, not a number: as written
  CHECK(numbers[4].inputs == Values{"a_1"});
  CHECK(numbers[5].inputs == Values{"1__0"});  // no TOML number either
  // Line ends: LF, CRLF and CR alike (a CR alone was part of the value).
  const auto ends = read("a = 1\rb = x\r\nc = \"y\"\r");
  REQUIRE(ends.size() == 3);
  CHECK(ends[1].inputs == Values{"x"});
  CHECK(ends[2].inputs == Values{"y"});
  // Sections and dotted keys become parents (which CLI11 then refuses by name).
  const auto nested = read("a.b = 1\n[s]\nk = 2\n[[t]]\nm = 3\n");
  REQUIRE(nested.size() == 3);
  CHECK(nested[0].fullname() == "a.b");
  CHECK(nested[1].fullname() == "s.k");
  CHECK(nested[2].fullname() == "t.m");
}

TEST_CASE("config reader: TOML escapes in \"...\" strings, none in '...'", "[cli]") {
  const auto items = read("a = \"\\u00e9\\U0001F600\\t\\n\\\\\\\"\"\nb = 'C:\\temp\\x'\n");
  REQUIRE(items.size() == 2);
  CHECK(items[0].inputs == Values{"\xC3\xA9\xF0\x9F\x98\x80\t\n\\\""});
  CHECK(items[1].inputs == Values{"C:\\temp\\x"});
}

TEST_CASE("config reader: resume.toml's strings come back exactly", "[cli]") {
  // resume.toml writes strings as JSON does; CLI11 alone kept the escapes (a run dir a\b came
  // back as a\\b), split values at quotes and kept backticks.
  for (const std::string path : {"runs/a\\b", "q\"uote,x.npy", "a\"b'c", "tab\there", "caf\xC3\xA9 #1",
                                 "it's", "x,y", "back`tick's", "ctl\x01", "my dir\\", "", "new\nline"}) {
    nlohmann::ordered_json table;
    table["run-dir"] = path;
    table["hidden"] = nlohmann::ordered_json::array({path, "x"});
    const auto items = read(dp::config_file_text(table));
    REQUIRE(items.size() == 2);
    CHECK(items[0].inputs == Values{path});
    CHECK(items[1].inputs == Values{path, "x"});
  }
}

TEST_CASE("config reader: what is not a value is refused with its key and line", "[cli]") {
  // Two entries without a comma: CLI11 after the spaces went joined them into 6432.
  CHECK_THAT(refusal("hidden = [64 32]\n"),
             Catch::Contains("hidden (line 1): missing ',' between '64' and '32'"));
  CHECK_THAT(refusal("x = 1\nhidden = [\n  512\n  256,\n]\n"),
             Catch::Contains("hidden (line 4): missing ',' between '512' and '256'"));
  CHECK_THAT(refusal("x = 1\nhidden = [\n 1,\n 2,\n"),
             Catch::Contains("hidden (line 2): the array opened on this line is not closed"));
  CHECK_THAT(refusal("x = 1\nrun-dir = \"runs/a#1\n"),
             Catch::Contains("run-dir (line 2): the string is not closed (a closing \" is missing)"));
  CHECK_THAT(refusal("hidden = [1, \"2]\n"), Catch::Contains("hidden (line 1): the string is not closed"));
  CHECK_THAT(refusal("data-dir = /my dir\n"),
             Catch::Contains(
                 "data-dir (line 1): unexpected 'dir' after the value (a value with spaces needs quotes"));
  CHECK_THAT(refusal("run-dir = 'it''s'\n"), Catch::Contains("run-dir (line 1): unexpected ''s''"));
  CHECK_THAT(refusal("a = \"\"\"x\"\"\"\n"), Catch::Contains("multi-line strings"));
  CHECK_THAT(refusal("a = '''x'''\n"), Catch::Contains("multi-line strings"));
  CHECK_THAT(refusal("a = \"x\\uD800\"\n"),
             Catch::Contains("a (line 1): \\uD800 is not a Unicode character"));
  CHECK_THAT(refusal("a = \"x\\U00110000\"\n"), Catch::Contains("is not a Unicode character"));
  CHECK_THAT(refusal("a = \"x\\u0000b\"\n"), Catch::Contains("a NUL character is not allowed"));
  CHECK_THAT(refusal("a = \"x\\u12\"\n"), Catch::Contains("\\u needs 4 hex digits"));
  CHECK_THAT(refusal("a = \"C:\\temp\\x\"\n"), Catch::Contains("unknown escape \\x"));
  CHECK_THAT(refusal("a = [[1], [2]]\n"), Catch::Contains("nested arrays"));
  CHECK_THAT(refusal("a = {b = 1}\n"), Catch::Contains("inline tables"));
  CHECK_THAT(refusal("a =\n"), Catch::Contains("a (line 1): no value after '='"));
  // An empty array: CLI11 would hand a scalar option no value at all (dptrain crashed).
  CHECK_THAT(refusal("epochs = [\n]\n"), Catch::Contains("epochs (line 1): an empty array has no value"));
  CHECK_THAT(refusal("epochs = [ # none yet\n]\n"), Catch::Contains("an empty array has no value"));
  CHECK_THAT(refusal("a = x\x01y\n"), Catch::Contains("a (line 1): a control character (0x01)"));
  CHECK_THAT(refusal("a = \"x\x7fy\"\n"), Catch::Contains("a control character (0x7F)"));
  CHECK_THAT(refusal(std::string("a = x\0y\n", 8)), Catch::Contains("a control character (0x00)"));
  CHECK_THAT(refusal("a b = 1\n"), Catch::Contains("a (line 1): expected '=' after the key"));
  CHECK_THAT(refusal("= 1\n"), Catch::Contains("(line 1): expected a key"));
  CHECK_THAT(refusal("[s\nk = 1\n"), Catch::Contains("(line 1): the section header is not closed"));
  CHECK_THAT(refusal("a = 1\nb = \"\xff\"\n"), Catch::Contains("(line 2): not UTF-8 text"));
  CHECK(refusal("a = \"x\" # fine\n").empty());
}

TEST_CASE("is_valid_utf8", "[cli]") {
  CHECK(dp::is_valid_utf8(""));
  CHECK(dp::is_valid_utf8("plain"));
  CHECK(dp::is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK_FALSE(dp::is_valid_utf8("\xff"));
  CHECK_FALSE(dp::is_valid_utf8("\xC3"));              // cut short
  CHECK_FALSE(dp::is_valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(dp::is_valid_utf8("\xED\xA0\x80"));      // a surrogate
  CHECK_FALSE(dp::is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(
      dp::is_valid_utf8("a\x80"
                        "b"));  // a lone continuation byte
}
