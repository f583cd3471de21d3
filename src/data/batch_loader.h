// BatchLoader: the rows of a batch, given their sample indices, where the model's backend
// reads them. One loader per data split, buffers allocated once at the largest batch.
//
//   host      (CPU backend)  rows gathered into host buffers; the model reads them there.
//   resident  (CUDA, default when the split fits: Fashion-MNIST's 188 MB does) the whole
//             split is copied to the GPU once; a batch is a gather kernel over it, and only
//             the indices (8 bytes a row, staged in pinned memory) cross the bus each step.
//   stream    (CUDA, splits too large for the GPU, or --gpu-data stream) rows gathered on
//             the host into pinned buffers, then one async copy on the compute stream; an
//             event guards the pinned buffers until that copy has read them.
// Everything runs on ctx.stream, so a batch is ordered before the kernels that read it.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/backend.h"
#include "src/data/batch.h"
#include "src/data/dataset.h"
#include "src/tensor/buffer.h"

namespace dp {

enum class BatchMode { host, resident, stream };

// resident if the split takes at most a quarter of the free device memory; else stream.
// requested: "auto", "resident" or "stream" (--gpu-data); CPU backend: always host.
BatchMode choose_batch_mode(Backend backend, const Dataset& ds, const std::string& requested);
const char* batch_mode_name(BatchMode mode);

class BatchLoader {
 public:
  BatchLoader() = default;
  BatchLoader(const Dataset& ds, std::int64_t capacity_rows, BatchMode mode, const kernels::Context& ctx);
  ~BatchLoader();
  BatchLoader(BatchLoader&& other) noexcept;
  BatchLoader& operator=(BatchLoader&& other) noexcept;
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Rows ds[h_indices[0..rows)]; the pointers stay valid until the next load().
  BatchRef load(const std::int64_t* h_indices, std::int64_t rows);
  BatchMode mode() const { return mode_; }

 private:
  void release() noexcept;

  const Dataset* ds_ = nullptr;
  BatchMode mode_ = BatchMode::host;
  kernels::Context ctx_;
  std::int64_t capacity_ = 0;
  Batch host_;  // host mode
  // resident: the split on the device, the batch's indices, the gathered rows
  Array<float> d_table_x_, d_table_y_;
  Array<std::int32_t> d_table_labels_;
  Array<std::int64_t> d_index_;
  Array<float> d_x_, d_y_;
  Array<std::int32_t> d_labels_;
  // stream (rows) and resident (indices): pinned staging and the event that says the last
  // copy out of it is done
  float* h_x_ = nullptr;
  float* h_y_ = nullptr;
  std::int32_t* h_labels_ = nullptr;
  std::int64_t* h_index_ = nullptr;
  void* copied_ = nullptr;
};

}  // namespace dp
