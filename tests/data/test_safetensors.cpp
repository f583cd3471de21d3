// safetensors export (src/train/safetensors.h): round trip of names, shapes, values and
// metadata; the file layout other readers rely on (8-aligned header, layers.N order,
// contiguous data offsets); atomic writes; and every malformed file refused by name.
// tests/data/check_safetensors.py checks the same file format independently in Python.
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "src/train/safetensors.h"
#include "tests/data/data_test_util.h"

using Catch::Matchers::Contains;
using dp::test::Bytes;
using dp::test::TempDir;
using dp::test::user_error;

namespace {

// An MLP-like layout of `layers` layers, added last layer first (the gradient-bucket
// order), so the writer's sort is what puts layers.0 first.
dp::ParamLayout mlp_layout(int layers) {
  dp::ParamLayout layout;
  for (int l = layers - 1; l >= 0; --l) {
    const std::string p = "layers." + std::to_string(l);
    layout.add(p + ".weight", {l + 2, l + 3});
    layout.add(p + ".bias", {l + 2});
  }
  return layout;
}

std::vector<float> values_for(const dp::ParamLayout& layout) {
  std::vector<float> v(static_cast<std::size_t>(layout.buffer_count()));
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<float>(static_cast<int>(i % 997) - 498) / 16.0f;
  return v;
}

// 8-byte little-endian length, the header text, then the data.
Bytes st_bytes(const std::string& header, const Bytes& data) {
  Bytes b;
  for (int i = 0; i < 8; ++i)
    b.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(header.size()) >> (8 * i)));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

std::string read_error(const TempDir& dir, const Bytes& b) {
  const std::string path = dir.file("bad.safetensors");
  dp::test::write_bytes(path, b);
  return user_error([&] { dp::read_safetensors(path); });
}

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("safetensors: write then read back gives the same names, shapes, values, metadata",
          "[safetensors]") {
  TempDir dir;
  const dp::ParamLayout layout = mlp_layout(3);
  const std::vector<float> values = values_for(layout);
  const std::map<std::string, std::string> meta = {{"format", "pt"},
                                                   {"config", "{\"hidden\": [256, 128], \"lr\": 0.001}"},
                                                   {"note", "tab\there \"quoted\" \\ ok"}};
  const std::string path = dir.file("model.safetensors");
  dp::write_safetensors(path, layout, values.data(), meta);

  std::map<std::string, std::string> got_meta;
  const std::vector<dp::NamedTensor> tensors = dp::read_safetensors(path, &got_meta);
  CHECK(got_meta == meta);
  REQUIRE(tensors.size() == layout.tensors().size());
  std::map<std::string, const dp::NamedTensor*> by_name;
  for (const auto& t : tensors) by_name[t.name] = &t;
  REQUIRE(by_name.size() == tensors.size());
  for (const dp::TensorView& v : layout.tensors()) {
    INFO(v.name);
    REQUIRE(by_name.count(v.name) == 1);
    const dp::NamedTensor& t = *by_name[v.name];
    CHECK(t.shape == v.shape);
    const std::vector<float> want(values.begin() + v.offset, values.begin() + v.offset + v.count);
    CHECK(t.data == want);
  }
  // Reading without asking for metadata works too.
  CHECK(dp::read_safetensors(path).size() == tensors.size());
}

TEST_CASE("safetensors: empty metadata writes no __metadata__ entry", "[safetensors]") {
  TempDir dir;
  dp::ParamLayout layout;
  layout.add("layers.0.weight", {1, 1});
  const float v = 3.0f;
  dp::write_safetensors(dir.file("m.safetensors"), layout, &v, {});
  const Bytes b = dp::test::read_bytes(dir.file("m.safetensors"));
  CHECK(std::string(b.begin(), b.end()).find("__metadata__") == std::string::npos);
  std::map<std::string, std::string> meta;
  const auto t = dp::read_safetensors(dir.file("m.safetensors"), &meta);
  CHECK(meta.empty());
  REQUIRE(t.size() == 1);
  CHECK(t[0].data == std::vector<float>{3.0f});
}

TEST_CASE("safetensors: file layout (aligned header, layers.N order, contiguous offsets)", "[safetensors]") {
  TempDir dir;
  const dp::ParamLayout layout = mlp_layout(12);  // layers.10 and layers.11 must follow layers.9
  const std::vector<float> values = values_for(layout);
  const std::string path = dir.file("model.safetensors");
  dp::write_safetensors(path, layout, values.data(), {{"k", "v"}});
  const Bytes b = dp::test::read_bytes(path);
  REQUIRE(b.size() >= 8);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | b[static_cast<std::size_t>(i)];
  CHECK(n % 8 == 0);
  REQUIRE(8 + n <= b.size());
  const std::string header(b.begin() + 8, b.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  CHECK(header.front() == '{');
  CHECK(b.size() == 8 + n + static_cast<std::uint64_t>(layout.param_count()) * 4);

  // Order in the header text and in the data: layers.0 ... layers.11, each layer's
  // tensors together; the data offsets are contiguous from 0 in that same order.
  const auto j = nlohmann::ordered_json::parse(header);
  std::vector<std::string> names;
  std::uint64_t expect_begin = 0;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    names.push_back(it.key());
    const auto offsets = it.value()["data_offsets"].get<std::vector<std::uint64_t>>();
    REQUIRE(offsets.size() == 2);
    CHECK(offsets[0] == expect_begin);
    expect_begin = offsets[1];
    CHECK(it.value()["dtype"] == "F32");
    // The bytes at those offsets are the tensor's values.
    const dp::TensorView& v = layout.find(it.key());
    REQUIRE(offsets[1] - offsets[0] == static_cast<std::uint64_t>(v.count) * 4);
    std::vector<float> stored(static_cast<std::size_t>(v.count));
    std::memcpy(stored.data(), b.data() + 8 + n + offsets[0], stored.size() * 4);
    CHECK(std::equal(stored.begin(), stored.end(), values.begin() + v.offset));
  }
  CHECK(expect_begin == static_cast<std::uint64_t>(layout.param_count()) * 4);
  REQUIRE(names.size() == 24);
  for (int l = 0; l < 12; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    INFO("layer " << l << ": " << names[static_cast<std::size_t>(2 * l)] << ", "
                  << names[static_cast<std::size_t>(2 * l + 1)]);
    CHECK(names[static_cast<std::size_t>(2 * l)].rfind(p, 0) == 0);
    CHECK(names[static_cast<std::size_t>(2 * l + 1)].rfind(p, 0) == 0);
  }
}

TEST_CASE("safetensors: writes are atomic and replace an existing file", "[safetensors]") {
  TempDir dir;
  const dp::ParamLayout layout = mlp_layout(2);
  std::vector<float> values = values_for(layout);
  const std::string path = dir.file("model.safetensors");
  // A stale temp file from a killed run must not survive or confuse the next write.
  dp::test::write_bytes(path + ".tmp", Bytes(100, 0xAB));
  dp::write_safetensors(path, layout, values.data(), {});
  CHECK(dir_entries(dir.path()) == std::vector<std::string>{"model.safetensors"});
  for (auto& v : values) v = -v;
  dp::write_safetensors(path, layout, values.data(), {{"step", "2"}});
  CHECK(dir_entries(dir.path()) == std::vector<std::string>{"model.safetensors"});
  std::map<std::string, std::string> meta;
  const auto t = dp::read_safetensors(path, &meta);
  CHECK(meta.at("step") == "2");
  const dp::TensorView& w0 = layout.find("layers.0.weight");
  for (const auto& nt : t)
    if (nt.name == "layers.0.weight") CHECK(nt.data[0] == values[static_cast<std::size_t>(w0.offset)]);
}

TEST_CASE("safetensors: writing into a missing directory is a UserError naming the path",
          "[safetensors][errors]") {
  TempDir dir;
  const dp::ParamLayout layout = mlp_layout(1);
  const std::vector<float> values = values_for(layout);
  const std::string path = dir.file("no/such/dir/model.safetensors");
  CHECK_THAT(user_error([&] { dp::write_safetensors(path, layout, values.data(), {}); }),
             Contains(path) && Contains("No such file or directory"));
  CHECK(dir_entries(dir.path()).empty());
}

TEST_CASE("safetensors: malformed files are UserErrors naming the file", "[safetensors][errors]") {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  const Bytes data16(16, 0);  // 4 floats
  const std::string ok = R"({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}})";
  REQUIRE(dp::read_safetensors((dp::test::write_bytes(path, st_bytes(ok, data16)), path)).size() == 1);

  SECTION("missing file") {
    CHECK_THAT(user_error([&] { dp::read_safetensors(dir.file("missing.safetensors")); }),
               Contains(dir.file("missing.safetensors")) && Contains("cannot open"));
  }
  SECTION("shorter than the length field") {
    CHECK_THAT(read_error(dir, Bytes{1, 0, 0}), Contains(path) && Contains("not a safetensors file"));
    CHECK_THAT(read_error(dir, Bytes{}), Contains(path) && Contains("not a safetensors file"));
  }
  SECTION("truncated file (data cut short)") {
    Bytes b = st_bytes(ok, data16);
    b.resize(b.size() - 4);
    CHECK_THAT(read_error(dir, b), Contains(path) && Contains("tensor 'a'") && Contains("file size"));
  }
  SECTION("truncated written file") {
    const dp::ParamLayout layout = mlp_layout(2);
    const std::vector<float> values = values_for(layout);
    dp::write_safetensors(dir.file("w.safetensors"), layout, values.data(), {});
    Bytes b = dp::test::read_bytes(dir.file("w.safetensors"));
    b.resize(b.size() - 1);
    CHECK_THAT(read_error(dir, b), Contains(path) && Contains("inconsistent"));
    b.resize(20);  // inside the header
    CHECK_THAT(read_error(dir, b), Contains(path) && Contains("exceeds the file size"));
  }
  SECTION("header length beyond the file") {
    Bytes b = st_bytes(ok, data16);
    b[6] = 0x01;  // 2^48 + ...
    CHECK_THAT(read_error(dir, b), Contains(path) && Contains("exceeds the file size"));
    for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = 0xff;  // 2^64 - 1: must not wrap
    CHECK_THAT(read_error(dir, b), Contains(path) && Contains("exceeds the file size"));
  }
  SECTION("non-JSON header") {
    CHECK_THAT(read_error(dir, st_bytes("{not json at all", data16)),
               Contains(path) && Contains("not a JSON object"));
    CHECK_THAT(read_error(dir, st_bytes("[1, 2, 3]", data16)),
               Contains(path) && Contains("not a JSON object"));
    CHECK_THAT(read_error(dir, st_bytes("", data16)), Contains(path) && Contains("not a JSON object"));
  }
  SECTION("header nested far deeper than safetensors' 3 levels (found by tests/fuzz)") {
    // 100000 levels overflowed the stack inside the JSON parser before the fix.
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    CHECK_THAT(read_error(dir, st_bytes("{\"a\": " + deep + ", \"b\": 1}", data16)),
               Contains(path) && Contains("nests deeper than 16 levels"));
    CHECK_THAT(read_error(dir, st_bytes(R"({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16],
                                         "x": [[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]}})",
                                        data16)),
               Contains(path) && Contains("nests deeper than 16 levels"));
    // Brackets inside strings do not count.
    const std::string names = R"({"__metadata__": {"k": "[[[[[[[[[[[[[[[[[[[[\"[[[["}, )"
                              R"("a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}})";
    dp::test::write_bytes(path, st_bytes(names, data16));
    CHECK(dp::read_safetensors(path).size() == 1);
  }
  SECTION("offsets inconsistent with the shape or the file") {
    const std::vector<std::string> headers = {
        R"({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}})",
        R"({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [4, 20]}})",
        R"({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [16, 0]}})",
        R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [18446744073709551612, 0]}})",
    };
    for (const auto& h : headers) {
      INFO(h);
      CHECK_THAT(read_error(dir, st_bytes(h, data16)),
                 Contains(path) && Contains("tensor 'a'") && Contains("inconsistent"));
    }
  }
  SECTION("malformed shape or data_offsets") {
    const std::vector<std::string> headers = {
        R"({"a": {"dtype": "F32", "shape": [2, 2]}})",
        R"({"a": {"dtype": "F32", "data_offsets": [0, 16]}})",
        R"({"a": {"dtype": "F32", "shape": 4, "data_offsets": [0, 16]}})",
        R"({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0]}})",
        R"({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, -16]}})",
        R"({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16.0]}})",
        R"({"a": {"dtype": "F32", "shape": [-2, -2], "data_offsets": [0, 16]}})",
        R"({"a": {"dtype": "F32", "shape": [2, "2"], "data_offsets": [0, 16]}})",
        R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 16]}})",
    };
    for (const auto& h : headers) {
      INFO(h);
      CHECK_THAT(read_error(dir, st_bytes(h, data16)), Contains(path) && Contains("tensor 'a'"));
    }
  }
  SECTION("non-F32 dtypes") {
    for (const char* dtype : {"F16", "BF16", "F64", "I64", "U8", "f32"}) {
      const std::string h =
          std::string(R"({"a": {"dtype": ")") + dtype + R"(", "shape": [2, 2], "data_offsets": [0, 16]}})";
      CHECK_THAT(read_error(dir, st_bytes(h, data16)), Contains(path) && Contains("tensor 'a' is not F32"));
    }
    CHECK_THAT(read_error(dir, st_bytes(R"({"a": {"dtype": 32, "shape": [2, 2], "data_offsets": [0, 16]}})",
                                        data16)),
               Contains(path) && Contains("tensor 'a'"));
    CHECK_THAT(read_error(dir, st_bytes(R"({"a": [1, 2]})", data16)),
               Contains(path) && Contains("tensor 'a'"));
  }
}

TEST_CASE("safetensors: tensors must cover the data section without holes or overlaps",
          "[safetensors][errors]") {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  const Bytes data32(32, 0);  // 8 floats
  // Two tensors of 4 floats each.
  auto two = [](int a_begin, int b_begin) {
    return "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [" + std::to_string(a_begin) +
           ", " + std::to_string(a_begin + 16) +
           "]}, \"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [" + std::to_string(b_begin) +
           ", " + std::to_string(b_begin + 16) + "]}}";
  };
  dp::test::write_bytes(path, st_bytes(two(16, 0), data32));  // valid in any header order
  const auto tensors = dp::read_safetensors(path);
  REQUIRE(tensors.size() == 2);
  CHECK(tensors[0].name == "a");  // file order is kept
  CHECK_THAT(read_error(dir, st_bytes(two(0, 8), data32)), Contains(path) && Contains("overlaps"));
  CHECK_THAT(read_error(dir, st_bytes(two(0, 0), data32)), Contains(path) && Contains("overlaps"));
  Bytes data40(40, 0);
  CHECK_THAT(read_error(dir, st_bytes(two(0, 20), data40)), Contains(path) && Contains("hole"));
  CHECK_THAT(read_error(dir, st_bytes(two(0, 16), data40)),
             Contains(path) && Contains("8 bytes after the last tensor"));
}

TEST_CASE("safetensors: names are written in natural order, whatever their prefix", "[safetensors]") {
  TempDir dir;
  dp::ParamLayout layout;
  for (const char* name :
       {"head.10.w", "embed", "head.9.w", "head.09.x", "blocks.2.attn.weight", "blocks.10.attn.weight"})
    layout.add(name, {2});
  const std::vector<float> values = values_for(layout);
  dp::write_safetensors(dir.file("n.safetensors"), layout, values.data(), {});
  std::vector<std::string> names;
  for (const auto& t : dp::read_safetensors(dir.file("n.safetensors"))) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{"blocks.2.attn.weight", "blocks.10.attn.weight", "embed",
                                          "head.9.w", "head.09.x", "head.10.w"});
}
