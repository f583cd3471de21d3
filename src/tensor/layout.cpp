#include "src/tensor/layout.h"

#include "src/util/check.h"

namespace dp {

std::size_t ParamLayout::add(const std::string& name, std::vector<std::int64_t> shape) {
  TensorView t;
  t.name = name;
  t.count = 1;
  for (auto d : shape) {
    DP_CHECK(d > 0, "tensor ", name, ": dimension ", d);
    t.count *= d;
  }
  t.shape = std::move(shape);
  t.offset = total_;
  total_ += t.count;
  tensors_.push_back(std::move(t));
  return tensors_.size() - 1;
}

const TensorView& ParamLayout::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return t;
  check_failed(__FILE__, __LINE__, "find", concat("no tensor named ", name));
}

}  // namespace dp
