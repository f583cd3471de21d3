// NPY reader and writer (src/data/npy.h): write_npy round trips, hand-built v1/v2/v3
// headers in the spellings numpy and other writers produce, every supported dtype, and
// every refusal naming the file.
#include <catch2/catch.hpp>
#include <cstring>
#include <limits>

#include "src/data/npy.h"
#include "tests/data/data_test_util.h"

using Catch::Matchers::Contains;
using dp::test::Bytes;
using dp::test::TempDir;
using dp::test::user_error;

namespace {

// "\x93NUMPY" major.0, little-endian header length (2 bytes for v1, 4 for v2/v3),
// the header text as given (no padding added), then the data.
Bytes npy_bytes(const std::string& header, int major, const Bytes& data) {
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
  const std::size_t len_nbytes = major == 1 ? 2 : 4;
  for (std::size_t i = 0; i < len_nbytes; ++i)
    b.push_back(static_cast<std::uint8_t>(header.size() >> (8 * i)));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

template <typename T>
Bytes le_bytes(const std::vector<T>& v) {
  Bytes b(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::string header_for(const std::string& descr, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }\n";
}

// parse_npy's error message for these bytes.
std::string npy_error(const Bytes& b, const std::string& path = "mem.npy") {
  return user_error([&] { dp::parse_npy(b, path); });
}

template <typename T>
void check_round_trip(const TempDir& dir, const std::string& descr, const std::vector<std::int64_t>& shape,
                      const std::vector<T>& values) {
  const std::string path = dir.file("rt.npy");
  dp::write_npy(path, descr, shape, values.data());
  const Bytes file = dp::test::read_bytes(path);
  // numpy's own layout: the data starts at a multiple of 64 and the header ends in '\n'.
  REQUIRE(file.size() >= 10);
  const std::size_t header_len = file[8] | (std::size_t{file[9]} << 8);
  CHECK((10 + header_len) % 64 == 0);
  CHECK(file[10 + header_len - 1] == '\n');
  const dp::NpyArray a = dp::read_npy(path);
  CHECK(a.path == path);
  CHECK(a.descr == descr);
  CHECK(a.shape == shape);
  REQUIRE(a.count() == static_cast<std::int64_t>(values.size()));
  CHECK(a.data == le_bytes(values));
  for (std::size_t i = 0; i < values.size(); ++i)
    CHECK(a.at(static_cast<std::int64_t>(i)) == static_cast<double>(values[i]));
}

}  // namespace

TEST_CASE("npy: write_npy round trips '<f4', '<i4', '<i8' for shapes (N,), (N, D), ()", "[npy]") {
  TempDir dir;
  const std::vector<float> f = {0.5f, -1.25f, 3e-8f, 1e30f, -0.0f, 7.0f};
  const std::vector<std::int32_t> i4 = {std::numeric_limits<std::int32_t>::min(), -1, 0, 1, 42,
                                        std::numeric_limits<std::int32_t>::max()};
  const std::vector<std::int64_t> i8 = {-(std::int64_t{1} << 53), -1, 0, 1, 99, std::int64_t{1} << 53};
  for (const auto& shape : {std::vector<std::int64_t>{6}, std::vector<std::int64_t>{2, 3},
                            std::vector<std::int64_t>{3, 2}, std::vector<std::int64_t>{6, 1}}) {
    check_round_trip(dir, "<f4", shape, f);
    check_round_trip(dir, "<i4", shape, i4);
    check_round_trip(dir, "<i8", shape, i8);
  }
  check_round_trip(dir, "<f4", {}, std::vector<float>{2.5f});
  check_round_trip(dir, "<i4", {}, std::vector<std::int32_t>{-7});
  check_round_trip(dir, "<i8", {}, std::vector<std::int64_t>{1234567890123});
}

TEST_CASE("npy: write_npy spells shapes as Python tuples", "[npy]") {
  // numpy evaluates the header as a literal: "(3)" would be an int, not a tuple.
  TempDir dir;
  const float v[3] = {1, 2, 3};
  auto header_text = [&](const std::vector<std::int64_t>& shape) {
    dp::write_npy(dir.file("h.npy"), "<f4", shape, v);
    const Bytes b = dp::test::read_bytes(dir.file("h.npy"));
    return std::string(b.begin() + 10, b.end());
  };
  CHECK_THAT(header_text({3}), Contains("'shape': (3,)"));
  CHECK_THAT(header_text({1, 3}), Contains("'shape': (1, 3)"));
  CHECK_THAT(header_text({}), Contains("'shape': ()"));
  CHECK_THAT(header_text({3}), Contains("'descr': '<f4'") && Contains("'fortran_order': False"));
}

TEST_CASE("npy: hand-built v1/v2/v3 headers in other spellings parse", "[npy]") {
  const Bytes data = le_bytes(std::vector<float>{1, 2, 3, 4, 5, 6});
  SECTION("numpy's own v1 header") {
    const dp::NpyArray a = dp::parse_npy(npy_bytes(header_for("<f4", "(2, 3)"), 1, data), "m");
    CHECK(a.shape == std::vector<std::int64_t>{2, 3});
    CHECK(a.at(5) == 6.0);
  }
  SECTION("double-quoted keys and values, different key order, extra spaces, no trailing comma") {
    const std::string h = "{  \"shape\" :( 2 ,3 ) ,  \"fortran_order\":False,\"descr\" :  \"<f4\"  }   \n";
    const dp::NpyArray a = dp::parse_npy(npy_bytes(h, 1, data), "m");
    CHECK(a.descr == "<f4");
    CHECK(a.shape == std::vector<std::int64_t>{2, 3});
    CHECK(a.at(0) == 1.0);
  }
  SECTION("tabs and newlines, 1-tuple without a space, Python 2 long suffix") {
    const std::string h = "{'descr':\t'<f4',\n'fortran_order': False,\n'shape': (6L,)}";
    const dp::NpyArray a = dp::parse_npy(npy_bytes(h, 1, data), "m");
    CHECK(a.shape == std::vector<std::int64_t>{6});
  }
  SECTION("v2 header (4-byte length)") {
    std::string h = header_for("<f4", "(6,)");
    h.insert(h.size() - 1, 70000, ' ');  // longer than a v1 header can be
    const dp::NpyArray a = dp::parse_npy(npy_bytes(h, 2, data), "m");
    CHECK(a.shape == std::vector<std::int64_t>{6});
    CHECK(a.at(2) == 3.0);
  }
  SECTION("v3 header (utf-8 text, same layout as v2)") {
    const dp::NpyArray a = dp::parse_npy(npy_bytes(header_for("<f4", "(3, 2)"), 3, data), "m");
    CHECK(a.shape == std::vector<std::int64_t>{3, 2});
  }
  SECTION("a scalar") {
    const dp::NpyArray a =
        dp::parse_npy(npy_bytes(header_for("<f4", "()"), 1, le_bytes(std::vector<float>{9})), "m");
    CHECK(a.shape.empty());
    CHECK(a.count() == 1);
    CHECK(a.at(0) == 9.0);
  }
  SECTION("zero-size arrays have no data") {
    const dp::NpyArray a = dp::parse_npy(npy_bytes(header_for("<f4", "(0,)"), 1, {}), "m");
    CHECK(a.count() == 0);
    const dp::NpyArray b = dp::parse_npy(npy_bytes(header_for("<f4", "(0, 5)"), 1, {}), "m");
    CHECK(b.count() == 0);
    // numpy saves np.zeros((5, 0)) as well: the zero may come after a nonzero dimension.
    const dp::NpyArray c = dp::parse_npy(npy_bytes(header_for("<f4", "(5, 0)"), 1, {}), "m");
    CHECK(c.shape == std::vector<std::int64_t>{5, 0});
    CHECK(c.count() == 0);
    const dp::NpyArray d =
        dp::parse_npy(npy_bytes(header_for("<f4", "(3037000499, 3037000499, 0)"), 1, {}), "m");
    CHECK(d.count() == 0);
  }
  SECTION("zero-size arrays whose other dimensions overflow int64 are refused (found by tests/fuzz)") {
    // count() multiplies every dimension: 2^62 * 2^62 overflowed before reaching the 0.
    for (const char* shape : {"(4611686018427387904, 4611686018427387904, 0)", "(0, 4611686018427387904, 2)",
                              "(3037000500, 3037000500, 0)"}) {
      INFO(shape);
      CHECK_THAT(user_error([&] { dp::parse_npy(npy_bytes(header_for("<f4", shape), 1, {}), "e.npy"); }),
                 Contains("e.npy") && Contains("more than 2^63 elements"));
    }
  }
}

TEST_CASE("npy: every supported dtype decodes", "[npy]") {
  auto parse = [](const std::string& descr, const Bytes& data, std::int64_t n) {
    return dp::parse_npy(npy_bytes(header_for(descr, "(" + std::to_string(n) + ",)"), 1, data), "m.npy");
  };
  SECTION("floats") {
    const std::vector<float> f4 = {1.5f, -0.1f, std::numeric_limits<float>::max(), 1e-45f};
    const dp::NpyArray a = parse("<f4", le_bytes(f4), 4);
    CHECK(a.is_float());
    CHECK_FALSE(a.is_integer());
    for (int i = 0; i < 4; ++i) CHECK(a.at(i) == static_cast<double>(f4[static_cast<std::size_t>(i)]));
    const std::vector<double> f8 = {1.0 / 3.0, -1e300, 5e-324, 0.0};
    const dp::NpyArray b = parse("<f8", le_bytes(f8), 4);
    CHECK(b.is_float());
    for (int i = 0; i < 4; ++i) CHECK(b.at(i) == f8[static_cast<std::size_t>(i)]);
  }
  SECTION("one-byte integers") {
    const Bytes raw = {0, 1, 127, 128, 255};
    for (const char* d : {"|u1", "<u1"}) {
      const dp::NpyArray a = parse(d, raw, 5);
      CHECK(a.is_integer());
      CHECK(a.at(3) == 128.0);
      CHECK(a.at(4) == 255.0);
    }
    for (const char* d : {"|i1", "<i1"}) {
      const dp::NpyArray a = parse(d, raw, 5);
      CHECK(a.at(2) == 127.0);
      CHECK(a.at(3) == -128.0);
      CHECK(a.at(4) == -1.0);
    }
  }
  SECTION("two-byte integers") {
    const std::vector<std::uint16_t> u = {0, 1, 0x7fff, 0x8000, 0xffff};
    const dp::NpyArray a = parse("<u2", le_bytes(u), 5);
    const dp::NpyArray s = parse("<i2", le_bytes(u), 5);
    CHECK(a.at(3) == 32768.0);
    CHECK(a.at(4) == 65535.0);
    CHECK(s.at(2) == 32767.0);
    CHECK(s.at(3) == -32768.0);
    CHECK(s.at(4) == -1.0);
  }
  SECTION("four-byte integers") {
    const std::vector<std::uint32_t> u = {0, 0x01020304, 0x80000000u, 0xffffffffu};
    const dp::NpyArray a = parse("<u4", le_bytes(u), 4);
    const dp::NpyArray s = parse("<i4", le_bytes(u), 4);
    CHECK(a.at(1) == 16909060.0);
    CHECK(a.at(3) == 4294967295.0);
    CHECK(s.at(2) == -2147483648.0);
    CHECK(s.at(3) == -1.0);
  }
  SECTION("eight-byte integers") {
    const std::vector<std::uint64_t> u = {0, 5, 0x8000000000000000ull, 0xffffffffffffffffull};
    const dp::NpyArray a = parse("<u8", le_bytes(u), 4);
    const dp::NpyArray s = parse("<i8", le_bytes(u), 4);
    CHECK(a.at(1) == 5.0);
    CHECK(a.at(3) == 18446744073709551615.0);
    CHECK(s.at(2) == -9223372036854775808.0);
    CHECK(s.at(3) == -1.0);
    CHECK(s.is_integer());
    CHECK_FALSE(s.is_float());
  }
}

TEST_CASE("npy: bad input is a UserError naming the file and the problem", "[npy][errors]") {
  const Bytes f4x6 = le_bytes(std::vector<float>{1, 2, 3, 4, 5, 6});
  SECTION("bad magic") {
    Bytes b = npy_bytes(header_for("<f4", "(6,)"), 1, f4x6);
    b[1] = 'n';
    CHECK_THAT(npy_error(b, "a.npy"), Contains("a.npy") && Contains("bad magic"));
    CHECK_THAT(npy_error(Bytes{0x93, 'N', 'U'}, "b.npy"), Contains("b.npy") && Contains("not an NPY file"));
  }
  SECTION("unsupported format version") {
    CHECK_THAT(npy_error(npy_bytes(header_for("<f4", "(6,)"), 4, f4x6), "v.npy"),
               Contains("v.npy") && Contains("version 4"));
  }
  SECTION("Fortran order") {
    const std::string h = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n";
    CHECK_THAT(npy_error(npy_bytes(h, 1, f4x6), "f.npy"), Contains("f.npy") && Contains("Fortran-order"));
  }
  SECTION("big-endian and unsupported dtypes") {
    for (const char* d : {">f4", ">i4", "<c8", "|b1", "<U5", "<f2", "|S4", "O"}) {
      CHECK_THAT(npy_error(npy_bytes(header_for(d, "(6,)"), 1, Bytes(48, 0)), "d.npy"),
                 Contains("d.npy") && Contains("unsupported dtype '" + std::string(d) + "'"));
    }
  }
  SECTION("truncated data") {
    Bytes b = npy_bytes(header_for("<f4", "(2, 3)"), 1, f4x6);
    b.pop_back();
    CHECK_THAT(npy_error(b, "t.npy"), Contains("t.npy") && Contains("truncated NPY file"));
    // The header alone, no data at all.
    CHECK_THAT(npy_error(npy_bytes(header_for("<f4", "(2, 3)"), 1, {}), "t0.npy"),
               Contains("t0.npy") && Contains("truncated NPY file"));
  }
  SECTION("extra data") {
    Bytes b = npy_bytes(header_for("<f4", "(5,)"), 1, f4x6);
    CHECK_THAT(npy_error(b, "x.npy"), Contains("x.npy") && Contains("does not match its header") &&
                                          Contains("24 data bytes, shape needs 20"));
  }
  SECTION("header length beyond the file") {
    Bytes b = npy_bytes(header_for("<f4", "(6,)"), 1, {});
    b.resize(b.size() - 5);
    CHECK_THAT(npy_error(b, "h.npy"), Contains("h.npy") && Contains("truncated NPY header"));
    const Bytes v2 = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff};  // v2 length cut short
    CHECK_THAT(npy_error(v2, "h2.npy"), Contains("h2.npy") && Contains("truncated NPY header"));
  }
  SECTION("malformed headers") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "malformed NPY header"},
        {"descr: '<f4'", "malformed NPY header"},
        {"{'descr': '<f4', 'fortran_order': False}", "lacks one of"},
        {"{'descr': '<f4', 'shape': (6,)}", "lacks one of"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (6,)}", "malformed NPY header"},
        {"{'descr': '<f4', 'fortran_order': false, 'shape': (6,)}", "True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': 6}", "malformed NPY header"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6 1)}", "tuple of integers"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-6,)}", "tuple of integers"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6.0,)}", "tuple of integers"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,", "tuple of integers"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'extra': 1}", "unexpected key 'extra'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,)", "malformed NPY header"},
    };
    for (const auto& [header, why] : cases) {
      INFO("header: " << header);
      CHECK_THAT(npy_error(npy_bytes(header, 1, f4x6), "m.npy"), Contains("m.npy") && Contains(why));
    }
  }
  SECTION("shapes whose size overflows fail cleanly without a huge allocation") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"(99999999999999999999,)", "too large"},
        {"(1152921504606846976,)", "truncated NPY file"},  // 2^60
        {"(4611686018427387904, 4611686018427387904)", "truncated NPY file"},
        {"(4294967296, 4294967296, 4294967296)", "truncated NPY file"},
        {"(6, 4294967296, 4294967296, 4294967296, 4294967296)", "truncated NPY file"},
        {"(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,6)", "more than 32 dimensions"},
    };
    for (const auto& [shape, why] : cases) {
      INFO("shape: " << shape);
      CHECK_THAT(npy_error(npy_bytes(header_for("<f4", shape), 1, f4x6), "o.npy"),
                 Contains("o.npy") && Contains(why));
    }
  }
}

TEST_CASE("npy: read_npy names the file on a missing file and reads gzip-compressed npy", "[npy]") {
  TempDir dir;
  const std::string missing = dir.file("nope.npy");
  CHECK_THAT(user_error([&] { dp::read_npy(missing); }), Contains(missing) && Contains("cannot open"));
  const Bytes b = npy_bytes(header_for("<i4", "(2,)"), 1, le_bytes(std::vector<std::int32_t>{3, -4}));
  dp::test::write_bytes(dir.file("a.npy.gz"), dp::test::gzip_bytes(b));
  const dp::NpyArray a = dp::read_npy(dir.file("a.npy.gz"));
  CHECK(a.at(1) == -4.0);
  // A bad file read from disk is named by its path.
  Bytes bad = b;
  bad.push_back(0);
  dp::test::write_bytes(dir.file("bad.npy"), bad);
  CHECK_THAT(user_error([&] { dp::read_npy(dir.file("bad.npy")); }), Contains(dir.file("bad.npy")));
}
