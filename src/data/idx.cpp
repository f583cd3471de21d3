#include "src/data/idx.h"

#include <cstring>

#include "src/data/file_bytes.h"
#include "src/util/check.h"

namespace dp {
namespace {

std::uint64_t load_be(const std::uint8_t* p, int nbytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < nbytes; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

int idx_type_nbytes(std::uint8_t type) {
  switch (type) {
    case 0x08:
    case 0x09:
      return 1;
    case 0x0B:
      return 2;
    case 0x0C:
    case 0x0D:
      return 4;
    case 0x0E:
      return 8;
    default:
      return 0;
  }
}

std::int64_t IdxArray::count() const {
  std::int64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

double IdxArray::at(std::int64_t i) const {
  const int nb = idx_type_nbytes(type);
  const std::uint64_t bits = load_be(payload.data() + i * nb, nb);
  switch (type) {
    case 0x08:
      return static_cast<double>(static_cast<std::uint8_t>(bits));
    case 0x09:
      return static_cast<double>(static_cast<std::int8_t>(bits));
    case 0x0B:
      return static_cast<double>(static_cast<std::int16_t>(bits));
    case 0x0C:
      return static_cast<double>(static_cast<std::int32_t>(bits));
    case 0x0D: {
      const auto u = static_cast<std::uint32_t>(bits);
      float f;
      std::memcpy(&f, &u, 4);
      return f;
    }
    case 0x0E: {
      double d;
      std::memcpy(&d, &bits, 8);
      return d;
    }
  }
  return 0.0;
}

IdxArray parse_idx(std::vector<std::uint8_t> bytes, const std::string& path) {
  DP_USER_CHECK(!bytes.empty(), path, ": empty file (0 bytes), not an IDX array");
  DP_USER_CHECK(bytes.size() >= 4, path, ": not an IDX file (", bytes.size(), " bytes, header needs 4)");
  DP_USER_CHECK(bytes[0] == 0 && bytes[1] == 0, path,
                ": not an IDX file (bad magic: first two bytes must be zero)");
  IdxArray a;
  a.path = path;
  a.type = bytes[2];
  const int elem = idx_type_nbytes(a.type);
  DP_USER_CHECK(elem > 0, path, ": unknown IDX data type 0x", std::hex, int{a.type});
  const int ndims = bytes[3];
  DP_USER_CHECK(ndims >= 1, path, ": IDX header declares 0 dimensions");
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(ndims);
  DP_USER_CHECK(bytes.size() >= header, path, ": truncated IDX header (", ndims, " dimensions need ", header,
                " bytes, file has ", bytes.size(), ")");
  // Invariant: n * elem <= payload_nbytes, so the division below cannot be by zero and
  // the product never overflows (no header field is trusted before this check).
  const std::uint64_t payload_nbytes = bytes.size() - header;
  // Zero dimensions first: a later 0 must not be reported as missing data.
  for (int d = 0; d < ndims; ++d)
    DP_USER_CHECK(load_be(bytes.data() + 4 + 4 * d, 4) > 0, path, ": IDX dimension ", d, " is 0");
  std::uint64_t n = 1;
  for (int d = 0; d < ndims; ++d) {
    const std::uint64_t dim = load_be(bytes.data() + 4 + 4 * d, 4);
    DP_USER_CHECK(dim <= payload_nbytes / (n * static_cast<std::uint64_t>(elem)), path,
                  ": truncated IDX file (header declares more data than the ", payload_nbytes,
                  " bytes present)");
    a.dims.push_back(static_cast<std::int64_t>(dim));
    n *= dim;
  }
  const std::uint64_t expect = n * static_cast<std::uint64_t>(elem);
  DP_USER_CHECK(expect == payload_nbytes, path, ": IDX file has ", payload_nbytes - expect,
                " bytes beyond the declared data (wrong header?)");
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header));
  a.payload = std::move(bytes);
  return a;
}

IdxArray read_idx(const std::string& path) {
  return parse_idx(read_file_bytes(path), path);
}

}  // namespace dp
