// Progress on rank 0: a live bar (redrawn in place) when stdout is a terminal, a line
// every log_every steps otherwise, or no step updates at all (--progress none). Summary
// lines (print_line) appear on rank 0 in every mode; other ranks print nothing.
#pragma once

#include <cstdint>
#include <string>

namespace dp {

struct StepStats {
  std::int64_t step = 0;   // steps completed
  std::int64_t epoch = 0;  // 0-based
  double loss = 0.0;
  double lr = 0.0;
  double samples_per_s = 0.0;
  // Fractions of the step time spent in each phase, over the reporting window.
  double data_frac = 0.0, compute_frac = 0.0, comm_frac = 0.0, optim_frac = 0.0;
};

class Progress {
 public:
  enum class Mode { none, bar, lines };
  // mode_name: auto | bar | lines | none; auto picks bar on a terminal, lines otherwise.
  static Mode resolve(const std::string& mode_name);

  Progress(Mode mode, bool is_root, std::int64_t total_steps, std::int64_t epochs, std::int64_t log_every);
  void update(const StepStats& s);
  // A full line (start banner, final summary): clears the bar first, then prints.
  void print_line(const std::string& line);
  // An epoch summary: like print_line, but silent under --progress none.
  void epoch_line(const std::string& line);
  void finish();

 private:
  std::string status_text(const StepStats& s, bool with_bar) const;
  Mode mode_;
  bool root_;
  std::int64_t total_steps_, epochs_, log_every_;
  double start_s_;
  double last_draw_s_ = 0.0;
  bool bar_visible_ = false;
};

}  // namespace dp
