#include "src/data/batch.h"

#include <cstring>

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
  const auto k = static_cast<std::size_t>(ds.target_dim);
  DP_CHECK(static_cast<std::size_t>(rows) * d <= b->x.size(), "gather_batch: ", rows,
           " rows exceed the reserved capacity");
  for (std::int64_t i = 0; i < rows; ++i) {
    const auto src = static_cast<std::size_t>(indices[i]);
    const auto dst = static_cast<std::size_t>(i);
    std::memcpy(b->x.data() + dst * d, ds.x.data() + src * d, d * sizeof(float));
    if (ds.is_classification())
      b->labels[dst] = ds.labels[src];
    else
      std::memcpy(b->y.data() + dst * k, ds.y.data() + src * k, k * sizeof(float));
  }
  b->rows = rows;
}

}  // namespace dp
