// End-to-end training in-process under mpiexec (1, 2, 4 ranks): linreg converges to the
// closed-form least-squares solution, on the synthetic data and on NPY files; replicas
// stay bit-identical; injected drift is caught on every rank.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <vector>

#include "comm/mpi_comm.h"
#include "src/data/npy.h"
#include "src/data/synthetic.h"
#include "src/train/agree.h"
#include "src/train/trainer.h"
#include "src/util/check.h"
#include "src/util/hash.h"
#include "src/util/rng.h"
#include "tests/mpi/mpi_test_util.h"
#include "tests/tolerance.h"

namespace {

using dp::test::world;

// Least squares with intercept, per output column k:
//   minimise sum_i (x_i·w_k + b_k - y_ik)^2  ->  normal equations (A^T A) theta = A^T y,
// A = [X, 1]; solved in double by Gaussian elimination with partial pivoting.
// Returns theta[k] = (w_k[0..D-1], b_k).
std::vector<std::vector<double>> least_squares(const std::vector<float>& x, const std::vector<float>& y,
                                               std::int64_t n, std::int64_t d, std::int64_t k) {
  const std::int64_t m = d + 1;
  auto a_at = [&](std::int64_t i, std::int64_t j) {
    return j < d ? static_cast<double>(x[static_cast<std::size_t>(i * d + j)]) : 1.0;
  };
  std::vector<std::vector<double>> out;
  for (std::int64_t col = 0; col < k; ++col) {
    std::vector<std::vector<double>> g(static_cast<std::size_t>(m),
                                       std::vector<double>(static_cast<std::size_t>(m + 1), 0.0));
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t p = 0; p < m; ++p) {
        for (std::int64_t q = 0; q < m; ++q) g[p][q] += a_at(i, p) * a_at(i, q);
        g[p][m] += a_at(i, p) * static_cast<double>(y[static_cast<std::size_t>(i * k + col)]);
      }
    for (std::int64_t p = 0; p < m; ++p) {
      std::int64_t piv = p;
      for (std::int64_t q = p + 1; q < m; ++q)
        if (std::abs(g[q][p]) > std::abs(g[piv][p])) piv = q;
      std::swap(g[p], g[piv]);
      for (std::int64_t q = 0; q < m; ++q) {
        if (q == p) continue;
        const double f = g[q][p] / g[p][p];
        for (std::int64_t c = p; c <= m; ++c) g[q][c] -= f * g[p][c];
      }
    }
    std::vector<double> theta(static_cast<std::size_t>(m));
    for (std::int64_t p = 0; p < m; ++p) theta[p] = g[p][m] / g[p][p];
    out.push_back(theta);
  }
  return out;
}

// ||trained - exact|| / ||exact|| over all outputs' (w, b).
double relative_error(const dp::TrainResult& r, const std::vector<std::vector<double>>& exact) {
  const auto& w = r.layout.find("layers.0.weight");
  const auto& b = r.layout.find("layers.0.bias");
  const std::int64_t d = w.shape[1];
  double num = 0, den = 0;
  for (std::size_t k = 0; k < exact.size(); ++k) {
    for (std::int64_t j = 0; j <= d; ++j) {
      const double trained =
          j < d ? r.params[static_cast<std::size_t>(w.offset + static_cast<std::int64_t>(k) * d + j)]
                : r.params[static_cast<std::size_t>(b.offset + static_cast<std::int64_t>(k))];
      num += (trained - exact[k][static_cast<std::size_t>(j)]) *
             (trained - exact[k][static_cast<std::size_t>(j)]);
      den += exact[k][static_cast<std::size_t>(j)] * exact[k][static_cast<std::size_t>(j)];
    }
  }
  return std::sqrt(num / den);
}

dp::Config linreg_config() {
  dp::Config c;
  c.model = "linreg";
  c.hidden.clear();
  c.data.data = "synthetic-linreg";
  c.batch_size = 1000;  // full batch: the exact gradient of the least-squares loss
  c.steps = 1000;
  c.lr = 0.05;
  c.lr_schedule = "cosine";
  c.run_dir = "none";
  c.progress = "none";
  c.check_every = 50;
  return c;
}

// Every rank's final parameters hash the same (bit-identical replicas).
void require_identical_replicas(const std::vector<float>& p) {
  auto& c = world();
  const std::uint64_t h = dp::hash64(p.data(), p.size() * sizeof(float));
  std::vector<std::uint64_t> all(static_cast<std::size_t>(c.world_size()));
  REQUIRE(c.all_gather(&h, all.data(), sizeof h).ok());
  for (auto other : all) REQUIRE(other == all[0]);
}

// A directory every rank sees (rank 0 creates it; the tests run on one host).
std::string shared_temp_dir() {
  auto& c = world();
  std::string dir;
  if (c.rank() == 0) {
    char tmpl[] = "/tmp/dptrain-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
  }
  std::uint64_t n = dir.size();
  REQUIRE(c.broadcast(&n, sizeof n, 0).ok());
  dir.resize(n);
  REQUIRE(c.broadcast(dir.data(), n, 0).ok());
  return dir;
}

}  // namespace

TEST_CASE("linreg on the synthetic data converges to the least-squares solution", "[training]") {
  const dp::SyntheticLinregSpec spec;
  const dp::Dataset data = dp::make_synthetic_linreg(spec, 0);
  const auto exact = least_squares(data.x, data.y, data.count, data.features, 1);
  const dp::TrainResult r = dp::train(linreg_config(), world());
  const double err = relative_error(r, exact);
  INFO("relative error vs closed form: " << err << " after " << r.steps << " steps");
  CHECK(err < dp::tol::kLeastSquaresRel);
  // The noise has std 0.1, so the optimum's MSE is ~0.01; the test split agrees.
  CHECK(r.final_eval.valid);
  CHECK(r.final_eval.loss < 0.02);
  require_identical_replicas(r.params);
}

TEST_CASE("linreg on NPY files (two outputs) converges to the least-squares solution", "[training]") {
  auto& c = world();
  const std::int64_t n = 400, d = 6, k = 2;
  // The same data on every rank (fixed seed); rank 0 writes the files.
  dp::Rng rng(99);
  std::vector<float> x(static_cast<std::size_t>(n * d)), y(static_cast<std::size_t>(n * k));
  for (auto& v : x) v = static_cast<float>(rng.normal());
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t col = 0; col < k; ++col) {
      double t = col == 0 ? 0.5 : -1.5;
      for (std::int64_t j = 0; j < d; ++j)
        t += x[static_cast<std::size_t>(i * d + j)] *
             (0.3 * static_cast<double>(j) - static_cast<double>(col));
      y[static_cast<std::size_t>(i * k + col)] = static_cast<float>(t + 0.05 * rng.normal());
    }
  const std::string dir = shared_temp_dir();
  if (c.rank() == 0) {
    dp::write_npy(dir + "/x.npy", "<f4", {n, d}, x.data());
    dp::write_npy(dir + "/y.npy", "<f4", {n, k}, y.data());
  }
  REQUIRE(c.barrier().ok());
  dp::Config cfg = linreg_config();
  cfg.data.data = "npy:" + dir + "/x.npy," + dir + "/y.npy";
  cfg.batch_size = 400;
  const dp::TrainResult r = dp::train(cfg, c);
  REQUIRE(c.barrier().ok());
  if (c.rank() == 0) {
    std::remove((dir + "/x.npy").c_str());
    std::remove((dir + "/y.npy").c_str());
    ::rmdir(dir.c_str());
  }
  const double err = relative_error(r, least_squares(x, y, n, d, k));
  INFO("relative error vs closed form: " << err);
  CHECK(err < dp::tol::kLeastSquaresRel);
  CHECK_FALSE(r.final_eval.valid);  // npy data without --test-data: no evaluation
  require_identical_replicas(r.params);
}

TEST_CASE("a replica that drifts stops the run on every rank", "[training]") {
  auto& c = world();
  if (c.world_size() < 2) return;  // needs two replicas to disagree
  dp::Config cfg = linreg_config();
  cfg.steps = 30;
  cfg.check_every = 10;
  dp::TrainHooks hooks;
  hooks.after_step = [&](std::int64_t step, float* params, std::int64_t) {
    if (step == 12 && c.rank() == 1) params[3] += 1e-6f;
  };
  try {
    dp::train(cfg, c, "", hooks);
    FAIL("drift was not detected");
  } catch (const dp::RunError& e) {
    CHECK_THAT(e.what(), Catch::Contains("diverged at step 20") && Catch::Contains("rank(s) 1"));
  }
}

TEST_CASE("bad configurations are refused before any work, with the flag named", "[training]") {
  auto& c = world();
  dp::Config cfg = linreg_config();
  cfg.batch_size = c.world_size() + 1;  // not divisible when world > 1; < world never here
  if (c.world_size() > 1) CHECK_THROWS_WITH(dp::train(cfg, c), Catch::Contains("--batch-size"));
  cfg = linreg_config();
  cfg.lr = 0;
  CHECK_THROWS_WITH(dp::train(cfg, c), Catch::Contains("--lr"));
  cfg = linreg_config();
  cfg.data.data = "npy:/nonexistent/x.npy,/nonexistent/y.npy";
  CHECK_THROWS_WITH(dp::train(cfg, c), Catch::Contains("/nonexistent/x.npy"));
}
