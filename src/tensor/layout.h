// Named views into ONE flat buffer. Parameters, gradients and both Adam moments share
// the same layout, so tensor t occupies [offset, offset + count) in each of them and the
// optimizer is a single pass over the whole buffer.
//
// Every tensor starts at a multiple of align_count elements (default kTensorAlignCount:
// 256 bytes of floats). The buffers themselves are 256-byte aligned (cudaMalloc; the
// CPU's allocator gives at least 16), so each tensor pointer has the alignment that
// cuBLAS and cuBLASLt want for vectorised loads and their fused bias epilogues (16 bytes
// at least, 256 assumed by cuBLASLt's heuristics unless told otherwise). The gaps
// between tensors (at most align_count - 1 elements each) hold zeros in every buffer
// and stay zero: a zero gradient gives a zero Adam update, and weight decay of zero is
// zero. Files hold the tensors packed, without gaps (pack/unpack, packed()).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dp {

// 64 floats = 256 bytes: the alignment cudaMalloc returns and cuBLASLt assumes.
inline constexpr std::int64_t kTensorAlignCount = 64;

struct TensorView {
  std::string name;                 // e.g. "layers.0.weight"
  std::vector<std::int64_t> shape;  // e.g. {out, in}
  std::int64_t offset = 0;          // in elements
  std::int64_t count = 0;           // product of shape
};

class ParamLayout {
 public:
  explicit ParamLayout(std::int64_t align_count = kTensorAlignCount);
  // Appends a tensor at the first multiple of align_count at or after the end of the
  // previous one and returns its index.
  std::size_t add(const std::string& name, std::vector<std::int64_t> shape);
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView& find(const std::string& name) const;  // DP_CHECKs that it exists
  // Elements of the flat buffer: the end of the last tensor (gaps included; no gap after it).
  std::int64_t buffer_count() const { return end_; }
  // Elements of all tensors (the model's parameters), gaps excluded.
  std::int64_t param_count() const { return params_; }

  // The same tensors in the same order without gaps (align_count 1): the layout of files.
  ParamLayout packed() const;
  // buffer (buffer_count elements) -> the tensors back to back (param_count elements).
  std::vector<float> pack(const float* buffer) const;
  // The inverse: param_count elements -> buffer_count elements, zero in the gaps.
  std::vector<float> unpack(const std::vector<float>& packed) const;

 private:
  std::vector<TensorView> tensors_;
  std::int64_t align_ = kTensorAlignCount;
  std::int64_t end_ = 0;
  std::int64_t params_ = 0;
};

}  // namespace dp
