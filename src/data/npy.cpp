#include "src/data/npy.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "src/data/file_bytes.h"
#include "src/util/check.h"

namespace dp {
namespace {

// Element size of a supported dtype, 0 if unsupported.
int descr_nbytes(const std::string& d) {
  if (d == "<f4" || d == "<i4" || d == "<u4") return 4;
  if (d == "<f8" || d == "<i8" || d == "<u8") return 8;
  if (d == "<i2" || d == "<u2") return 2;
  if (d == "|u1" || d == "|i1" || d == "<u1" || d == "<i1") return 1;
  return 0;
}

// A tiny cursor over the header dict text: we accept exactly what numpy writes
// (single- or double-quoted keys, True/False, a tuple of non-negative ints), in any
// key order, with arbitrary spaces.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  void parse(std::string* descr, bool* fortran, std::vector<std::int64_t>* shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    expect('{');
    for (;;) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      skip_ws();
      if (key == "descr") {
        *descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        *fortran = boolean();
        have_fortran = true;
      } else if (key == "shape") {
        *shape = int_tuple();
        have_shape = true;
      } else {
        fail(concat("unexpected key '", key, "' in the NPY header"));
      }
      skip_ws();
      if (peek() == ',') ++pos_;
    }
    if (!have_descr || !have_fortran || !have_shape)
      fail("NPY header lacks one of 'descr', 'fortran_order', 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw UserError(concat(path_, ": ", why)); }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n')) ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) fail(concat("malformed NPY header (expected '", c, "' at offset ", pos_, ")"));
    ++pos_;
  }
  std::string string_literal() {
    skip_ws();
    const char q = peek();
    if (q != '\'' && q != '"')
      fail(concat("malformed NPY header (expected a quoted string at offset ", pos_, ")"));
    const std::size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) fail("malformed NPY header (unterminated string)");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("malformed NPY header (fortran_order must be True or False)");
  }
  std::vector<std::int64_t> int_tuple() {
    std::vector<std::int64_t> dims;
    expect('(');
    for (;;) {
      skip_ws();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') fail("malformed NPY header (shape must be a tuple of integers)");
      std::int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (INT64_MAX - 9) / 10) fail("NPY shape dimension is too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      if (peek() == 'L') ++pos_;  // Python 2 longs
      dims.push_back(v);
      skip_ws();
      if (peek() == ',')
        ++pos_;
      else if (peek() != ')')
        fail("malformed NPY header (shape must be a tuple of integers)");
      if (dims.size() > 32) fail("NPY shape has more than 32 dimensions");
    }
    ++pos_;
    return dims;
  }

  const std::string& s_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

}  // namespace

std::int64_t NpyArray::count() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

bool NpyArray::is_float() const {
  return descr[1] == 'f';
}
bool NpyArray::is_integer() const {
  return descr[1] == 'i' || descr[1] == 'u';
}

double NpyArray::at(std::int64_t i) const {
  const int nb = descr_nbytes(descr);
  const std::uint8_t* p = data.data() + i * nb;
  const char kind = descr[1];
  // Little-endian host assumed (x86-64, aarch64); the dtype is little-endian by check.
  switch (nb) {
    case 1:
      return kind == 'u' ? static_cast<double>(*p) : static_cast<double>(static_cast<std::int8_t>(*p));
    case 2: {
      std::uint16_t u;
      std::memcpy(&u, p, 2);
      return kind == 'u' ? static_cast<double>(u) : static_cast<double>(static_cast<std::int16_t>(u));
    }
    case 4: {
      std::uint32_t u;
      std::memcpy(&u, p, 4);
      if (kind == 'f') {
        float f;
        std::memcpy(&f, &u, 4);
        return f;
      }
      return kind == 'u' ? static_cast<double>(u) : static_cast<double>(static_cast<std::int32_t>(u));
    }
    case 8: {
      std::uint64_t u;
      std::memcpy(&u, p, 8);
      if (kind == 'f') {
        double d;
        std::memcpy(&d, &u, 8);
        return d;
      }
      return kind == 'u' ? static_cast<double>(u) : static_cast<double>(static_cast<std::int64_t>(u));
    }
  }
  return 0.0;
}

NpyArray parse_npy(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  static const std::uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  DP_USER_CHECK(!bytes.empty(), path, ": empty file (0 bytes), not an NPY array");
  DP_USER_CHECK(bytes.size() >= 10 && std::memcmp(bytes.data(), magic, 6) == 0, path,
                ": not an NPY file (bad magic; expected \\x93NUMPY)");
  const int major = bytes[6];
  DP_USER_CHECK(major >= 1 && major <= 3, path, ": unsupported NPY format version ", major, ".",
                int{bytes[7]});
  std::size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = bytes[8] | (std::size_t{bytes[9]} << 8);
    offset = 10;
  } else {
    DP_USER_CHECK(bytes.size() >= 12, path, ": truncated NPY header");
    header_len = bytes[8] | (std::size_t{bytes[9]} << 8) | (std::size_t{bytes[10]} << 16) |
                 (std::size_t{bytes[11]} << 24);
    offset = 12;
  }
  DP_USER_CHECK(header_len <= bytes.size() - offset, path, ": truncated NPY header (declares ", header_len,
                " bytes, ", bytes.size() - offset, " present)");
  const std::string header(reinterpret_cast<const char*>(bytes.data() + offset), header_len);

  NpyArray a;
  a.path = path;
  bool fortran = false;
  HeaderParser(header, path).parse(&a.descr, &fortran, &a.shape);
  DP_USER_CHECK(!fortran, path,
                ": Fortran-order arrays are not supported (save with "
                "numpy.ascontiguousarray first)");
  const int elem = descr_nbytes(a.descr);
  DP_USER_CHECK(elem > 0, path, ": unsupported dtype '", a.descr,
                "' (supported: little-endian float32/float64 and integer types)");

  const std::uint64_t payload_nbytes = bytes.size() - offset - header_len;
  // A zero anywhere in the shape (numpy saves np.zeros((5, 0))) means no data at all.
  const bool empty = std::find(a.shape.begin(), a.shape.end(), 0) != a.shape.end();
  // Even without data the dimensions must multiply within int64, as count() and the
  // callers multiply them all: (5, 0) is fine, (2**62, 2**62, 0) is refused. (Without a 0,
  // the check against the data below bounds the product.)
  std::uint64_t nonzero = 1;
  for (auto d : a.shape) {
    if (!empty || d == 0) continue;
    DP_USER_CHECK(static_cast<std::uint64_t>(d) <= static_cast<std::uint64_t>(INT64_MAX) / nonzero, path,
                  ": NPY shape has more than 2^63 elements");
    nonzero *= static_cast<std::uint64_t>(d);
  }
  std::uint64_t n = empty ? 0 : 1;
  for (auto d : a.shape) {
    if (empty) break;
    DP_USER_CHECK(static_cast<std::uint64_t>(d) <= payload_nbytes / (n * static_cast<std::uint64_t>(elem)),
                  path, ": truncated NPY file (shape declares more data than the ", payload_nbytes,
                  " bytes present)");
    n *= static_cast<std::uint64_t>(d);
  }
  const std::uint64_t expect = n * static_cast<std::uint64_t>(elem);
  DP_USER_CHECK(expect == payload_nbytes, path, ": NPY file size does not match its header (", payload_nbytes,
                " data bytes, shape needs ", expect, ")");
  a.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(offset + header_len), bytes.end());
  return a;
}

NpyArray read_npy(const std::string& path) {
  return parse_npy(read_file_bytes(path), path);
}

void write_npy(const std::string& path, const std::string& descr, const std::vector<std::int64_t>& shape,
               const void* data) {
  const int elem = descr_nbytes(descr);
  DP_CHECK(elem > 0, "write_npy: unsupported dtype ", descr);
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  std::int64_t n = 1;
  for (auto d : shape) {
    dict += std::to_string(d) + ", ";
    n *= d;
  }
  // "(3, 4)" drops the trailing ", "; a 1-tuple keeps its comma: "(3,)".
  if (!shape.empty()) dict.resize(dict.size() - (shape.size() > 1 ? 2 : 1));
  dict += "), }";
  // Pad with spaces so magic(6)+version(2)+len(2)+header is a multiple of 64, ending in '\n'.
  std::size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  DP_USER_CHECK(f != nullptr, path, ": cannot create: ", std::strerror(errno));
  const std::uint8_t preamble[10] = {0x93,
                                     'N',
                                     'U',
                                     'M',
                                     'P',
                                     'Y',
                                     1,
                                     0,
                                     static_cast<std::uint8_t>(dict.size() & 0xff),
                                     static_cast<std::uint8_t>(dict.size() >> 8)};
  const std::size_t nbytes = static_cast<std::size_t>(n) * static_cast<std::size_t>(elem);
  // fwrite's pointer must not be null even for 0 bytes, and an empty array's data may be.
  DP_USER_CHECK(std::fwrite(preamble, 1, 10, f.get()) == 10 &&
                    std::fwrite(dict.data(), 1, dict.size(), f.get()) == dict.size() &&
                    (nbytes == 0 || std::fwrite(data, 1, nbytes, f.get()) == nbytes),
                path, ": write failed: ", std::strerror(errno));
}

}  // namespace dp
