#include "src/model/mlp.h"

#include <algorithm>
#include <cmath>

#include "kernels/accuracy.h"
#include "kernels/bias.h"
#include "kernels/gemm.h"
#include "kernels/linear.h"
#include "kernels/loss_rows.h"
#include "kernels/mse.h"
#include "kernels/relu.h"
#include "kernels/softmax_xent.h"
#include "src/util/check.h"
#include "src/util/rng.h"

namespace dp {

using kernels::Trans;

Mlp::Mlp(std::int64_t in_features, std::vector<std::int64_t> hidden, std::int64_t out_features, LossKind loss,
         std::int64_t max_rows, Backend backend)
    : loss_(loss), max_rows_(max_rows) {
  DP_CHECK(in_features > 0 && out_features > 0 && max_rows > 0, "mlp: in=", in_features,
           " out=", out_features, " rows=", max_rows);
  widths_.push_back(in_features);
  for (auto h : hidden) {
    DP_USER_CHECK(h > 0, "--hidden: layer widths must be positive, got ", h);
    widths_.push_back(h);
  }
  widths_.push_back(out_features);
  const std::int64_t layers = num_layers();
  w_index_.resize(static_cast<std::size_t>(layers));
  b_index_.resize(static_cast<std::size_t>(layers));
  // Backward order: last layer first, weight then bias (see the header).
  for (std::int64_t l = layers - 1; l >= 0; --l) {
    const std::string prefix = "layers." + std::to_string(l) + ".";
    const auto in = widths_[static_cast<std::size_t>(l)], out = widths_[static_cast<std::size_t>(l + 1)];
    w_index_[static_cast<std::size_t>(l)] = layout_.add(prefix + "weight", {out, in});
    b_index_[static_cast<std::size_t>(l)] = layout_.add(prefix + "bias", {out});
  }
  std::int64_t max_width = 0;
  for (std::int64_t l = 0; l < layers; ++l) {
    const auto out = widths_[static_cast<std::size_t>(l + 1)];
    acts_.emplace_back(backend, max_rows * out);
    max_width = std::max(max_width, widths_[static_cast<std::size_t>(l)]);
  }
  grad_a_ = Array<float>(backend, max_rows * max_width);
  grad_b_ = Array<float>(backend, max_rows * max_width);
  row_losses_ = Array<float>(backend, max_rows);
}

void Mlp::init(float* h_params, std::uint64_t seed) const {
  std::fill(h_params, h_params + buffer_count(), 0.0f);  // the layout's gaps
  for (std::int64_t l = 0; l < num_layers(); ++l) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(widths_[static_cast<std::size_t>(l)]));
    for (int kind = 0; kind < 2; ++kind) {
      const TensorView& t = kind == 0 ? weight(l) : bias(l);
      Rng rng(mix_seed(mix_seed(seed, static_cast<std::uint64_t>(l)), static_cast<std::uint64_t>(kind)));
      for (std::int64_t i = 0; i < t.count; ++i)
        h_params[t.offset + i] = static_cast<float>(rng.uniform(-bound, bound));
    }
  }
}

const float* Mlp::forward(const kernels::Context& ctx, const float* params, const float* x,
                          std::int64_t rows) {
  DP_CHECK(rows >= 1 && rows <= max_rows_, "mlp forward: ", rows, " rows, capacity ", max_rows_);
  const std::int64_t layers = num_layers();
  const float* in = x;
  for (std::int64_t l = 0; l < layers; ++l) {
    const auto n_in = widths_[static_cast<std::size_t>(l)], n_out = widths_[static_cast<std::size_t>(l + 1)];
    float* z = acts_[static_cast<std::size_t>(l)].data();
    // z[rows, out] = act(in[rows, in] · W^T + b), ReLU except on the last layer (one fused
    // cuBLASLt call on the GPU; gemm + bias_add + relu_forward on the CPU).
    kernels::linear_forward(ctx, in, params + weight(l).offset, params + bias(l).offset, z, rows, n_in, n_out,
                            l + 1 < layers);
    in = z;
  }
  return in;
}

double Mlp::forward_backward(const kernels::Context& ctx, const float* params, const BatchRef& batch,
                             float* grads, bool accumulate,
                             const std::function<void(std::int64_t end)>& grads_ready, float* loss_out) {
  const std::int64_t rows = batch.rows;
  const std::int64_t layers = num_layers();
  const std::int64_t k = widths_.back();
  forward(ctx, params, batch.x, rows);

  // dL/dz_{L-1}, written over the logits (they are not needed afterwards).
  float* dz = acts_.back().data();
  double loss = 0.0;
  if (loss_out) {
    // The loss stays on the backend: per-row losses, then their mean added to loss_out.
    const std::int64_t terms = loss_ == LossKind::softmax_xent ? rows : rows * k;
    const float scale = 1.0f / static_cast<float>(terms);
    if (loss_ == LossKind::softmax_xent)
      kernels::softmax_xent_rows(ctx, dz, batch.labels, scale, row_losses_.data(), dz, rows, k);
    else
      kernels::mse_rows(ctx, dz, batch.y, scale, row_losses_.data(), dz, rows, k);
    kernels::accumulate_sum(ctx, row_losses_.data(), rows, 1.0 / static_cast<double>(terms), loss_out,
                            /*accumulate=*/true);
    loss = std::nan("");
  } else if (loss_ == LossKind::softmax_xent) {
    const float scale = 1.0f / static_cast<float>(rows);
    loss = kernels::softmax_xent_forward_backward(ctx, dz, batch.labels, scale, row_losses_.data(), dz, rows,
                                                  k) /
           static_cast<double>(rows);
  } else {
    const float scale = 1.0f / static_cast<float>(rows * k);
    loss = kernels::mse_forward_backward(ctx, dz, batch.y, scale, row_losses_.data(), dz, rows, k) /
           static_cast<double>(rows * k);
  }

  float* scratch[2] = {grad_a_.data(), grad_b_.data()};
  for (std::int64_t l = layers - 1; l >= 0; --l) {
    const auto n_in = widths_[static_cast<std::size_t>(l)], n_out = widths_[static_cast<std::size_t>(l + 1)];
    const float* in = l == 0 ? batch.x : acts_[static_cast<std::size_t>(l - 1)].data();
    // dW[out, in] = dz^T[out, rows] · in[rows, in] ;  db = column sums of dz
    // With ready points inside W (and someone to tell), in row blocks: block [r0, r1) ends
    // at the first row boundary at or after a ready point, so the bucket ending there is
    // complete when grads_ready(offset + r1 * n_in) is called.
    const std::int64_t w_begin = weight(l).offset, w_end = w_begin + n_out * n_in;
    std::int64_t r0 = 0;
    if (grads_ready) {
      auto it = std::upper_bound(ready_points_.begin(), ready_points_.end(), w_begin);
      for (; it != ready_points_.end() && *it < w_end; ++it) {
        const std::int64_t r1 = (*it - w_begin + n_in - 1) / n_in;  // ceil: the row holding *it - 1, plus one
        if (r1 <= r0 || r1 >= n_out) continue;
        weight_grad_rows(ctx, l, dz, in, rows, r0, r1, grads, accumulate);
        grads_ready(w_begin + r1 * n_in);
        r0 = r1;
      }
    }
    weight_grad_rows(ctx, l, dz, in, rows, r0, n_out, grads, accumulate);
    kernels::bias_backward(ctx, dz, grads + bias(l).offset, rows, n_out, accumulate);
    // Layer l's tensors are the last of the buffer's finished prefix (backward order); the
    // alignment gap after its bias is final too (never written), so the prefix reaches the
    // next tensor and a bucket that ends inside that gap starts now.
    if (grads_ready) grads_ready(l > 0 ? weight(l - 1).offset : buffer_count());
    if (l == 0) break;
    // da_{l-1}[rows, in] = dz[rows, out] · W[out, in], then through the ReLU of a_{l-1}.
    float* da = scratch[l % 2];
    kernels::gemm(ctx, Trans::no, Trans::no, rows, n_in, n_out, 1.0f, dz, n_out, params + weight(l).offset,
                  n_in, 0.0f, da, n_in);
    kernels::relu_backward(ctx, acts_[static_cast<std::size_t>(l - 1)].data(), da, da, rows * n_in);
    dz = da;
  }
  return loss;
}

void Mlp::set_ready_points(std::vector<std::int64_t> ends) {
  std::sort(ends.begin(), ends.end());
  ends.erase(std::unique(ends.begin(), ends.end()), ends.end());
  ready_points_ = std::move(ends);
}

void Mlp::weight_grad_rows(const kernels::Context& ctx, std::int64_t l, const float* dz, const float* in,
                           std::int64_t rows, std::int64_t r0, std::int64_t r1, float* grads,
                           bool accumulate) const {
  const auto n_in = widths_[static_cast<std::size_t>(l)], n_out = widths_[static_cast<std::size_t>(l + 1)];
  // dz is [rows, n_out] row-major: its columns r0..r1 are dz + r0 with leading dimension n_out.
  kernels::gemm(ctx, Trans::yes, Trans::no, r1 - r0, n_in, rows, 1.0f, dz + r0, n_out, in, n_in,
                accumulate ? 1.0f : 0.0f, grads + weight(l).offset + r0 * n_in, n_in);
}

EvalSums Mlp::evaluate(const kernels::Context& ctx, const float* params, const BatchRef& batch) {
  const std::int64_t rows = batch.rows;
  const std::int64_t k = widths_.back();
  const float* out = forward(ctx, params, batch.x, rows);
  EvalSums s;
  s.rows = rows;
  if (loss_ == LossKind::softmax_xent) {
    s.loss_sum = kernels::softmax_xent_forward(ctx, out, batch.labels, row_losses_.data(), rows, k);
    s.correct = kernels::count_correct(ctx, out, batch.labels, rows, k);
  } else {
    s.loss_sum =
        kernels::mse_forward(ctx, out, batch.y, row_losses_.data(), rows, k) / static_cast<double>(k);
  }
  return s;
}

}  // namespace dp
