// A batch gathered from a Dataset into contiguous host buffers (allocated once at the
// largest batch size and reused every step).
#pragma once

#include <cstdint>
#include <vector>

#include "src/data/dataset.h"

namespace dp {

struct Batch {
  std::int64_t rows = 0;
  std::vector<float> x;              // [capacity, features]
  std::vector<std::int32_t> labels;  // [capacity] (classification)
  std::vector<float> y;              // [capacity, target_dim] (regression)
};

// The rows of a batch as pointers in the memory of one backend: the host Batch itself on
// the CPU backend, device copies on the CUDA backend (src/data/staged_batch.h).
struct BatchRef {
  std::int64_t rows = 0;
  const float* x = nullptr;              // [rows, features]
  const std::int32_t* labels = nullptr;  // [rows] (classification)
  const float* y = nullptr;              // [rows, target_dim] (regression)
};
inline BatchRef host_ref(const Batch& b) {
  return {b.rows, b.x.data(), b.labels.data(), b.y.data()};
}

// Sizes the buffers for `capacity` rows of `ds`.
void reserve_batch(const Dataset& ds, std::int64_t capacity, Batch* batch);
// batch rows i = ds sample indices[i], i in [0, rows). rows <= the reserved capacity.
void gather_batch(const Dataset& ds, const std::int64_t* indices, std::int64_t rows, Batch* batch);

}  // namespace dp
