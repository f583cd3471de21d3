// A multi-layer perceptron with ReLU between layers; linreg is the case with no hidden
// layer. Forward and backward are explicit kernel calls over views of ONE flat parameter
// buffer and ONE flat gradient buffer (no autograd).
//
//   a_{-1} = x,  z_l = a_{l-1} · W_l^T + b_l,  a_l = relu(z_l) (l < L-1),  logits = z_{L-1}
//   W_l is [out_l, in_l] (the PyTorch nn.Linear layout), b_l is [out_l].
//
// Loss over a batch of b rows (the loss kind follows the targets):
//   softmax_xent:  L = (1/b) sum_i CE(z_i, y_i)
//   mse:           L = (1/(b*K)) sum_ij (z_ij - t_ij)^2     (PyTorch MSELoss, mean)
//
// Buffer order = the order backward produces gradients: the LAST layer first
// (layers.{L-1}.weight, layers.{L-1}.bias, ..., layers.0.weight, layers.0.bias), so a
// prefix of the gradient buffer is complete while backward still runs on lower layers.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/backend.h"
#include "src/data/batch.h"
#include "src/tensor/buffer.h"
#include "src/tensor/layout.h"

namespace dp {

enum class LossKind { softmax_xent, mse };

struct EvalSums {
  double loss_sum = 0.0;     // sum over rows of the per-row loss (mse: per-row mean over K)
  std::int64_t correct = 0;  // classification only
  std::int64_t rows = 0;
};

class Mlp {
 public:
  // Activations and scratch live in the memory of `backend`; every pointer passed to the
  // methods below (params, grads, batch rows) must too.
  Mlp(std::int64_t in_features, std::vector<std::int64_t> hidden, std::int64_t out_features, LossKind loss,
      std::int64_t max_rows, Backend backend = Backend::cpu);

  const ParamLayout& layout() const { return layout_; }
  std::int64_t param_count() const { return layout_.param_count(); }    // the model's parameters
  std::int64_t buffer_count() const { return layout_.buffer_count(); }  // elements of params/grads buffers
  std::int64_t num_layers() const { return static_cast<std::int64_t>(widths_.size()) - 1; }
  LossKind loss_kind() const { return loss_; }
  // widths: in_features, hidden..., out_features
  const std::vector<std::int64_t>& widths() const { return widths_; }

  // Kaiming-uniform as torch.nn.Linear does: W, b ~ U(-1/sqrt(in), 1/sqrt(in)), each
  // tensor from its own stream of (seed, layer, kind), so the result is independent of
  // the buffer order. h_params is host memory of buffer_count() elements (the caller
  // uploads it); the gaps between tensors are set to zero.
  void init(float* h_params, std::uint64_t seed) const;

  // Forward + loss + backward on one batch. Writes d(L)/d(params) into grads (every tensor,
  // overwritten; the layout's gaps are never written, so they keep their zeros; with accumulate, added to
  // what grads holds) and returns L (the batch mean defined above). grads_ready(end), if given, is called as
  // soon as grads[0, end) is final: after each layer's weight and bias gradients, last layer first (and after
  // each row block of a weight cut by set_ready_points), so a gradient all-reduce can
  // start on them while backward continues below.
  //
  // loss_out (one float in the backend's memory), if given: L is ADDED to loss_out[0] on
  // the backend instead of being returned (the return value is then NaN), so the step
  // needs no synchronisation with the device for its loss.
  double forward_backward(const kernels::Context& ctx, const float* params, const BatchRef& batch,
                          float* grads, bool accumulate = false,
                          const std::function<void(std::int64_t end)>& grads_ready = nullptr,
                          float* loss_out = nullptr);
  double forward_backward(const kernels::Context& ctx, const float* params, const Batch& batch, float* grads,
                          bool accumulate = false,
                          const std::function<void(std::int64_t end)>& grads_ready = nullptr) {
    return forward_backward(ctx, params, host_ref(batch), grads, accumulate, grads_ready);
  }

  // Where a gradient all-reduce bucket ends (element offsets into the gradient buffer,
  // e.g. every bucket's end): backward then computes a layer's weight gradient in row
  // blocks cut just after each such offset and calls grads_ready after each block, so a
  // bucket that ends inside a large weight is reduced while the rest of that weight's
  // gradient is still being computed. Empty (the default): one block per weight. The
  // blocks only split the rows of one GEMM, so every gradient element is the same dot
  // product over the batch (whether a BLAS sums it bit-identically for other row counts
  // is up to it; the overlap tests compare within the golden tolerance).
  void set_ready_points(std::vector<std::int64_t> ends);

  // Forward only: sums for evaluation.
  EvalSums evaluate(const kernels::Context& ctx, const float* params, const BatchRef& batch);
  EvalSums evaluate(const kernels::Context& ctx, const float* params, const Batch& batch) {
    return evaluate(ctx, params, host_ref(batch));
  }

  // Forward only: out[rows, out_features] = the model's output (logits or predictions).
  // Returns a pointer into internal storage, valid until the next call.
  const float* forward(const kernels::Context& ctx, const float* params, const float* x, std::int64_t rows);

 private:
  const TensorView& weight(std::int64_t l) const { return layout_.tensors()[w_index_[l]]; }
  const TensorView& bias(std::int64_t l) const { return layout_.tensors()[b_index_[l]]; }
  // dW[r0, r1) = dz^T[r0:r1, rows] · in[rows, n_in] for layer l.
  void weight_grad_rows(const kernels::Context& ctx, std::int64_t l, const float* dz, const float* in,
                        std::int64_t rows, std::int64_t r0, std::int64_t r1, float* grads,
                        bool accumulate) const;

  std::vector<std::int64_t> widths_;
  LossKind loss_;
  std::int64_t max_rows_;
  ParamLayout layout_;
  std::vector<std::size_t> w_index_, b_index_;  // per layer, into layout_.tensors()
  std::vector<std::int64_t> ready_points_;      // sorted, unique (set_ready_points)
  std::vector<Array<float>> acts_;              // a_l, [max_rows, out_l]
  Array<float> grad_a_, grad_b_;                // ping-pong dz scratch, [max_rows, max width]
  Array<float> row_losses_;                     // [max_rows]
};

}  // namespace dp
