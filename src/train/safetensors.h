// The safetensors format: an 8-byte little-endian header length n, n bytes of JSON
//   {"layers.0.weight": {"dtype": "F32", "shape": [256, 784], "data_offsets": [b, e]}, ...,
//    "__metadata__": {"key": "value", ...}}
// (padded with spaces to a multiple of 8), then the tensor bytes; offsets are relative to
// the end of the header. Loadable with safetensors.torch.load_file / safe_open, or by hand.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "src/tensor/layout.h"

namespace dp {

struct NamedTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> data;
};

// Writes the float32 tensors of `layout` (views into `values`) in layers.0, layers.1, ...
// order. Written to PATH.tmp, flushed, then renamed over PATH (never a half-written file).
// Throws UserError naming `flag` and the file when it cannot be written.
void write_safetensors(const std::string& path, const ParamLayout& layout, const float* values,
                       const std::map<std::string, std::string>& metadata, const char* flag = "--export");

// Reads an F32 safetensors file, tensors in file order; every header field is checked
// against the file size, and the tensors must cover the data section without holes or
// overlaps. Throws UserError naming the file on any problem.
std::vector<NamedTensor> read_safetensors(const std::string& path,
                                          std::map<std::string, std::string>* metadata = nullptr);
// The same from the file's bytes in memory (the unit of fuzzing); `path` only names the
// source in messages.
std::vector<NamedTensor> parse_safetensors(const std::vector<std::uint8_t>& bytes, const std::string& path,
                                           std::map<std::string, std::string>* metadata = nullptr);

}  // namespace dp
