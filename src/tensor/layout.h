// Named views into ONE flat buffer. Parameters, gradients and both Adam moments share
// the same layout, so tensor t occupies [offset, offset + count) in each of them and the
// optimizer is a single pass over the whole buffer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dp {

struct TensorView {
  std::string name;                 // e.g. "layers.0.weight"
  std::vector<std::int64_t> shape;  // e.g. {out, in}
  std::int64_t offset = 0;          // in elements
  std::int64_t count = 0;           // product of shape
};

class ParamLayout {
 public:
  // Appends a tensor at the current end of the buffer and returns its index.
  std::size_t add(const std::string& name, std::vector<std::int64_t> shape);
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView& find(const std::string& name) const;  // DP_CHECKs that it exists
  std::int64_t total_count() const { return total_; }

 private:
  std::vector<TensorView> tensors_;
  std::int64_t total_ = 0;
};

}  // namespace dp
