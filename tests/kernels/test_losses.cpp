// softmax_xent, mse and accuracy kernels against naive double references (the
// finite-difference checks of their gradients are in test_backward_fd.cpp).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/accuracy.h"
#include "kernels/loss_rows.h"
#include "kernels/mse.h"
#include "kernels/softmax_xent.h"
#include "tests/kernels/test_util.h"
#include "tests/tolerance.h"

namespace {

using dp::test::Mismatches;
const dp::kernels::Context kCtx;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
// Absolute floor for float results that may legitimately underflow (exp of very negative
// logits): below float's normal range everything is rounding.
constexpr double kUnderflow = static_cast<double>(std::numeric_limits<float>::min());

// ---- softmax + cross-entropy ---------------------------------------------------------

// Double reference of one row and the tolerances the float kernel must meet.
//   loss = logsumexp(z) - z_y, p_j = softmax(z)_j.
// Float error model: e_j = exp(fl(z_j - zmax)) carries ~u*|z_j - zmax| relative error (the
// rounded difference is amplified by exp); their sum adds the K-term reduction error; the
// loss log(sum) + (zmax - z_y) rounds relative to those two terms only (NOT to |zmax|: a
// row of equal logits 1e4 must give log(K), not log(K) +- ulp(1e4)). So
//   loss_tol = reduction_tol(K) * (2 + E_p|z - zmax| + log(sum) + (zmax - z_y))
//   dz_tol_j = |s| * (reduction_tol(K) * (p_j * (2 + |z_j - zmax|) + [j == y]) + underflow floor)
struct SoftmaxRowRef {
  double loss = 0.0, loss_tol = 0.0;
  std::vector<double> p, p_tol;  // p_tol is for p_j (multiply by |s| for dz)
};

SoftmaxRowRef softmax_row_ref(const float* z, std::int32_t y, std::int64_t classes) {
  SoftmaxRowRef r;
  double zmax = static_cast<double>(z[0]);
  for (std::int64_t j = 1; j < classes; ++j) zmax = std::max(zmax, static_cast<double>(z[j]));
  double sum = 0.0;
  r.p.resize(static_cast<std::size_t>(classes));
  for (std::int64_t j = 0; j < classes; ++j) {
    r.p[j] = std::exp(static_cast<double>(z[j]) - zmax);
    sum += r.p[j];
  }
  double spread = 0.0;  // E_p |z - zmax|
  r.p_tol.resize(r.p.size());
  const double rt = dp::tol::reduction_tol(classes);
  for (std::int64_t j = 0; j < classes; ++j) {
    r.p[j] /= sum;
    const double gap = zmax - static_cast<double>(z[j]);
    spread += r.p[j] * gap;
    // The label element also rounds fl(s * p_y) - s, relative to |s|.
    r.p_tol[j] = rt * (r.p[j] * (2.0 + gap) + (j == y ? 1.0 : 0.0)) + kUnderflow;
  }
  const double margin = zmax - static_cast<double>(z[y]);  // >= 0
  r.loss = std::log(sum) + margin;
  r.loss_tol = rt * (2.0 + spread + std::log(sum) + margin);
  return r;
}

// Checks forward and forward_backward of the kernel entries on one input; returns a
// failure description, empty when everything matched.
std::string check_softmax(const std::vector<float>& logits, const std::vector<std::int32_t>& labels,
                          std::int64_t rows, std::int64_t classes, float grad_scale) {
  std::vector<float> losses_f(rows, kNaN), losses_fb(rows, kNaN), dz(rows * classes, kNaN);
  const double total_f =
      dp::kernels::softmax_xent_forward(kCtx, logits.data(), labels.data(), losses_f.data(), rows, classes);
  const double total_fb = dp::kernels::softmax_xent_forward_backward(
      kCtx, logits.data(), labels.data(), grad_scale, losses_fb.data(), dz.data(), rows, classes);
  Mismatches loss_f, loss_fb, grad, totals, row_sums;
  double total_ref = 0.0, total_tol = 0.0;
  const double s = static_cast<double>(grad_scale);
  for (std::int64_t i = 0; i < rows; ++i) {
    const SoftmaxRowRef r = softmax_row_ref(logits.data() + i * classes, labels[i], classes);
    loss_f.check(i, static_cast<double>(losses_f[i]), r.loss, r.loss_tol);
    loss_fb.check(i, static_cast<double>(losses_fb[i]), r.loss, r.loss_tol);
    total_ref += r.loss;
    total_tol += r.loss_tol;
    double row_sum = 0.0;
    for (std::int64_t j = 0; j < classes; ++j) {
      const double want = s * (r.p[j] - (j == labels[i] ? 1.0 : 0.0));
      const float got = dz[i * classes + j];
      grad.check(i * classes + j, static_cast<double>(got), want, std::fabs(s) * r.p_tol[j]);
      row_sum += static_cast<double>(got);
    }
    // sum_j dz_j = s * (sum_j p_j - 1) = 0 up to the rounding of the p_j: each carries at
    // most ~reduction_tol(K) relative error and they sum to 1 (label term: ~2).
    row_sums.check(i, row_sum, 0.0, 2.0 * std::fabs(s) * dp::tol::reduction_tol(classes) + kUnderflow);
  }
  totals.check(0, total_f, total_ref, total_tol);
  totals.check(1, total_fb, total_ref, total_tol);

  std::string out;
  if (loss_f.wrong()) out += "forward losses: " + loss_f.report() + "\n";
  if (loss_fb.wrong()) out += "forward_backward losses: " + loss_fb.report() + "\n";
  if (grad.wrong()) out += "dlogits: " + grad.report() + "\n";
  if (row_sums.wrong()) out += "row sums of dlogits: " + row_sums.report() + "\n";
  if (totals.wrong()) out += "returned totals: " + totals.report() + "\n";
  if (grad.checked() != rows * classes) out += "not every element was checked\n";
  return out;
}

}  // namespace

TEST_CASE("softmax_xent: random logits against the double reference", "[softmax_xent]") {
  const std::int64_t row_counts[] = {1, 7, 64};
  const std::int64_t class_counts[] = {1, 2, 10, 129};
  std::uint64_t seed = 10;
  for (auto rows : row_counts)
    for (auto classes : class_counts)
      for (float grad_scale : {1.0f, 1.0f / static_cast<float>(rows), 3.0f, -0.5f}) {
        INFO("rows=" << rows << " classes=" << classes << " grad_scale=" << grad_scale);
        dp::Rng rng(++seed);
        const auto logits = dp::test::normal_floats(rng, rows * classes, 3.0);
        const auto labels = dp::test::random_labels(rng, rows, classes);
        CHECK(check_softmax(logits, labels, rows, classes, grad_scale) == "");
      }
}

TEST_CASE("softmax_xent: stable for logits around +-1e4", "[softmax_xent]") {
  const std::int64_t classes = 5;
  std::vector<float> logits = {1e4f,    -1e4f,    0.0f,    1e4f - 1.0f, -1e4f,         // label 1: loss ~ 2e4
                               -1e4f,   -1e4f,    -1e4f,   -1e4f,       -1e4f + 2.0f,  // all very negative
                               1e4f,    1e4f,     1e4f,    1e4f,        1e4f,          // equal, huge: log(5)
                               9999.5f, -9999.5f, 9998.0f, 0.5f,        10000.0f};
  const std::vector<std::int32_t> labels = {1, 4, 2, 0};
  const std::int64_t rows = 4;
  dp::Rng rng(20);
  for (int i = 0; i < 60; ++i) logits.push_back(static_cast<float>(rng.uniform(-1e4, 1e4)));
  std::vector<std::int32_t> all_labels = labels;
  const auto extra = dp::test::random_labels(rng, 12, classes);
  all_labels.insert(all_labels.end(), extra.begin(), extra.end());
  const std::int64_t all_rows = rows + 12;

  CHECK(check_softmax(logits, all_labels, all_rows, classes, 0.25f) == "");

  std::vector<float> losses(all_rows), dz(all_rows * classes);
  const double total = dp::kernels::softmax_xent_forward_backward(
      kCtx, logits.data(), all_labels.data(), 1.0f, losses.data(), dz.data(), all_rows, classes);
  REQUIRE(std::isfinite(total));
  for (float x : losses) REQUIRE(std::isfinite(x));
  for (float x : dz) REQUIRE(std::isfinite(x));
  // Row 0: loss = 1e4 + log(1 + e^-1 + ...) + 1e4 ~ 2e4 + 0.3133.
  REQUIRE(losses[0] == Approx(2e4 + std::log(1.0 + std::exp(-1.0))).epsilon(1e-6));
  REQUIRE(losses[2] == Approx(std::log(5.0)).epsilon(dp::tol::kElementwiseRel));
}

TEST_CASE("softmax_xent: equal logits give log(K) and dz = s*(1/K - [j==y])", "[softmax_xent]") {
  for (std::int64_t classes : {2, 10, 1000})
    for (float c : {0.0f, -7.25f, 1e4f}) {
      INFO("classes=" << classes << " value=" << c);
      const std::int64_t rows = 3;
      std::vector<float> logits(rows * classes, c), losses(rows), dz(rows * classes);
      const std::vector<std::int32_t> labels = {0, static_cast<std::int32_t>(classes - 1),
                                                static_cast<std::int32_t>(classes / 2)};
      const float s = 0.5f;
      const double total = dp::kernels::softmax_xent_forward_backward(
          kCtx, logits.data(), labels.data(), s, losses.data(), dz.data(), rows, classes);
      const double log_k = std::log(static_cast<double>(classes));
      REQUIRE(total == Approx(3.0 * log_k).epsilon(dp::tol::kElementwiseRel));
      Mismatches mm;
      for (std::int64_t i = 0; i < rows; ++i) {
        mm.check(i, static_cast<double>(losses[i]), log_k, dp::tol::kElementwiseRel * log_k);
        for (std::int64_t j = 0; j < classes; ++j) {
          const double want = 0.5 * (1.0 / static_cast<double>(classes) - (j == labels[i] ? 1.0 : 0.0));
          mm.check(i * classes + j, static_cast<double>(dz[i * classes + j]), want,
                   dp::tol::kElementwiseRel * std::fabs(want));
        }
      }
      INFO(mm.report());
      REQUIRE(mm.wrong() == 0);
    }
}

TEST_CASE("softmax_xent: dlogits may alias logits", "[softmax_xent]") {
  const std::int64_t rows = 9, classes = 13;
  dp::Rng rng(30);
  const auto logits = dp::test::normal_floats(rng, rows * classes, 4.0);
  const auto labels = dp::test::random_labels(rng, rows, classes);
  std::vector<float> losses(rows), dz(rows * classes), losses_alias(rows);
  const double total = dp::kernels::softmax_xent_forward_backward(kCtx, logits.data(), labels.data(), 0.125f,
                                                                  losses.data(), dz.data(), rows, classes);
  auto buf = logits;
  const double total_alias = dp::kernels::softmax_xent_forward_backward(
      kCtx, buf.data(), labels.data(), 0.125f, losses_alias.data(), buf.data(), rows, classes);
  REQUIRE(total_alias == total);
  for (std::int64_t i = 0; i < rows; ++i) REQUIRE(dp::test::same_bits(losses_alias[i], losses[i]));
  std::int64_t differ_from_input = 0;
  for (std::int64_t i = 0; i < rows * classes; ++i) {
    INFO("element " << i);
    REQUIRE(dp::test::same_bits(buf[i], dz[i]));
    differ_from_input += buf[i] != logits[i] ? 1 : 0;
  }
  REQUIRE(differ_from_input == rows * classes);  // the logits really were overwritten
}

TEST_CASE("softmax_xent: the entries check the label range", "[softmax_xent]") {
  dp::test::CheckThrows guard;
  const std::int64_t rows = 3, classes = 4;
  std::vector<float> logits(rows * classes, 0.5f), losses(rows), dz(rows * classes);
  std::vector<std::int32_t> labels = {0, 3, 2};
  REQUIRE_NOTHROW(
      dp::kernels::softmax_xent_forward(kCtx, logits.data(), labels.data(), losses.data(), rows, classes));
  REQUIRE_NOTHROW(dp::kernels::softmax_xent_forward_backward(kCtx, logits.data(), labels.data(), 1.0f,
                                                             losses.data(), dz.data(), rows, classes));
  for (std::int32_t bad : {-1, 4, 1000, std::numeric_limits<std::int32_t>::min()}) {
    INFO("bad label " << bad);
    labels[1] = bad;
    REQUIRE_THROWS_AS(
        dp::kernels::softmax_xent_forward(kCtx, logits.data(), labels.data(), losses.data(), rows, classes),
        dp::test::CheckFailure);
    REQUIRE_THROWS_AS(dp::kernels::softmax_xent_forward_backward(kCtx, logits.data(), labels.data(), 1.0f,
                                                                 losses.data(), dz.data(), rows, classes),
                      dp::test::CheckFailure);
  }
}

// ---- mean squared error ----------------------------------------------------------------

TEST_CASE("mse: forward and forward_backward against the double reference", "[mse]") {
  const std::int64_t row_counts[] = {1, 7, 300};
  const std::int64_t col_counts[] = {1, 3, 17};
  std::uint64_t seed = 40;
  for (auto rows : row_counts)
    for (auto cols : col_counts)
      for (float s : {1.0f, 1.0f / static_cast<float>(rows * cols), -2.0f}) {
        INFO("rows=" << rows << " cols=" << cols << " grad_scale=" << s);
        dp::Rng rng(++seed);
        const auto pred = dp::test::normal_floats(rng, rows * cols, 2.0);
        auto target = dp::test::normal_floats(rng, rows * cols, 2.0);
        target[0] = pred[0];  // an exact zero residual
        std::vector<float> losses_f(rows, kNaN), losses_fb(rows, kNaN), dpred(rows * cols, kNaN);
        const double total_f =
            dp::kernels::mse_forward(kCtx, pred.data(), target.data(), losses_f.data(), rows, cols);
        const double total_fb = dp::kernels::mse_forward_backward(kCtx, pred.data(), target.data(), s,
                                                                  losses_fb.data(), dpred.data(), rows, cols);
        Mismatches loss, grad, totals;
        double total_ref = 0.0, total_tol = 0.0;
        for (std::int64_t i = 0; i < rows; ++i) {
          double row = 0.0;
          for (std::int64_t j = 0; j < cols; ++j) {
            const auto at = i * cols + j;
            const double d = static_cast<double>(pred[at]) - static_cast<double>(target[at]);
            row += d * d;
            // 2*s is exact; fl(p - t) and the product round once each.
            const double want = static_cast<double>(s) * 2.0 * d;
            grad.check(at, static_cast<double>(dpred[at]), want, dp::tol::kElementwiseRel * std::fabs(want));
          }
          // A sum of cols non-negative terms, each with a few roundings.
          const double tol = dp::tol::reduction_tol(cols) * row;
          loss.check(i, static_cast<double>(losses_f[i]), row, tol);
          loss.check(i, static_cast<double>(losses_fb[i]), row, tol);
          total_ref += row;
          total_tol += tol;
        }
        totals.check(0, total_f, total_ref, total_tol);
        totals.check(1, total_fb, total_ref, total_tol);
        INFO("losses: " << loss.report() << "\ndpred: " << grad.report() << "\ntotals: " << totals.report());
        REQUIRE(grad.checked() == rows * cols);
        REQUIRE(loss.wrong() == 0);
        REQUIRE(grad.wrong() == 0);
        REQUIRE(totals.wrong() == 0);
        REQUIRE(dpred[0] == 0.0f);
      }
}

TEST_CASE("mse: dpred may alias pred; perfect predictions give zero", "[mse]") {
  const std::int64_t rows = 11, cols = 5;
  dp::Rng rng(60);
  const auto pred = dp::test::normal_floats(rng, rows * cols);
  const auto target = dp::test::normal_floats(rng, rows * cols);
  std::vector<float> losses(rows), dpred(rows * cols), losses_alias(rows);
  const double total = dp::kernels::mse_forward_backward(kCtx, pred.data(), target.data(), 0.1f,
                                                         losses.data(), dpred.data(), rows, cols);
  auto buf = pred;
  const double total_alias = dp::kernels::mse_forward_backward(kCtx, buf.data(), target.data(), 0.1f,
                                                               losses_alias.data(), buf.data(), rows, cols);
  REQUIRE(total_alias == total);
  REQUIRE(total > 0.0);
  for (std::int64_t i = 0; i < rows; ++i) REQUIRE(dp::test::same_bits(losses_alias[i], losses[i]));
  for (std::int64_t i = 0; i < rows * cols; ++i) {
    INFO("element " << i);
    REQUIRE(dp::test::same_bits(buf[i], dpred[i]));
  }

  std::vector<float> zero_losses(rows, kNaN), zero_grad(rows * cols, kNaN);
  REQUIRE(dp::kernels::mse_forward_backward(kCtx, target.data(), target.data(), 1.0f, zero_losses.data(),
                                            zero_grad.data(), rows, cols) == 0.0);
  for (float x : zero_losses) REQUIRE(x == 0.0f);
  for (float x : zero_grad) REQUIRE(x == 0.0f);
}

// ---- argmax / accuracy -------------------------------------------------------------------

TEST_CASE("argmax: first maximum wins ties, NaN never wins", "[accuracy]") {
  const std::int64_t classes = 4;
  const std::vector<float> logits = {
      1.0f,  3.0f,  3.0f,  2.0f,   // tie -> 1
      5.0f,  5.0f,  5.0f,  5.0f,   // all equal -> 0
      -0.0f, 0.0f,  -1.0f, -2.0f,  // -0 == +0: tie -> 0
      kNaN,  1.0f,  7.0f,  7.0f,   // NaN first, then tie -> 2
      1.0f,  kNaN,  0.5f,  kNaN,   // -> 0
      -3.0f, kNaN,  -1.0f, kNaN,   // -> 2
      kNaN,  kNaN,  kNaN,  -kInf,  // only -inf is a number -> 3
      kNaN,  kNaN,  kNaN,  kNaN,   // no number: 0 (documented in kernels/cpu/accuracy.cpp)
      -kInf, -kInf, -kInf, -kInf,  // -> 0
      2.0f,  kInf,  kNaN,  kInf,   // -> 1
      -5.0f, -4.0f, -3.0f, -2.0f,  // last -> 3
  };
  const std::vector<std::int32_t> want = {1, 0, 0, 2, 0, 2, 3, 0, 0, 1, 3};
  const auto rows = static_cast<std::int64_t>(want.size());
  REQUIRE(static_cast<std::int64_t>(logits.size()) == rows * classes);
  std::vector<std::int32_t> pred(want.size(), -1);
  dp::kernels::argmax(kCtx, logits.data(), pred.data(), rows, classes);
  for (std::int64_t i = 0; i < rows; ++i) {
    INFO("row " << i);
    REQUIRE(pred[i] == want[i]);
  }
  // count_correct uses the same rule.
  REQUIRE(dp::kernels::count_correct(kCtx, logits.data(), want.data(), rows, classes) == rows);
}

TEST_CASE("argmax and count_correct: random logits with many ties", "[accuracy]") {
  for (std::int64_t classes : {1, 2, 7, 100}) {
    INFO("classes=" << classes);
    const std::int64_t rows = 257;
    dp::Rng rng(static_cast<std::uint64_t>(70 + classes));
    std::vector<float> logits(rows * classes);
    // Few distinct values, so most rows have tied maxima.
    for (auto& z : logits) z = static_cast<float>(rng.uniform_index(4)) - 1.5f;
    std::vector<std::int32_t> want(rows), labels(rows);
    std::int64_t want_correct = 0;
    for (std::int64_t i = 0; i < rows; ++i) {
      std::int64_t best = 0;
      for (std::int64_t j = 1; j < classes; ++j)
        if (logits[i * classes + j] > logits[i * classes + best]) best = j;
      want[i] = static_cast<std::int32_t>(best);
      // Every third row gets a wrong label (when there is a wrong one to give).
      const bool wrong = classes > 1 && i % 3 == 0;
      labels[i] = static_cast<std::int32_t>(
          wrong ? (best + 1 +
                   static_cast<std::int64_t>(rng.uniform_index(static_cast<std::uint64_t>(classes - 1)))) %
                      classes
                : best);
      want_correct += wrong ? 0 : 1;
    }
    std::vector<std::int32_t> pred(rows, -1);
    dp::kernels::argmax(kCtx, logits.data(), pred.data(), rows, classes);
    std::int64_t mismatched = 0;
    for (std::int64_t i = 0; i < rows; ++i) mismatched += pred[i] != want[i] ? 1 : 0;
    REQUIRE(mismatched == 0);
    REQUIRE(dp::kernels::count_correct(kCtx, logits.data(), labels.data(), rows, classes) == want_correct);
    REQUIRE(want_correct == (classes > 1 ? rows - (rows + 2) / 3 : rows));
  }
}

TEST_CASE("accumulate_sum: out = (accumulate ? out : 0) + float(scale * sum), summed in double",
          "[losses][accumulate]") {
  const dp::kernels::Context ctx;
  // 2^24 + 1 is not a float: a float running sum of these terms would lose the ones.
  const std::vector<float> x = {16777216.0f, 1.0f, 1.0f, -16777216.0f};
  float out = 5.0f;
  dp::kernels::accumulate_sum(ctx, x.data(), 4, 0.5, &out, /*accumulate=*/false);
  CHECK(out == 1.0f);  // 0.5 * 2
  dp::kernels::accumulate_sum(ctx, x.data(), 4, 0.5, &out, /*accumulate=*/true);
  CHECK(out == 2.0f);
  dp::kernels::accumulate_sum(ctx, x.data(), 0, 0.5, &out, /*accumulate=*/false);
  CHECK(out == 0.0f);
}
