#include "src/train/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "src/util/check.h"
#include "src/util/timer.h"

namespace dp {
namespace {

std::string format_duration(double s) {
  if (s < 0 || s > 1e7) return "?";
  const auto t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

std::string format_rate(double r) {
  char buf[32];
  if (r >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", r / 1e6);
  else if (r >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", r / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", r);
  return buf;
}

}  // namespace

Progress::Mode Progress::resolve(const std::string& mode_name) {
  if (mode_name == "none") return Mode::none;
  if (mode_name == "bar") return Mode::bar;
  if (mode_name == "lines") return Mode::lines;
  // A terminal has a size. Under mpirun a rank's stdout is always a pseudo-terminal, but
  // Open MPI gives it mpirun's window size only when mpirun itself writes to a terminal
  // (0 x 0 when its output goes to a file or a pipe), so the size is the reliable test.
  struct winsize ws {};
  const bool terminal =
      ::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0;
  return terminal ? Mode::bar : Mode::lines;
}

Progress::Progress(Mode mode, bool is_root, std::int64_t total_steps, std::int64_t epochs,
                   std::int64_t log_every)
    : mode_(is_root ? mode : Mode::none),
      root_(is_root),
      total_steps_(total_steps),
      epochs_(epochs),
      log_every_(log_every),
      start_s_(now_seconds()) {}

std::string Progress::status_text(const StepStats& s, bool with_bar) const {
  const double elapsed = now_seconds() - start_s_;
  const double eta =
      s.step > 0 ? elapsed * static_cast<double>(total_steps_ - s.step) / static_cast<double>(s.step) : -1;
  std::string bar;
  if (with_bar) {
    constexpr int width = 24;
    const int filled = static_cast<int>(width * s.step / std::max<std::int64_t>(1, total_steps_));
    bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
          std::string(static_cast<std::size_t>(width - filled), '.') + "] ";
  }
  // Most important first: a narrow terminal truncates the end of the line.
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "epoch %lld/%lld %sstep %lld/%lld  loss %.4f  %s samples/s  eta %s  lr %.2e  "
                "(data %.0f%% compute %.0f%% comm %.0f%% optim %.0f%%)",
                static_cast<long long>(s.epoch + 1), static_cast<long long>(epochs_), bar.c_str(),
                static_cast<long long>(s.step), static_cast<long long>(total_steps_), s.loss,
                format_rate(s.samples_per_s).c_str(), format_duration(eta).c_str(), s.lr, 100 * s.data_frac,
                100 * s.compute_frac, 100 * s.comm_frac, 100 * s.optim_frac);
  return buf;
}

void Progress::update(const StepStats& s) {
  if (mode_ == Mode::lines) {
    if (s.step % log_every_ == 0 || s.step == total_steps_) {
      std::printf("%s\n", status_text(s, false).c_str());
      std::fflush(stdout);
    }
  } else if (mode_ == Mode::bar) {
    const double t = now_seconds();
    if (t - last_draw_s_ < 0.1 && s.step != total_steps_) return;  // ~10 redraws per second
    last_draw_s_ = t;
    // Never wider than the terminal: a wrapped line could not be redrawn in place.
    std::string text = status_text(s, true);
    struct winsize ws {};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && text.size() >= ws.ws_col)
      text.resize(ws.ws_col - 1u);
    std::printf("\r\033[K%s", text.c_str());
    std::fflush(stdout);
    bar_visible_ = true;
  }
}

void Progress::print_line(const std::string& line) {
  if (!root_) return;
  if (bar_visible_) std::printf("\r\033[K");
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  bar_visible_ = false;
}

void Progress::epoch_line(const std::string& line) {
  if (mode_ != Mode::none) print_line(line);
}

void Progress::finish() {
  if (bar_visible_) std::printf("\n");
  bar_visible_ = false;
  std::fflush(stdout);
}

}  // namespace dp
