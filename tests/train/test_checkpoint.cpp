// Checkpoint files (src/train/checkpoint.h): round trip, atomic write and rotation,
// every corruption refused by name, compatibility checks; and the fault-spec parser.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "src/data/sources.h"
#include "src/train/checkpoint.h"
#include "src/train/faults.h"
#include "src/util/fs.h"
#include "tests/data/data_test_util.h"

using Catch::Matchers::Contains;
using dp::test::Bytes;
using dp::test::TempDir;
using dp::test::user_error;

namespace {

dp::ParamLayout small_layout() {
  dp::ParamLayout layout;
  layout.add("layers.1.weight", {3, 4});
  layout.add("layers.1.bias", {3});
  layout.add("layers.0.weight", {4, 5});
  layout.add("layers.0.bias", {4});
  return layout;
}

dp::Checkpoint make_checkpoint(std::int64_t step) {
  const dp::ParamLayout layout = small_layout().packed();  // files hold the tensors packed
  dp::Checkpoint ck;
  ck.step = step;
  ck.epoch = 2;
  ck.step_in_epoch = 7;
  ck.adam_steps = step - 1;
  ck.world_size = 4;
  ck.resume_config = {{"lr", 0.001}, {"batch-size", 128}, {"seed", 42}};
  ck.layout = layout.tensors();
  const auto n = static_cast<std::size_t>(layout.param_count());
  for (std::size_t i = 0; i < n; ++i) {
    ck.params.push_back(static_cast<float>(i) * 0.5f - 3.0f + static_cast<float>(step));
    ck.adam_m.push_back(static_cast<float>(i) * 1e-3f);
    ck.adam_v.push_back(static_cast<float>(i) * 1e-6f);
  }
  return ck;
}

std::string parse_error(const Bytes& b) {
  return user_error([&] { dp::parse_checkpoint(b, "ck.dpckpt"); });
}

}  // namespace

TEST_CASE("checkpoint: write then read gives back every field bit for bit", "[checkpoint]") {
  TempDir dir;
  const dp::Checkpoint ck = make_checkpoint(100);
  const std::string path = dp::write_checkpoint(dir.path(), ck, 3);
  CHECK(path == dir.file("ckpt-step0000000100.dpckpt"));
  const dp::Checkpoint back = dp::read_checkpoint(path);
  CHECK(back.step == 100);
  CHECK(back.epoch == 2);
  CHECK(back.step_in_epoch == 7);
  CHECK(back.adam_steps == 99);
  CHECK(back.world_size == 4);
  CHECK(back.resume_config == ck.resume_config);
  REQUIRE(back.layout.size() == ck.layout.size());
  for (std::size_t i = 0; i < ck.layout.size(); ++i) {
    CHECK(back.layout[i].name == ck.layout[i].name);
    CHECK(back.layout[i].shape == ck.layout[i].shape);
    CHECK(back.layout[i].offset == ck.layout[i].offset);
  }
  CHECK(std::memcmp(back.params.data(), ck.params.data(), ck.params.size() * 4) == 0);
  CHECK(std::memcmp(back.adam_m.data(), ck.adam_m.data(), ck.adam_m.size() * 4) == 0);
  CHECK(std::memcmp(back.adam_v.data(), ck.adam_v.data(), ck.adam_v.size() * 4) == 0);
}

TEST_CASE("checkpoint: the newest K are kept, listed newest first, stale temporaries removed",
          "[checkpoint]") {
  TempDir dir;
  dp::test::write_bytes(dir.file(".ckpt-step0000000007.tmp"), Bytes(10, 1));  // a crashed writer's leftover
  dp::test::write_bytes(dir.file("notes.txt"), Bytes(3, 2));                  // not ours: untouched
  for (std::int64_t step : {10, 20, 30, 40, 50}) dp::write_checkpoint(dir.path(), make_checkpoint(step), 2);
  const auto list = dp::list_checkpoints(dir.path());
  REQUIRE(list.size() == 2);
  CHECK(list[0] == dir.file("ckpt-step0000000050.dpckpt"));
  CHECK(list[1] == dir.file("ckpt-step0000000040.dpckpt"));
  CHECK_FALSE(dp::is_regular_file(dir.file(".ckpt-step0000000007.tmp")));
  CHECK(dp::is_regular_file(dir.file("notes.txt")));
  CHECK(dp::list_checkpoints(dir.file("missing")).empty());
}

TEST_CASE("checkpoint: every truncation and every sampled bit flip is refused by name",
          "[checkpoint][errors]") {
  TempDir dir;
  const Bytes good = dp::test::read_bytes(dp::write_checkpoint(dir.path(), make_checkpoint(5), 1));
  REQUIRE_NOTHROW(dp::parse_checkpoint(good, "ck.dpckpt"));
  for (std::size_t cut = 0; cut < good.size(); cut += 7) {
    INFO("truncated to " << cut);
    CHECK_THAT(parse_error(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut))),
               Contains("ck.dpckpt"));
  }
  // A flip anywhere after the magic breaks the CRC; in the magic, the magic check.
  for (std::size_t at = 0; at < good.size(); at += 3) {
    Bytes bad = good;
    bad[at] ^= 0x10;
    INFO("flipped byte " << at);
    CHECK_THAT(parse_error(bad),
               Contains("ck.dpckpt") && (Contains("CRC") || Contains("magic") || Contains("truncated")));
  }
  Bytes longer = good;
  longer.push_back(0);
  CHECK_THAT(parse_error(longer), Contains("ck.dpckpt"));
  CHECK_THAT(user_error([&] { dp::read_checkpoint(dir.file("missing.dpckpt")); }),
             Contains("missing.dpckpt"));
}

TEST_CASE("checkpoint: header fields of another type or nested deep are refused (found by tests/fuzz)",
          "[checkpoint][errors]") {
  // Magic, header length, the header text, no payload, and a correct CRC-32, so the
  // header itself is what gets checked.
  auto with_header = [](const std::string& text) {
    Bytes b = {'D', 'P', 'C', 'K', 'P', 'T', '0', '1'};
    const auto n = static_cast<std::uint64_t>(text.size());
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
    b.insert(b.end(), text.begin(), text.end());
    const uLong crc = crc32(0L, b.data() + 8, static_cast<uInt>(b.size() - 8));
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(crc >> (8 * i)));
    return b;
  };
  // nlohmann's value() threw its own type_error here, which is not a UserError.
  CHECK_THAT(parse_error(with_header(R"({"format": 1, "version": 1})")),
             Contains("ck.dpckpt") && Contains("not valid JSON of a dptrain checkpoint"));
  CHECK_THAT(parse_error(with_header(R"({"format": "dptrain-checkpoint", "version": "1"})")),
             Contains("ck.dpckpt") && Contains("version \"1\" is not supported"));
  CHECK_THAT(parse_error(with_header(R"({"format": "dptrain-checkpoint"})")),
             Contains("ck.dpckpt") && Contains("version (none) is not supported"));
  // 100000 levels overflowed the stack inside the JSON parser.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK_THAT(parse_error(with_header("{\"x\": " + deep + ", \"y\": 1}")),
             Contains("ck.dpckpt") && Contains("nests deeper than 64 levels"));
}

TEST_CASE("checkpoint: another model or other settings are refused, naming the difference",
          "[checkpoint][errors]") {
  const dp::Checkpoint ck = make_checkpoint(5);
  const dp::ParamLayout same = small_layout();
  const nlohmann::ordered_json config = ck.resume_config;
  CHECK_NOTHROW(dp::check_compatible(ck, "ck.dpckpt", same, config));

  dp::ParamLayout other;
  other.add("layers.1.weight", {3, 8});
  other.add("layers.1.bias", {3});
  other.add("layers.0.weight", {8, 5});
  other.add("layers.0.bias", {8});
  CHECK_THAT(user_error([&] { dp::check_compatible(ck, "ck.dpckpt", other, config); }),
             Contains("ck.dpckpt") && Contains("another model") && Contains("layers.0.weight [4, 5]") &&
                 Contains("layers.0.weight [8, 5]"));

  nlohmann::ordered_json changed = config;
  changed["lr"] = 0.01;
  CHECK_THAT(user_error([&] { dp::check_compatible(ck, "ck.dpckpt", same, changed); }),
             Contains("ck.dpckpt") && Contains("--lr 0.001 in the checkpoint vs 0.01 now"));
  changed = config;
  changed["drop-last"] = true;
  CHECK_THAT(user_error([&] { dp::check_compatible(ck, "ck.dpckpt", same, changed); }),
             Contains("--drop-last (absent)"));
}

TEST_CASE("resume settings: --data files compare by absolute path (older relative records by name)",
          "[checkpoint]") {
  // Runs record their data files absolutely: the same names in other directories are other data.
  const nlohmann::ordered_json a = {{"data", "npy:/runs/a/x.npy,/runs/a/y.npy"}};
  CHECK(dp::settings_diff(a, a, "the checkpoint").empty());
  CHECK_THAT(dp::settings_diff(a, {{"data", "npy:/runs/b/x.npy,/runs/b/y.npy"}}, "the checkpoint"),
             Contains("--data \"npy:/runs/a/x.npy,/runs/a/y.npy\" in the checkpoint vs"));
  // A record from before (relative paths) is matched by the files' names.
  const nlohmann::ordered_json then = {{"data", "npy:x.npy,y.npy"}, {"lr", 0.001}};
  nlohmann::ordered_json now = {{"data", "npy:/runs/a/x.npy,/runs/a/y.npy"}, {"lr", 0.001}};
  CHECK(dp::settings_diff(then, now, "the checkpoint").empty());
  now["data"] = "npy:/runs/a/x.npy,/runs/a/y2.npy";
  CHECK_THAT(
      dp::settings_diff(then, now, "the checkpoint"),
      Contains("--data \"npy:x.npy,y.npy\" in the checkpoint vs \"npy:/runs/a/x.npy,/runs/a/y2.npy\" now"));
  now["data"] = "idx:x.npy,y.npy";  // another kind
  CHECK_FALSE(dp::settings_diff(then, now, "the checkpoint").empty());
  CHECK(dp::settings_diff({{"data", "fashion-mnist"}}, {{"data", "fashion-mnist"}}, "x").empty());
  CHECK(dp::data_spec_absolute("fashion-mnist") == "fashion-mnist");
  CHECK(dp::data_spec_absolute("npy:/a/x.npy,/b/y.npy") == "npy:/a/x.npy,/b/y.npy");
  CHECK(dp::data_spec_absolute("npy:./x.npy,y.npy") ==
        "npy:" + dp::absolute_path("x.npy") + "," + dp::absolute_path("y.npy"));
  CHECK(dp::absolute_path("x.npy")[0] == '/');
}

TEST_CASE("checkpoint: a directory that cannot be created or written is a UserError",
          "[checkpoint][errors]") {
  TempDir dir;
  dp::test::write_bytes(dir.file("a-file"), Bytes(1, 0));
  CHECK_THAT(user_error([&] { dp::ensure_writable_dir(dir.file("a-file/sub"), "--checkpoint-dir"); }),
             Contains("--checkpoint-dir") && Contains("a-file"));
  CHECK_NOTHROW(dp::ensure_writable_dir(dir.file("new/nested"), "--checkpoint-dir"));
  CHECK(dp::is_directory(dir.file("new/nested")));
  // A failing write (here: the temporary is /dev/full) leaves the previous checkpoint.
  dp::write_checkpoint(dir.path(), make_checkpoint(1), 3);
  REQUIRE(::symlink("/dev/full", dir.file(".ckpt-step0000000002.tmp").c_str()) == 0);
  CHECK_THAT(user_error([&] { dp::write_checkpoint(dir.path(), make_checkpoint(2), 3); }),
             Contains("ckpt-step0000000002.dpckpt") && Contains("No space left") && Contains("untouched"));
  CHECK(dp::list_checkpoints(dir.path()) == std::vector<std::string>{dir.file("ckpt-step0000000001.dpckpt")});
  CHECK_NOTHROW(dp::read_checkpoint(dir.file("ckpt-step0000000001.dpckpt")));
}

TEST_CASE("fault specs parse, and malformed ones are refused naming --inject-fault", "[faults]") {
  const auto faults =
      dp::parse_faults("hang@5:1,crash@7:0,nan@1:3,ckpt-crash@10:0,slow@2:3,ckpt-slow@4:0", 4);
  REQUIRE(faults.size() == 6);
  CHECK(faults[0].kind == dp::Fault::Kind::hang);
  CHECK(faults[0].step == 5);
  CHECK(faults[0].rank == 1);
  CHECK(faults[3].kind == dp::Fault::Kind::ckpt_crash);
  CHECK(faults[4].kind == dp::Fault::Kind::slow);
  CHECK(faults[5].kind == dp::Fault::Kind::ckpt_slow);
  CHECK(dp::parse_faults("", 2).empty());
  for (const char* bad : {"hang", "hang@5", "hang@x:1", "hang@0:1", "hang@5:4", "boom@5:0", "hang@5:-1",
                          "nan@3:1x", "ckpt-crash@3:1", "ckpt-slow@3:2"})
    CHECK_THAT(user_error([&] { dp::parse_faults(bad, 4); }), Contains("--inject-fault"));
  const dp::FaultInjector injector(faults, 3);
  CHECK(injector.active(dp::Fault::Kind::nan, 1));
  CHECK_FALSE(injector.active(dp::Fault::Kind::nan, 2));
  CHECK_FALSE(injector.active(dp::Fault::Kind::hang, 5));  // that one is rank 1's
  CHECK(injector.active(dp::Fault::Kind::slow, 2));
}

// remove_dir_if_hollow: what a refused run leaves (empty files, empty directories at any
// depth) goes; one byte of data or a link anywhere keeps everything.
TEST_CASE("remove_dir_if_hollow removes only a directory of empty files and directories", "[fs]") {
  TempDir tmp;
  const std::string run = tmp.file("run");
  dp::make_dirs(run + "/checkpoints", "--run-dir");
  dp::test::write_bytes(run + "/metrics.jsonl", {});
  CHECK(dp::remove_dir_if_hollow(run));
  CHECK_FALSE(dp::path_exists(run));

  SECTION("a file with data keeps it all") {
    dp::make_dirs(run + "/checkpoints", "--run-dir");
    dp::test::write_bytes(run + "/metrics.jsonl", {});
    dp::test::write_bytes(run + "/config.json", {'{', '}'});
    CHECK_FALSE(dp::remove_dir_if_hollow(run));
    CHECK(dp::is_regular_file(run + "/metrics.jsonl"));
    CHECK(dp::is_directory(run + "/checkpoints"));
  }
  SECTION("empty directories and files at any depth go") {
    dp::make_dirs(run + "/checkpoints/a/b", "--run-dir");
    dp::test::write_bytes(run + "/checkpoints/a/empty", {});
    CHECK(dp::remove_dir_if_hollow(run));
    CHECK_FALSE(dp::path_exists(run));
  }
  SECTION("a byte deep down keeps it all") {
    dp::make_dirs(run + "/checkpoints/a/b", "--run-dir");
    dp::test::write_bytes(run + "/metrics.jsonl", {});
    dp::test::write_bytes(run + "/checkpoints/a/b/data", {'x'});
    CHECK_FALSE(dp::remove_dir_if_hollow(run));
    CHECK(dp::is_regular_file(run + "/metrics.jsonl"));
    CHECK(dp::is_regular_file(run + "/checkpoints/a/b/data"));
  }
  SECTION("a link keeps it all") {
    dp::make_dirs(run, "--run-dir");
    REQUIRE(::symlink(tmp.path().c_str(), (run + "/link").c_str()) == 0);
    CHECK_FALSE(dp::remove_dir_if_hollow(run));
    CHECK(dp::is_directory(run));
  }
  SECTION("a missing directory is not removed") {
    CHECK_FALSE(dp::remove_dir_if_hollow(run));
  }
}
