#include "ionmap/core/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ionmap {

bool Progress::enabled() {
  const char* ci = std::getenv("CI");
  const char* off = std::getenv("IONMAP_NO_PROGRESS");
  if ((ci && *ci && std::strcmp(ci, "false") != 0) || (off && *off)) return false;
  return isatty(STDERR_FILENO) == 1;
}

Progress::Progress(std::string label, std::size_t total)
    : label_(std::move(label)), total_(total), enabled_(enabled() && total > 0) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  if (enabled_ && drawn_ && !finished_) draw(done_.load(), true);
}

void Progress::advance(std::size_t n) {
  const std::size_t done = done_.fetch_add(n) + n;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  // Only long work gets a bar: nothing is drawn during the first half second.
  if (now - start_ < std::chrono::milliseconds(500)) return;
  if (now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
  std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  if (finished_) return;
  last_draw_ = now;
  drawn_ = true;
  finished_ = done >= total_;
  draw(done, finished_);  // the last draw ends the line, so later log lines start clean
}

void Progress::draw(std::size_t done, bool final) {
  constexpr int kWidth = 30;
  const double frac = total_ ? std::min(1.0, static_cast<double>(done) / total_) : 1.0;
  const int filled = static_cast<int>(frac * kWidth);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
  bar[kWidth] = '\0';
  // Counts (done of total) and, while running, the time left at the pace so far.
  char eta[32] = "";
  if (!final && frac > 0.02)
    std::snprintf(eta, sizeof eta, ", %.0f s left", secs * (1 - frac) / frac);
  std::fprintf(stderr, "\r%-24.24s [%s] %zu/%zu  %.1f s%s%s", label_.c_str(), bar, done, total_,
               secs, eta, final ? "\n" : "   ");
  std::fflush(stderr);
}

}  // namespace ionmap
