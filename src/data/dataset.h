// An in-memory data set: features X[count, features] (float32, row-major) and either
// integer class labels [count] (classification) or float targets Y[count, target_dim]
// (regression). The loss follows the targets: labels -> softmax cross-entropy,
// float targets -> mean squared error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dp {

struct Dataset {
  std::string name;          // for messages, e.g. "fashion-mnist train (.../train-images-idx3-ubyte.gz)"
  std::string targets_path;  // the file of the labels or targets (for messages; a name when generated)
  std::int64_t count = 0;
  std::int64_t features = 0;
  std::vector<float> x;  // [count, features]

  // Classification: labels in [0, num_classes).
  std::vector<std::int32_t> labels;
  std::int64_t num_classes = 0;

  // Regression: y[count, target_dim].
  std::vector<float> y;
  std::int64_t target_dim = 0;

  bool is_classification() const { return num_classes > 0; }
  // Sizes x for count x features values. The buffer is asked to live on transparent
  // huge pages before it is first touched: every step gathers random rows from it, and
  // with 4 KiB pages the address-translation misses dominated that gather (measured
  // 0.2-1.2 ms vs 0.09 ms per 128-row batch of Fashion-MNIST).
  void resize_features(std::int64_t rows, std::int64_t width);
  // Width of the model's output layer: classes or regression targets.
  std::int64_t output_dim() const { return is_classification() ? num_classes : target_dim; }
};

}  // namespace dp
