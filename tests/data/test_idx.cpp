// IDX reader (src/data/idx.h) and gzip handling (src/data/file_bytes.h): round trips of
// raw and gzip files, every IDX element type, and every malformed-input error naming
// the file and the problem.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>

#include "src/data/file_bytes.h"
#include "src/data/idx.h"
#include "tests/data/data_test_util.h"

using Catch::Matchers::Contains;
using dp::test::Bytes;
using dp::test::idx_header;
using dp::test::TempDir;
using dp::test::user_error;

namespace {

// Appends the big-endian bytes of an nbytes-wide value.
void put_be(Bytes* b, std::uint64_t bits, int nbytes) {
  for (int i = nbytes - 1; i >= 0; --i) b->push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
}

// [n, 28, 28] uint8 images with a pattern that differs per image and per pixel.
Bytes image_file(std::uint32_t n, std::uint32_t rows = 28, std::uint32_t cols = 28) {
  Bytes b = idx_header(0x08, {n, rows, cols});
  for (std::uint32_t i = 0; i < n * rows * cols; ++i)
    b.push_back(static_cast<std::uint8_t>((i * 37u + i / 784u) % 256u));
  return b;
}

Bytes label_file(std::uint32_t n) {
  Bytes b = idx_header(0x08, {n});
  for (std::uint32_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(i % 10u));
  return b;
}

void check_images(const dp::IdxArray& a, std::uint32_t n) {
  REQUIRE(a.type == 0x08);
  REQUIRE(a.dims == std::vector<std::int64_t>{n, 28, 28});
  REQUIRE(a.count() == std::int64_t{n} * 784);
  REQUIRE(a.payload.size() == std::size_t{n} * 784);
  std::int64_t wrong = 0;
  for (std::uint32_t i = 0; i < n * 784u; ++i)
    if (a.at(i) != static_cast<double>((i * 37u + i / 784u) % 256u)) ++wrong;
  CHECK(wrong == 0);
}

// Writes `bytes` to dir/name and returns the error message of read_idx on it.
std::string idx_error(const TempDir& dir, const std::string& name, const Bytes& bytes) {
  const std::string path = dir.file(name);
  dp::test::write_bytes(path, bytes);
  return user_error([&] { dp::read_idx(path); });
}

}  // namespace

TEST_CASE("idx: raw uint8 images and labels round trip", "[idx]") {
  TempDir dir;
  dp::test::write_bytes(dir.file("img"), image_file(5));
  dp::test::write_bytes(dir.file("lbl"), label_file(5));
  const dp::IdxArray img = dp::read_idx(dir.file("img"));
  check_images(img, 5);
  CHECK(img.path == dir.file("img"));
  const dp::IdxArray lbl = dp::read_idx(dir.file("lbl"));
  REQUIRE(lbl.dims == std::vector<std::int64_t>{5});
  for (int i = 0; i < 5; ++i) CHECK(lbl.at(i) == i % 10);
}

TEST_CASE("idx: gzip files decode the same as raw ones (detected by content)", "[idx][gzip]") {
  TempDir dir;
  const Bytes raw = image_file(7);
  // The name says nothing: detection is by the 1f 8b magic.
  dp::test::write_bytes(dir.file("images.bin"), dp::test::gzip_bytes(raw));
  dp::test::write_bytes(dir.file("labels.gz"), dp::test::gzip_bytes(label_file(7)));
  check_images(dp::read_idx(dir.file("images.bin")), 7);
  const dp::IdxArray lbl = dp::read_idx(dir.file("labels.gz"));
  REQUIRE(lbl.count() == 7);
  CHECK(lbl.at(6) == 6);
  // read_file_bytes gives back exactly the uncompressed bytes; gunzip=false the file itself.
  CHECK(dp::read_file_bytes(dir.file("images.bin")) == raw);
  CHECK(dp::read_file_bytes(dir.file("images.bin"), false) == dp::test::gzip_bytes(raw));
}

TEST_CASE("idx: a multi-member gzip file (gzip -c a b > c) is read whole", "[idx][gzip]") {
  TempDir dir;
  const Bytes raw = image_file(3);
  const Bytes first(raw.begin(), raw.begin() + 1000);
  const Bytes second(raw.begin() + 1000, raw.end());
  Bytes gz = dp::test::gzip_bytes(first);
  const Bytes gz2 = dp::test::gzip_bytes(second);
  gz.insert(gz.end(), gz2.begin(), gz2.end());
  dp::test::write_bytes(dir.file("two-members.gz"), gz);
  check_images(dp::read_idx(dir.file("two-members.gz")), 3);
}

TEST_CASE("idx: a file larger than max_nbytes is refused, raw and decompressed", "[idx][gzip]") {
  TempDir dir;
  const Bytes raw(100000, 7);
  dp::test::write_bytes(dir.file("raw"), raw);
  dp::test::write_bytes(dir.file("raw.gz"), dp::test::gzip_bytes(raw));
  CHECK_THAT(user_error([&] { dp::read_file_bytes(dir.file("raw"), true, 99999); }),
             Contains(dir.file("raw")) && Contains("limit"));
  // 100000 zeros-ish bytes compress to a few hundred: the limit applies to the output.
  CHECK_THAT(user_error([&] { dp::read_file_bytes(dir.file("raw.gz"), true, 99999); }),
             Contains(dir.file("raw.gz")) && Contains("limit"));
  CHECK(dp::read_file_bytes(dir.file("raw.gz"), true, 100000).size() == 100000);
}

TEST_CASE("idx: every element type decodes big-endian", "[idx]") {
  TempDir dir;
  SECTION("int8") {
    const std::vector<std::int8_t> v = {-128, -1, 0, 1, 127};
    Bytes b = idx_header(0x09, {5});
    for (auto x : v) put_be(&b, static_cast<std::uint8_t>(x), 1);
    dp::test::write_bytes(dir.file("a"), b);
    const dp::IdxArray a = dp::read_idx(dir.file("a"));
    REQUIRE(a.type == 0x09);
    for (int i = 0; i < 5; ++i) CHECK(a.at(i) == v[static_cast<std::size_t>(i)]);
  }
  SECTION("int16") {
    const std::vector<std::int16_t> v = {-32768, -2, 0, 300, 32767, 0x0102};
    Bytes b = idx_header(0x0B, {2, 3});
    for (auto x : v) put_be(&b, static_cast<std::uint16_t>(x), 2);
    dp::test::write_bytes(dir.file("a"), b);
    const dp::IdxArray a = dp::read_idx(dir.file("a"));
    REQUIRE(a.dims == std::vector<std::int64_t>{2, 3});
    for (int i = 0; i < 6; ++i) CHECK(a.at(i) == v[static_cast<std::size_t>(i)]);
  }
  SECTION("int32") {
    const std::vector<std::int32_t> v = {std::numeric_limits<std::int32_t>::min(), -70000, 0, 1, 0x01020304,
                                         std::numeric_limits<std::int32_t>::max()};
    Bytes b = idx_header(0x0C, {6});
    for (auto x : v) put_be(&b, static_cast<std::uint32_t>(x), 4);
    dp::test::write_bytes(dir.file("a"), b);
    const dp::IdxArray a = dp::read_idx(dir.file("a"));
    for (int i = 0; i < 6; ++i) CHECK(a.at(i) == v[static_cast<std::size_t>(i)]);
  }
  SECTION("float32") {
    const std::vector<float> v = {1.5f, -0.1f, 3.4e38f, -0.0f, 1e-40f /* subnormal */, 42.0f};
    Bytes b = idx_header(0x0D, {3, 2});
    for (auto x : v) {
      std::uint32_t u;
      std::memcpy(&u, &x, 4);
      put_be(&b, u, 4);
    }
    dp::test::write_bytes(dir.file("a"), b);
    const dp::IdxArray a = dp::read_idx(dir.file("a"));
    for (int i = 0; i < 6; ++i) CHECK(a.at(i) == static_cast<double>(v[static_cast<std::size_t>(i)]));
    CHECK(std::signbit(a.at(3)));
  }
  SECTION("float64") {
    const std::vector<double> v = {1.0 / 3.0, -2.5e300, 0.0, 123456789.125};
    Bytes b = idx_header(0x0E, {4});
    for (auto x : v) {
      std::uint64_t u;
      std::memcpy(&u, &x, 8);
      put_be(&b, u, 8);
    }
    dp::test::write_bytes(dir.file("a"), dp::test::gzip_bytes(b));
    const dp::IdxArray a = dp::read_idx(dir.file("a"));
    REQUIRE(a.type == 0x0E);
    for (int i = 0; i < 4; ++i) CHECK(a.at(i) == v[static_cast<std::size_t>(i)]);
  }
}

TEST_CASE("idx: malformed headers are UserErrors naming the file and the problem", "[idx][errors]") {
  TempDir dir;
  SECTION("bad magic") {
    Bytes b = label_file(3);
    b[0] = 0x1e;  // not zero (and not the gzip magic either)
    CHECK_THAT(idx_error(dir, "magic", b), Contains(dir.file("magic")) && Contains("bad magic"));
  }
  SECTION("unknown type") {
    Bytes b = label_file(3);
    b[2] = 0x0A;
    CHECK_THAT(idx_error(dir, "type", b),
               Contains(dir.file("type")) && Contains("unknown IDX data type 0xa"));
  }
  SECTION("zero dimensions declared") {
    const Bytes b = {0, 0, 0x08, 0};
    CHECK_THAT(idx_error(dir, "nodims", b), Contains(dir.file("nodims")) && Contains("0 dimensions"));
  }
  SECTION("a dimension of size 0") {
    CHECK_THAT(idx_error(dir, "dim0", idx_header(0x08, {0, 3})),
               Contains(dir.file("dim0")) && Contains("dimension 0 is 0"));
    // A later zero dimension is reported as such, not as missing data.
    CHECK_THAT(idx_error(dir, "dim1", idx_header(0x08, {3, 0})),
               Contains(dir.file("dim1")) && Contains("dimension 1 is 0"));
  }
  SECTION("shorter than the 4-byte preamble") {
    CHECK_THAT(idx_error(dir, "tiny", Bytes{0, 0}),
               Contains(dir.file("tiny")) && Contains("not an IDX file"));
    CHECK_THAT(idx_error(dir, "empty", Bytes{}),
               Contains(dir.file("empty")) && Contains("empty file (0 bytes), not an IDX array"));
  }
  SECTION("truncated header") {
    Bytes b = idx_header(0x08, {2, 28, 28});
    b.resize(10);  // needs 16
    CHECK_THAT(idx_error(dir, "hdr", b), Contains(dir.file("hdr")) && Contains("truncated IDX header"));
  }
  SECTION("truncated payload") {
    Bytes b = image_file(2);
    b.pop_back();
    CHECK_THAT(idx_error(dir, "short", b), Contains(dir.file("short")) && Contains("truncated IDX file"));
  }
  SECTION("extra trailing bytes") {
    Bytes b = image_file(2);
    b.push_back(0);
    b.push_back(0);
    CHECK_THAT(idx_error(dir, "long", b),
               Contains(dir.file("long")) && Contains("2 bytes beyond the declared data"));
  }
  SECTION("huge dimensions fail cleanly without a huge allocation") {
    // 4 x 0xFFFFFFFF elements of 8 bytes: ~2^131 bytes, far beyond any size_t.
    Bytes b = idx_header(0x0E, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu});
    b.resize(b.size() + 64, 0);
    CHECK_THAT(idx_error(dir, "huge", b), Contains(dir.file("huge")) && Contains("truncated IDX file"));
    // Dimensions whose product wraps around 64 bits (65536^4 = 2^64 -> 0) must not pass
    // either, even when the first dimension alone fits the payload.
    Bytes w = idx_header(0x08, {65536, 65536, 65536, 65536});
    w.resize(w.size() + 65536, 0);
    CHECK_THAT(idx_error(dir, "wrap", w), Contains(dir.file("wrap")) && Contains("truncated IDX file"));
  }
  SECTION("255 declared dimensions, header absent") {
    Bytes b = {0, 0, 0x08, 255};
    CHECK_THAT(idx_error(dir, "manydims", b),
               Contains(dir.file("manydims")) && Contains("truncated IDX header"));
  }
}

TEST_CASE("idx: broken gzip files are UserErrors naming the file", "[idx][gzip][errors]") {
  TempDir dir;
  const Bytes gz = dp::test::gzip_bytes(image_file(4));
  REQUIRE(gz.size() > 100);
  SECTION("corrupt deflate data (flipped bytes)") {
    Bytes b = gz;
    for (std::size_t i = 20; i < 40; ++i) b[i] = static_cast<std::uint8_t>(~b[i]);
    CHECK_THAT(idx_error(dir, "corrupt.gz", b), Contains(dir.file("corrupt.gz")) && Contains("gzip"));
  }
  SECTION("a flipped payload byte is caught by the CRC") {
    // Uncompressed (stored) deflate block: flipping a data byte still inflates, so only
    // the CRC32 in the trailer can detect it.
    Bytes raw = label_file(50);
    z_stream zs;
    std::memset(&zs, 0, sizeof zs);
    REQUIRE(deflateInit2(&zs, 0, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    Bytes stored(1024);
    zs.next_in = raw.data();
    zs.avail_in = static_cast<uInt>(raw.size());
    zs.next_out = stored.data();
    zs.avail_out = static_cast<uInt>(stored.size());
    REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    stored.resize(zs.total_out);
    deflateEnd(&zs);
    stored[stored.size() - 8 - 5] ^= 0x01;  // a label byte near the end of the data
    CHECK_THAT(idx_error(dir, "crc.gz", stored), Contains(dir.file("crc.gz")) && Contains("corrupt gzip"));
  }
  SECTION("truncated gzip") {
    for (std::size_t keep : {gz.size() - 1, gz.size() - 8, gz.size() / 2, std::size_t{12}}) {
      const Bytes b(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(keep));
      CHECK_THAT(idx_error(dir, "trunc.gz", b), Contains(dir.file("trunc.gz")) && Contains("truncated gzip"));
    }
  }
  SECTION("trailing garbage after the gzip member") {
    Bytes b = gz;
    for (std::uint8_t c : {'j', 'u', 'n', 'k'}) b.push_back(c);
    CHECK_THAT(idx_error(dir, "trail.gz", b),
               Contains(dir.file("trail.gz")) && Contains("4 stray bytes after the compressed data"));
  }
  SECTION("garbage that looks like a second member") {
    Bytes b = gz;
    for (int c : {0x1f, 0x8b, 0x00, 0x00, 0x00}) b.push_back(static_cast<std::uint8_t>(c));
    CHECK_THAT(idx_error(dir, "fake-member.gz", b), Contains(dir.file("fake-member.gz")) && Contains("gzip"));
  }
  SECTION("gzip of a malformed IDX: the IDX check still names the file") {
    Bytes raw = image_file(2);
    raw.pop_back();
    CHECK_THAT(idx_error(dir, "short.gz", dp::test::gzip_bytes(raw)),
               Contains(dir.file("short.gz")) && Contains("truncated IDX file"));
  }
}

TEST_CASE("idx: a missing file is a UserError naming it", "[idx][errors]") {
  TempDir dir;
  const std::string path = dir.file("does-not-exist.gz");
  CHECK_THAT(user_error([&] { dp::read_idx(path); }), Contains(path) && Contains("cannot open"));
  // A directory is not a readable file either.
  CHECK_THAT(user_error([&] { dp::read_idx(dir.path()); }), Contains(dir.path()));
}

TEST_CASE("idx: parse_idx works from memory and names the given source", "[idx]") {
  const dp::IdxArray a = dp::parse_idx(label_file(4), "memory:labels");
  CHECK(a.path == "memory:labels");
  CHECK(a.count() == 4);
  CHECK_THAT(user_error([] { dp::parse_idx(Bytes{1, 2, 3, 4}, "memory:x"); }), Contains("memory:x"));
}
