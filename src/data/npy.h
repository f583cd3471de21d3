// NPY files (numpy.save): "\x93NUMPY" v1/v2/v3, a Python-literal header dict
//   {'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }
// then the raw data. We read C-order, little-endian arrays of these dtypes:
//   '<f4' '<f8' (features, regression targets), '|u1' '|i1' '<i2' '<u2' '<i4' '<u4'
//   '<i8' '<u8' (class labels). Anything else is refused with a message naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dp {

struct NpyArray {
  std::string descr;                // e.g. "<f4"
  std::vector<std::int64_t> shape;  // () for a scalar
  std::vector<std::uint8_t> data;   // raw little-endian elements
  std::string path;

  std::int64_t count() const;  // product of shape (1 for a scalar)
  bool is_float() const;       // f4 / f8
  bool is_integer() const;
  double at(std::int64_t i) const;  // element i converted to double
};

NpyArray read_npy(const std::string& path);
NpyArray parse_npy(const std::vector<std::uint8_t>& bytes, const std::string& path);

// Writes a C-order array with descr '<f4', '<i4' or '<i8' (tests, examples, tools).
void write_npy(const std::string& path, const std::string& descr, const std::vector<std::int64_t>& shape,
               const void* data);

}  // namespace dp
