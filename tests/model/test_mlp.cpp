// The MLP's backward pass against central finite differences of a double-precision
// re-implementation of the network that reads the same flat parameter buffer (through
// layout()), plus the layout order and init() properties the trainer relies on.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "src/data/batch.h"
#include "src/model/mlp.h"
#include "src/util/rng.h"
#include "tests/tolerance.h"

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
const dp::kernels::Context kCtx;

// Pre-activations closer than this to 0 would let a finite-difference step (which moves a
// pre-activation by ~h * |input| ~ 1e-5) cross the ReLU kink.
constexpr double kKinkMargin = 1e-3;

std::string layer_name(std::int64_t l, const char* kind) {
  return "layers." + std::to_string(l) + "." + kind;
}

// The network in double, from a flat parameter vector laid out as mlp.layout() says.
//   z_l = a_{l-1} W_l^T + b_l, a_l = relu(z_l) for l < L-1; loss on z_{L-1}.
struct RefNet {
  const dp::Mlp& mlp;
  const dp::Batch& batch;

  // Returns the batch-mean loss; optionally the hidden pre-activations.
  double loss(const std::vector<double>& params, std::vector<double>* hidden_preacts = nullptr) const {
    const auto& widths = mlp.widths();
    const std::int64_t rows = batch.rows;
    const std::int64_t layers = mlp.num_layers();
    std::vector<double> a(batch.x.begin(), batch.x.begin() + rows * widths[0]);
    for (std::int64_t l = 0; l < layers; ++l) {
      const std::int64_t n_in = widths[l], n_out = widths[l + 1];
      const dp::TensorView& w = mlp.layout().find(layer_name(l, "weight"));
      const dp::TensorView& b = mlp.layout().find(layer_name(l, "bias"));
      std::vector<double> z(static_cast<std::size_t>(rows * n_out));
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t o = 0; o < n_out; ++o) {
          double acc = params[b.offset + o];
          for (std::int64_t k = 0; k < n_in; ++k) acc += a[i * n_in + k] * params[w.offset + o * n_in + k];
          z[i * n_out + o] = acc;
        }
      if (l + 1 < layers) {
        if (hidden_preacts) hidden_preacts->insert(hidden_preacts->end(), z.begin(), z.end());
        for (auto& v : z) v = v > 0.0 ? v : 0.0;
      }
      a = std::move(z);
    }
    const std::int64_t k = widths.back();
    double total = 0.0;
    if (mlp.loss_kind() == dp::LossKind::softmax_xent) {
      for (std::int64_t i = 0; i < rows; ++i) {
        const double* row = a.data() + i * k;
        const double zmax = *std::max_element(row, row + k);
        double sum = 0.0;
        for (std::int64_t j = 0; j < k; ++j) sum += std::exp(row[j] - zmax);
        total += zmax + std::log(sum) - row[batch.labels[i]];
      }
      return total / static_cast<double>(rows);
    }
    for (std::int64_t i = 0; i < rows * k; ++i) {
      const double d = a[i] - static_cast<double>(batch.y[i]);
      total += d * d;
    }
    return total / static_cast<double>(rows * k);
  }
};

struct Setup {
  std::vector<float> params;
  dp::Batch batch;
  double min_abs_preact = std::numeric_limits<double>::infinity();
  std::uint64_t data_seed = 0;
};

// A batch of `rows` rows in buffers of `capacity` rows; rows >= `rows` hold NaN so that
// reading past the batch poisons the result. Among data seeds 1, 2, ... picks the first one
// whose hidden pre-activations all stay kKinkMargin away from 0 and that has both active and
// inactive units in every hidden layer.
Setup make_setup(dp::Mlp& mlp, std::int64_t capacity, std::int64_t rows, std::uint64_t param_seed) {
  Setup s;
  s.params.assign(static_cast<std::size_t>(mlp.buffer_count()), kNaN);
  mlp.init(s.params.data(), param_seed);
  const auto& widths = mlp.widths();
  const std::int64_t in = widths.front(), k = widths.back();
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    dp::Rng rng(seed);
    dp::Batch& b = s.batch;
    b.rows = rows;
    b.x.assign(static_cast<std::size_t>(capacity * in), kNaN);
    for (std::int64_t i = 0; i < rows * in; ++i) b.x[i] = static_cast<float>(rng.normal());
    if (mlp.loss_kind() == dp::LossKind::softmax_xent) {
      b.labels.assign(static_cast<std::size_t>(capacity), -1);
      for (std::int64_t i = 0; i < rows; ++i)
        b.labels[i] = static_cast<std::int32_t>(rng.uniform_index(static_cast<std::uint64_t>(k)));
      b.y.clear();
    } else {
      b.labels.clear();
      b.y.assign(static_cast<std::size_t>(capacity * k), kNaN);
      for (std::int64_t i = 0; i < rows * k; ++i) b.y[i] = static_cast<float>(rng.normal());
    }
    std::vector<double> z;
    RefNet{mlp, b}.loss(std::vector<double>(s.params.begin(), s.params.end()), &z);
    double min_abs = std::numeric_limits<double>::infinity();
    for (double v : z) min_abs = std::min(min_abs, std::fabs(v));
    bool both_signs = true;
    std::size_t at = 0;
    for (std::size_t l = 1; l + 1 < widths.size(); ++l) {
      const auto n = static_cast<std::size_t>(rows * widths[l]);
      const auto pos =
          std::count_if(z.begin() + static_cast<std::ptrdiff_t>(at),
                        z.begin() + static_cast<std::ptrdiff_t>(at + n), [](double v) { return v > 0.0; });
      both_signs = both_signs && pos > 0 && static_cast<std::size_t>(pos) < n;
      at += n;
    }
    if (min_abs > kKinkMargin && both_signs) {
      s.min_abs_preact = min_abs;
      s.data_seed = seed;
      return s;
    }
  }
  FAIL("no data seed in 1..50 keeps every hidden pre-activation away from the ReLU kink");
  return s;
}

// Compares forward_backward's loss and gradient with the double reference and its central
// finite differences, tensor by tensor: |g - fd| <= kFiniteDiffFloatRel * (|fd| + max|fd|).
// With ready_points, backward runs with them (set_ready_points) and a grads_ready callback:
// the reported ends are returned in *ready_calls, must increase, and the prefix reported
// must already hold its final values (a bucket's all-reduce reads it at that moment).
void check_gradient(std::int64_t in, const std::vector<std::int64_t>& hidden, std::int64_t out,
                    dp::LossKind kind, std::int64_t capacity, std::int64_t rows,
                    const std::vector<std::int64_t>& ready_points = {},
                    std::vector<std::int64_t>* ready_calls = nullptr) {
  dp::Mlp mlp(in, hidden, out, kind, capacity);
  mlp.set_ready_points(ready_points);
  Setup s = make_setup(mlp, capacity, rows, 1234);
  INFO("data seed " << s.data_seed << ", min |hidden pre-activation| " << s.min_abs_preact);
  const RefNet ref{mlp, s.batch};

  if (capacity > rows) {
    // First a full-capacity step on other data, as a trainer does before its smaller last
    // batch: rows >= `rows` of the model's scratch then hold stale values, which must not
    // leak into the smaller batch's gradient.
    dp::Batch full = s.batch;
    full.rows = capacity;
    dp::Rng rng(4321);
    for (auto& v : full.x) v = static_cast<float>(rng.normal());
    for (auto& y : full.labels)
      y = static_cast<std::int32_t>(rng.uniform_index(static_cast<std::uint64_t>(out)));
    for (auto& v : full.y) v = static_cast<float>(rng.normal());
    std::vector<float> scratch(s.params.size());
    mlp.forward_backward(kCtx, s.params.data(), full, scratch.data());
  }
  // Every tensor must be overwritten; the gaps of the layout must not be written at all.
  std::vector<float> grads(s.params.size(), kNaN);
  std::vector<std::vector<float>> reported;  // the prefix at each grads_ready call
  std::vector<std::int64_t> ends;
  auto on_ready = [&](std::int64_t end) {
    REQUIRE(end > (ends.empty() ? 0 : ends.back()));
    REQUIRE(end <= mlp.buffer_count());
    ends.push_back(end);
    reported.emplace_back(grads.begin(), grads.begin() + end);
  };
  const double loss = mlp.forward_backward(
      kCtx, s.params.data(), s.batch, grads.data(), false,
      ready_calls ? std::function<void(std::int64_t)>(on_ready) : std::function<void(std::int64_t)>());
  for (std::size_t c = 0; c < ends.size(); ++c) {
    INFO("grads_ready(" << ends[c] << "): the reported prefix changed afterwards");
    CHECK(std::memcmp(reported[c].data(), grads.data(), reported[c].size() * sizeof(float)) == 0);
  }
  if (ready_calls) {
    REQUIRE(!ends.empty());
    CHECK(ends.back() == mlp.buffer_count());
    *ready_calls = ends;
  }

  std::vector<double> p(s.params.begin(), s.params.end());
  const double loss_ref = ref.loss(p);
  // Same float-vs-double budget as the gradient: a few chained float reductions.
  REQUIRE(std::fabs(loss - loss_ref) <= dp::tol::kFiniteDiffFloatRel * std::fabs(loss_ref));

  const double h = dp::tol::kFiniteDiffStep;
  std::vector<double> fd(p.size());
  std::vector<bool> in_tensor(p.size(), false);
  for (const dp::TensorView& t : mlp.layout().tensors())
    for (std::int64_t i = t.offset; i < t.offset + t.count; ++i) {
      in_tensor[static_cast<std::size_t>(i)] = true;
      const double pi = p[i];
      p[i] = pi + h;
      const double fp = ref.loss(p);
      p[i] = pi - h;
      const double fm = ref.loss(p);
      p[i] = pi;
      fd[i] = (fp - fm) / (2.0 * h);
    }
  std::int64_t gaps_written = 0;
  for (std::size_t i = 0; i < grads.size(); ++i)
    if (!in_tensor[i] && !std::isnan(grads[i])) ++gaps_written;
  CHECK(gaps_written == 0);

  std::int64_t checked = 0;
  for (const dp::TensorView& t : mlp.layout().tensors()) {
    double scale = 0.0;
    for (std::int64_t i = 0; i < t.count; ++i) scale = std::max(scale, std::fabs(fd[t.offset + i]));
    INFO("tensor " << t.name << " (max |fd| " << scale << ")");
    REQUIRE(scale > 1e-6);  // the gradient of every tensor is non-trivial
    std::int64_t wrong = 0;
    std::ostringstream first;
    for (std::int64_t i = 0; i < t.count; ++i) {
      const double g = static_cast<double>(grads[t.offset + i]), f = fd[t.offset + i];
      const double tol = dp::tol::kFiniteDiffFloatRel * (std::fabs(f) + scale);
      if (!(std::fabs(g - f) <= tol)) {
        if (wrong++ == 0)
          first << "element " << i << ": analytic " << g << ", finite difference " << f << ", tol " << tol;
      }
      ++checked;
    }
    INFO(first.str());
    CHECK(wrong == 0);
  }
  REQUIRE(checked == mlp.param_count());
}

}  // namespace

TEST_CASE("mlp gradient matches finite differences: softmax_xent, hidden {7, 4}", "[mlp][fd]") {
  SECTION("full batch") {
    check_gradient(5, {7, 4}, 3, dp::LossKind::softmax_xent, 6, 6);
  }
  SECTION("batch smaller than the capacity") {
    check_gradient(5, {7, 4}, 3, dp::LossKind::softmax_xent, 8, 6);
  }
}

TEST_CASE("mlp gradient matches finite differences: mse, hidden {7, 4}", "[mlp][fd]") {
  SECTION("full batch") {
    check_gradient(5, {7, 4}, 3, dp::LossKind::mse, 6, 6);
  }
  SECTION("batch smaller than the capacity") {
    check_gradient(5, {7, 4}, 3, dp::LossKind::mse, 8, 6);
  }
}

TEST_CASE("mlp gradient matches finite differences: no hidden layer (linreg, logistic)", "[mlp][fd]") {
  SECTION("linreg, mse") {
    check_gradient(5, {}, 3, dp::LossKind::mse, 6, 6);
  }
  SECTION("linreg, mse, one output, one row") {
    check_gradient(4, {}, 1, dp::LossKind::mse, 2, 1);
  }
  SECTION("logistic regression, softmax_xent") {
    check_gradient(5, {}, 3, dp::LossKind::softmax_xent, 6, 6);
  }
}

TEST_CASE("mlp gradient matches finite differences: deeper, wider", "[mlp][fd]") {
  check_gradient(9, {16, 11, 5}, 4, dp::LossKind::softmax_xent, 12, 10);
}

// Mlp(5, {7, 4}, 3) lays out, last layer first, each tensor at a multiple of 64 elements:
// layers.2.weight [0, 12) (3 rows of 4), layers.2.bias [64, 67), layers.1.weight [128, 156)
// (4 rows of 7), layers.1.bias [192, 196), layers.0.weight [256, 291) (7 rows of 5),
// layers.0.bias [320, 327).
TEST_CASE("mlp ready points: weight gradients in row blocks, each reported when final",
          "[mlp][fd][buckets]") {
  // Bucket ends inside weights: 5 -> rows [0, 2) of layers.2 end at 8; 133 -> 1 row of
  // layers.1, 135; 143 -> 3 rows, 149; 259 -> 1 row of layers.0, 261; 269 -> 3 rows, 271.
  // After each layer the start of the next tensor (128, 256; the end 327) as without ready
  // points: the alignment gap before it is final too.
  const std::vector<std::int64_t> points = {269, 5, 133, 143, 259, 327, 143};  // unsorted, repeated
  const std::vector<std::int64_t> expected = {8, 128, 135, 149, 256, 261, 271, 327};
  for (dp::LossKind kind : {dp::LossKind::softmax_xent, dp::LossKind::mse}) {
    for (std::int64_t capacity : {6, 8}) {
      INFO((kind == dp::LossKind::mse ? "mse" : "softmax_xent") << ", capacity " << capacity);
      std::vector<std::int64_t> calls;
      check_gradient(5, {7, 4}, 3, kind, capacity, 6, points, &calls);
      CHECK(calls == expected);
    }
  }
}

TEST_CASE("mlp ready points: with accumulate, every row block adds to what grads holds", "[mlp][buckets]") {
  // Two passes over the same batch with accumulate on the second: 2x the gradient of one
  // pass without blocks (GEMM beta = 1 on every block, not only the last).
  dp::Mlp plain(5, {7, 4}, 3, dp::LossKind::softmax_xent, 6);
  dp::Mlp blocked(5, {7, 4}, 3, dp::LossKind::softmax_xent, 6);
  blocked.set_ready_points({5, 133, 143, 259, 269});
  Setup s = make_setup(plain, 6, 6, 1234);
  std::vector<float> once(s.params.size(), kNaN), twice(s.params.size(), kNaN);
  plain.forward_backward(kCtx, s.params.data(), s.batch, once.data());
  std::int64_t calls = 0;
  const std::function<void(std::int64_t)> count = [&](std::int64_t) { ++calls; };
  blocked.forward_backward(kCtx, s.params.data(), s.batch, twice.data(), false, count);
  blocked.forward_backward(kCtx, s.params.data(), s.batch, twice.data(), true, count);
  CHECK(calls == 16);  // 8 reports per pass (see the test above)
  double scale = 0.0;
  for (float g : once) scale = std::max(scale, 2.0 * std::fabs(static_cast<double>(g)));  // NaN: skipped
  std::vector<bool> in_tensor(once.size(), false);
  for (const dp::TensorView& t : plain.layout().tensors())
    for (std::int64_t i = t.offset; i < t.offset + t.count; ++i)
      in_tensor[static_cast<std::size_t>(i)] = true;
  for (std::size_t i = 0; i < once.size(); ++i) {
    INFO("element " << i);
    if (!in_tensor[i]) {  // a gap of the layout: never written
      CHECK(std::isnan(twice[i]));
      continue;
    }
    const double want = 2.0 * static_cast<double>(once[i]);
    CHECK(std::fabs(static_cast<double>(twice[i]) - want) <=
          dp::tol::kFiniteDiffFloatRel * (std::fabs(want) + scale));
  }
}

TEST_CASE("mlp ready points: none inside a weight's rows adds no block", "[mlp][buckets]") {
  std::vector<std::int64_t> calls;
  SECTION("no ready points: one call per layer") {
    check_gradient(5, {7, 4}, 3, dp::LossKind::softmax_xent, 6, 6, {}, &calls);
    CHECK(calls == std::vector<std::int64_t>{128, 256, 327});
  }
  SECTION("points at tensor boundaries, in gaps, in a weight's last row, or past the end") {
    // 12/156: weights' ends; 67/196: biases' ends; 30/100/250: gaps between tensors; 154:
    // inside layers.1's last row; 1000: beyond.
    check_gradient(5, {7, 4}, 3, dp::LossKind::softmax_xent, 6, 6,
                   {12, 30, 67, 100, 154, 156, 196, 250, 1000}, &calls);
    CHECK(calls == std::vector<std::int64_t>{128, 256, 327});
  }
  SECTION("a point in the first row of a weight reports that row") {
    check_gradient(5, {7, 4}, 3, dp::LossKind::softmax_xent, 6, 6, {1}, &calls);
    CHECK(calls == std::vector<std::int64_t>{4, 128, 256, 327});
  }
}

TEST_CASE("mlp evaluate agrees with forward_backward's loss", "[mlp]") {
  for (dp::LossKind kind : {dp::LossKind::softmax_xent, dp::LossKind::mse}) {
    dp::Mlp mlp(5, {7, 4}, 3, kind, 8);
    Setup s = make_setup(mlp, 8, 6, 99);
    std::vector<float> grads(s.params.size());
    const double loss = mlp.forward_backward(kCtx, s.params.data(), s.batch, grads.data());
    const dp::EvalSums e = mlp.evaluate(kCtx, s.params.data(), s.batch);
    REQUIRE(e.rows == 6);
    REQUIRE(e.loss_sum / 6.0 == Approx(loss).epsilon(dp::tol::kFiniteDiffFloatRel));
    if (kind == dp::LossKind::softmax_xent) {
      // correct = rows whose argmax of the (float) logits equals the label.
      const float* logits = mlp.forward(kCtx, s.params.data(), s.batch.x.data(), 6);
      std::int64_t correct = 0;
      for (std::int64_t i = 0; i < 6; ++i) {
        const float* row = logits + i * 3;
        correct += (std::max_element(row, row + 3) - row) == s.batch.labels[i] ? 1 : 0;
      }
      REQUIRE(e.correct == correct);
    }
  }
}

TEST_CASE("mlp layout: last layer first, weight then bias, each at a multiple of 64 elements",
          "[mlp][layout]") {
  dp::Mlp mlp(5, {7, 4}, 3, dp::LossKind::softmax_xent, 6);
  const auto& t = mlp.layout().tensors();
  REQUIRE(t.size() == 6);
  const char* names[] = {"layers.2.weight", "layers.2.bias",   "layers.1.weight",
                         "layers.1.bias",   "layers.0.weight", "layers.0.bias"};
  const std::vector<std::int64_t> shapes[] = {{3, 4}, {3}, {4, 7}, {4}, {7, 5}, {7}};
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    INFO("tensor " << i);
    REQUIRE(t[i].name == names[i]);
    REQUIRE(t[i].shape == shapes[i]);
    REQUIRE(t[i].offset == offset);
    std::int64_t count = 1;
    for (auto d : shapes[i]) count *= d;
    REQUIRE(t[i].count == count);
    REQUIRE(&mlp.layout().find(names[i]) == &t[i]);
    offset += dp::kTensorAlignCount;  // every tensor here is smaller than 64 elements
  }
  REQUIRE(dp::kTensorAlignCount * sizeof(float) == 256);
  REQUIRE(mlp.layout().find("layers.2.weight").offset == 0);
  REQUIRE(mlp.param_count() == 3 * 4 + 3 + 4 * 7 + 4 + 7 * 5 + 7);
  // No gap after the last tensor: the buffer ends where layers.0.bias does.
  REQUIRE(mlp.buffer_count() == 5 * 64 + 7);
  REQUIRE(mlp.num_layers() == 3);
  REQUIRE(mlp.widths() == std::vector<std::int64_t>{5, 7, 4, 3});

  dp::Mlp linreg(4, {}, 2, dp::LossKind::mse, 6);
  REQUIRE(linreg.layout().tensors().size() == 2);
  REQUIRE(linreg.layout().tensors()[0].name == "layers.0.weight");
  REQUIRE(linreg.layout().tensors()[0].offset == 0);
  REQUIRE(linreg.layout().tensors()[1].name == "layers.0.bias");
  REQUIRE(linreg.layout().tensors()[1].offset == 64);
  REQUIRE(linreg.param_count() == 10);
  REQUIRE(linreg.buffer_count() == 66);

  // A tensor of exactly 64 elements leaves no gap; one of 65 leaves 63.
  dp::ParamLayout l;
  l.add("a", {8, 8});
  l.add("b", {65});
  l.add("c", {1});
  REQUIRE(l.tensors()[1].offset == 64);
  REQUIRE(l.tensors()[2].offset == 192);
  REQUIRE(l.buffer_count() == 193);
  REQUIRE(l.param_count() == 130);

  // Files hold the tensors packed: packed() has the same tensors back to back, and
  // pack/unpack move values between the two layouts (zeros in the gaps).
  const dp::ParamLayout p = l.packed();
  REQUIRE(p.tensors().size() == 3);
  REQUIRE(p.tensors()[1].offset == 64);
  REQUIRE(p.tensors()[2].offset == 129);
  REQUIRE(p.buffer_count() == 130);
  REQUIRE(p.tensors()[2].shape == std::vector<std::int64_t>{1});
  std::vector<float> buffer(193, kNaN);
  for (const auto& tensor : l.tensors())
    for (std::int64_t i = 0; i < tensor.count; ++i)
      buffer[static_cast<std::size_t>(tensor.offset + i)] = static_cast<float>(1000 * tensor.offset + i);
  const std::vector<float> packed = l.pack(buffer.data());
  REQUIRE(packed.size() == 130);
  REQUIRE(packed[63] == 63.0f);
  REQUIRE(packed[64] == 64000.0f);
  REQUIRE(packed[128] == 64064.0f);
  REQUIRE(packed[129] == 192000.0f);
  const std::vector<float> back = l.unpack(packed);
  REQUIRE(back.size() == 193);
  for (std::size_t i = 0; i < back.size(); ++i) {
    INFO("element " << i);
    REQUIRE(back[i] == (std::isnan(buffer[i]) ? 0.0f : buffer[i]));
  }
}

TEST_CASE("mlp init: deterministic per seed, different across seeds, within +-1/sqrt(fan_in)",
          "[mlp][init]") {
  dp::Mlp mlp(5, {7, 4}, 3, dp::LossKind::softmax_xent, 6);
  const auto n = static_cast<std::size_t>(mlp.buffer_count());
  std::vector<float> a(n, kNaN), b(n, kNaN), c(n, kNaN);
  mlp.init(a.data(), 42);
  mlp.init(b.data(), 42);
  mlp.init(c.data(), 43);
  REQUIRE(a == b);  // also: no NaN left, every element written (the gaps with zeros)
  std::size_t same = 0;
  for (std::size_t i = 0; i < n; ++i) same += a[i] == c[i] ? 1 : 0;
  // Only the gaps agree, and they are zero.
  REQUIRE(same == static_cast<std::size_t>(mlp.buffer_count() - mlp.param_count()));
  for (const auto& t : mlp.layout().tensors()) {
    const auto gap_end = static_cast<std::size_t>((t.offset + t.count + dp::kTensorAlignCount - 1) /
                                                  dp::kTensorAlignCount * dp::kTensorAlignCount);
    for (auto i = static_cast<std::size_t>(t.offset + t.count); i < std::min(gap_end, n); ++i)
      REQUIRE(a[i] == 0.0f);
  }

  for (std::int64_t l = 0; l < mlp.num_layers(); ++l) {
    const double fan_in = static_cast<double>(mlp.widths()[static_cast<std::size_t>(l)]);
    const double bound = 1.0 / std::sqrt(fan_in);
    for (const char* kind : {"weight", "bias"}) {
      const dp::TensorView& t = mlp.layout().find(layer_name(l, kind));
      INFO(t.name << " bound " << bound);
      double max_abs = 0.0, sum = 0.0;
      for (std::int64_t i = 0; i < t.count; ++i) {
        const double v = static_cast<double>(a[t.offset + i]);
        REQUIRE(std::fabs(v) <= bound);
        max_abs = std::max(max_abs, std::fabs(v));
        sum += v;
      }
      // Spread over the range (not all zero, not a much narrower distribution).
      REQUIRE(max_abs > 0.5 * bound);
      if (t.count >= 20) REQUIRE(std::fabs(sum / static_cast<double>(t.count)) < 0.5 * bound);
    }
  }
}

TEST_CASE("mlp init: every tensor has its own stream", "[mlp][init]") {
  // A weight and its bias (or two layers of equal fan-in) drawn from one stream would
  // repeat the same numbers at the start of each tensor.
  dp::Mlp mlp(6, {6, 6}, 6, dp::LossKind::mse, 4);
  std::vector<float> p(static_cast<std::size_t>(mlp.buffer_count()));
  mlp.init(p.data(), 5);
  const auto& t = mlp.layout().tensors();
  for (std::size_t a = 0; a < t.size(); ++a)
    for (std::size_t b = a + 1; b < t.size(); ++b) {
      INFO(t[a].name << " vs " << t[b].name);
      std::int64_t equal = 0;
      for (std::int64_t i = 0; i < 6; ++i) equal += p[t[a].offset + i] == p[t[b].offset + i] ? 1 : 0;
      REQUIRE(equal == 0);
    }
}

TEST_CASE("mlp init: a tensor's values do not depend on the rest of the model", "[mlp][init]") {
  // Each tensor comes from its own stream of (seed, layer, kind), so the buffer order (which
  // puts the last layer first) does not shift the numbers of layer 0.
  dp::Mlp small(5, {7}, 3, dp::LossKind::softmax_xent, 6);
  dp::Mlp deep(5, {7, 4}, 3, dp::LossKind::softmax_xent, 6);
  std::vector<float> ps(static_cast<std::size_t>(small.buffer_count())),
      pd(static_cast<std::size_t>(deep.buffer_count()));
  small.init(ps.data(), 7);
  deep.init(pd.data(), 7);
  for (const char* name : {"layers.0.weight", "layers.0.bias"}) {
    INFO(name);
    const auto& ts = small.layout().find(name);
    const auto& td = deep.layout().find(name);
    REQUIRE(ts.count == td.count);
    REQUIRE(ts.offset != td.offset);
    for (std::int64_t i = 0; i < ts.count; ++i) REQUIRE(ps[ts.offset + i] == pd[td.offset + i]);
  }
}

TEST_CASE("mlp loss_out: the loss is added on the backend, gradients are unchanged", "[mlp]") {
  for (dp::LossKind kind : {dp::LossKind::softmax_xent, dp::LossKind::mse}) {
    dp::Mlp mlp(5, {7, 4}, 3, kind, 8);
    Setup s = make_setup(mlp, 8, 6, 7);
    std::vector<float> grads(s.params.size()), grads_out(s.params.size());
    const double loss = mlp.forward_backward(kCtx, s.params.data(), s.batch, grads.data());
    float slot = 0.25f;  // accumulates: two micro-batches' losses land in one slot
    const double returned = mlp.forward_backward(kCtx, s.params.data(), dp::host_ref(s.batch),
                                                 grads_out.data(), false, nullptr, &slot);
    CHECK(std::isnan(returned));
    CHECK(grads_out == grads);  // the same kernels: bit-identical
    // The loss in float: one rounding of the double mean, one float addition.
    CHECK(static_cast<double>(slot) == Approx(0.25 + loss).epsilon(4 * dp::tol::kUnitRoundoff));
  }
}
