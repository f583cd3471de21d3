#include "src/data/batch_loader.h"

#include <algorithm>
#include <utility>

#include "kernels/device.h"
#include "kernels/gather.h"
#include "src/util/check.h"

namespace dp {

const char* batch_mode_name(BatchMode mode) {
  switch (mode) {
    case BatchMode::host:
      return "host";
    case BatchMode::resident:
      return "resident";
    case BatchMode::stream:
      return "stream";
  }
  return "?";
}

BatchMode choose_batch_mode(Backend backend, const Dataset& ds, const std::string& requested) {
  if (backend == Backend::cpu) return BatchMode::host;
  if (requested == "resident") return BatchMode::resident;
  if (requested == "stream") return BatchMode::stream;
  const double nbytes = static_cast<double>(ds.x.size() + ds.y.size() + ds.labels.size()) * 4.0;
  return nbytes <= 0.25 * static_cast<double>(device::free_nbytes()) ? BatchMode::resident
                                                                     : BatchMode::stream;
}

BatchLoader::BatchLoader(const Dataset& ds, std::int64_t capacity_rows, BatchMode mode,
                         const kernels::Context& ctx)
    : ds_(&ds), mode_(mode), ctx_(ctx), capacity_(capacity_rows) {
  const Backend b = ctx.backend;
  const bool classify = ds.is_classification();
  switch (mode_) {
    case BatchMode::host:
      DP_CHECK(b == Backend::cpu, "BatchLoader: host mode on a device backend");
      reserve_batch(ds, capacity_rows, &host_);
      return;
    case BatchMode::resident:
      d_table_x_ = Array<float>(b, static_cast<std::int64_t>(ds.x.size()));
      d_table_x_.upload(ds.x, ctx_);
      if (classify) {
        d_table_labels_ = Array<std::int32_t>(b, static_cast<std::int64_t>(ds.labels.size()));
        d_table_labels_.upload(ds.labels, ctx_);
      } else {
        d_table_y_ = Array<float>(b, static_cast<std::int64_t>(ds.y.size()));
        d_table_y_.upload(ds.y, ctx_);
      }
      d_index_ = Array<std::int64_t>(b, capacity_rows);
      // The indices go up from pinned memory: a copy from pageable memory may wait for
      // the stream to drain, which would stall the host on the previous step's kernels.
      h_index_ = static_cast<std::int64_t*>(
          device::alloc_pinned(static_cast<std::size_t>(capacity_rows) * sizeof(std::int64_t)));
      copied_ = device::event_create();
      device::event_record(copied_, ctx_.stream);
      break;
    case BatchMode::stream:
      h_x_ = static_cast<float*>(
          device::alloc_pinned(static_cast<std::size_t>(capacity_rows * ds.features) * 4));
      if (classify)
        h_labels_ =
            static_cast<std::int32_t*>(device::alloc_pinned(static_cast<std::size_t>(capacity_rows) * 4));
      else
        h_y_ = static_cast<float*>(
            device::alloc_pinned(static_cast<std::size_t>(capacity_rows * ds.target_dim) * 4));
      copied_ = device::event_create();
      device::event_record(copied_, ctx_.stream);
      break;
  }
  d_x_ = Array<float>(b, capacity_rows * ds.features);
  if (classify)
    d_labels_ = Array<std::int32_t>(b, capacity_rows);
  else
    d_y_ = Array<float>(b, capacity_rows * ds.target_dim);
  device::synchronize(ctx_.stream);  // the tables are in place before the first step
}

BatchLoader::~BatchLoader() {
  release();
}

void BatchLoader::release() noexcept {
  if (copied_) device::event_destroy(copied_);
  device::release_pinned(h_x_);
  device::release_pinned(h_y_);
  device::release_pinned(h_labels_);
  device::release_pinned(h_index_);
  copied_ = nullptr;
  h_index_ = nullptr;
  h_x_ = h_y_ = nullptr;
  h_labels_ = nullptr;
}

BatchLoader::BatchLoader(BatchLoader&& other) noexcept {
  *this = std::move(other);
}

BatchLoader& BatchLoader::operator=(BatchLoader&& o) noexcept {
  if (this == &o) return *this;
  release();
  ds_ = o.ds_;
  mode_ = o.mode_;
  ctx_ = o.ctx_;
  capacity_ = o.capacity_;
  host_ = std::move(o.host_);
  d_table_x_ = std::move(o.d_table_x_);
  d_table_y_ = std::move(o.d_table_y_);
  d_table_labels_ = std::move(o.d_table_labels_);
  d_index_ = std::move(o.d_index_);
  d_x_ = std::move(o.d_x_);
  d_y_ = std::move(o.d_y_);
  d_labels_ = std::move(o.d_labels_);
  h_x_ = std::exchange(o.h_x_, nullptr);
  h_y_ = std::exchange(o.h_y_, nullptr);
  h_labels_ = std::exchange(o.h_labels_, nullptr);
  h_index_ = std::exchange(o.h_index_, nullptr);
  copied_ = std::exchange(o.copied_, nullptr);
  return *this;
}

BatchRef BatchLoader::load(const std::int64_t* h_indices, std::int64_t rows) {
  DP_CHECK(ds_ && rows >= 0 && rows <= capacity_, "BatchLoader::load: ", rows, " rows, capacity ", capacity_);
  const Dataset& ds = *ds_;
  const bool classify = ds.is_classification();
  if (mode_ == BatchMode::host) {
    gather_batch(ds, h_indices, rows, &host_);
    return host_ref(host_);
  }
  for (std::int64_t i = 0; i < rows; ++i)
    DP_CHECK(h_indices[i] >= 0 && h_indices[i] < ds.count, "BatchLoader::load: index ", h_indices[i],
             " outside the ", ds.count, " samples");
  if (mode_ == BatchMode::resident) {
    device::event_wait_host(copied_);  // the previous copy has read the pinned indices
    std::copy(h_indices, h_indices + rows, h_index_);
    d_index_.upload(h_index_, rows, ctx_);
    device::event_record(copied_, ctx_.stream);
    kernels::gather_rows(ctx_, d_table_x_.data(), ds.count, ds.features, d_index_.data(), rows, d_x_.data());
    if (classify)
      kernels::gather_rows(ctx_, d_table_labels_.data(), ds.count, 1, d_index_.data(), rows,
                           d_labels_.data());
    else
      kernels::gather_rows(ctx_, d_table_y_.data(), ds.count, ds.target_dim, d_index_.data(), rows,
                           d_y_.data());
  } else {
    device::event_wait_host(copied_);  // the previous copy has read the pinned rows
    // The CPU gather into pinned memory (the indices were checked above).
    kernels::cpu::gather_rows(ds.x.data(), ds.features, h_indices, rows, h_x_);
    d_x_.upload(h_x_, rows * ds.features, ctx_);
    if (classify) {
      kernels::cpu::gather_rows(ds.labels.data(), 1, h_indices, rows, h_labels_);
      d_labels_.upload(h_labels_, rows, ctx_);
    } else {
      kernels::cpu::gather_rows(ds.y.data(), ds.target_dim, h_indices, rows, h_y_);
      d_y_.upload(h_y_, rows * ds.target_dim, ctx_);
    }
    device::event_record(copied_, ctx_.stream);
  }
  BatchRef ref;
  ref.rows = rows;
  ref.x = d_x_.data();
  ref.labels = classify ? d_labels_.data() : nullptr;
  ref.y = classify ? nullptr : d_y_.data();
  return ref;
}

}  // namespace dp
