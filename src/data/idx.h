// IDX files (the MNIST family): big-endian header
//   0x00 0x00 <type> <ndims>   then ndims uint32 dimensions, then the data, big-endian.
//   type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
// Raw or gzip-compressed (detected from the content, not the name).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dp {

struct IdxArray {
  std::uint8_t type = 0;
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> payload;  // the data section, still big-endian
  std::string path;

  std::int64_t count() const;  // product of dims
  // Element i converted to double.
  double at(std::int64_t i) const;
};

// Bytes per element of an IDX type code; 0 for an unknown code.
int idx_type_nbytes(std::uint8_t type);

// Throws UserError naming the file on a bad magic, unknown type, zero dimensions, or a
// payload whose size differs from the product of the dimensions (truncated or extra bytes).
IdxArray read_idx(const std::string& path);
// Parses from memory (the unit of fuzzing); `path` only names the source in messages.
IdxArray parse_idx(std::vector<std::uint8_t> bytes, const std::string& path);

}  // namespace dp
