#include "src/data/batch.h"

#include "kernels/gather.h"
#include "src/util/check.h"

namespace dp {

void reserve_batch(const Dataset& ds, std::int64_t capacity, Batch* b) {
  b->rows = 0;
  b->x.assign(static_cast<std::size_t>(capacity * ds.features), 0.0f);
  b->labels.assign(ds.is_classification() ? static_cast<std::size_t>(capacity) : 0, 0);
  b->y.assign(static_cast<std::size_t>(capacity * ds.target_dim), 0.0f);
}

void gather_batch(const Dataset& ds, const std::int64_t* indices, std::int64_t rows, Batch* b) {
  const auto d = static_cast<std::size_t>(ds.features);
  DP_CHECK(static_cast<std::size_t>(rows) * d <= b->x.size(), "gather_batch: ", rows,
           " rows exceed the reserved capacity");
  // The CPU twin of the gather kernel (the indices come from the sampler: in range).
  kernels::cpu::gather_rows(ds.x.data(), ds.features, indices, rows, b->x.data());
  if (ds.is_classification())
    kernels::cpu::gather_rows(ds.labels.data(), 1, indices, rows, b->labels.data());
  else
    kernels::cpu::gather_rows(ds.y.data(), ds.target_dim, indices, rows, b->y.data());
  b->rows = rows;
}

}  // namespace dp
