#include "src/tensor/layout.h"

#include <algorithm>

#include "src/util/check.h"

namespace dp {

ParamLayout::ParamLayout(std::int64_t align_count) : align_(align_count) {
  DP_CHECK(align_count >= 1, "ParamLayout: alignment of ", align_count, " elements");
}

std::size_t ParamLayout::add(const std::string& name, std::vector<std::int64_t> shape) {
  TensorView t;
  t.name = name;
  t.count = 1;
  for (auto d : shape) {
    DP_CHECK(d > 0, "tensor ", name, ": dimension ", d);
    t.count *= d;
  }
  t.shape = std::move(shape);
  t.offset = (end_ + align_ - 1) / align_ * align_;
  end_ = t.offset + t.count;
  params_ += t.count;
  tensors_.push_back(std::move(t));
  return tensors_.size() - 1;
}

const TensorView& ParamLayout::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return t;
  check_failed(__FILE__, __LINE__, "find", concat("no tensor named ", name));
}

ParamLayout ParamLayout::packed() const {
  ParamLayout out(1);
  for (const auto& t : tensors_) out.add(t.name, t.shape);
  return out;
}

std::vector<float> ParamLayout::pack(const float* buffer) const {
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(params_));
  for (const auto& t : tensors_) out.insert(out.end(), buffer + t.offset, buffer + t.offset + t.count);
  return out;
}

std::vector<float> ParamLayout::unpack(const std::vector<float>& packed) const {
  DP_CHECK(static_cast<std::int64_t>(packed.size()) == params_, "ParamLayout::unpack: ", packed.size(),
           " values for ", params_, " parameters");
  std::vector<float> out(static_cast<std::size_t>(end_), 0.0f);
  auto from = packed.begin();
  for (const auto& t : tensors_) {
    std::copy(from, from + t.count, out.begin() + t.offset);
    from += t.count;
  }
  return out;
}

}  // namespace dp
