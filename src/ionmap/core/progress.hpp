// A progress bar for long work, drawn on stderr only when stderr is a terminal and CI is not
// set (so logs and CI output stay clean), and only once the work has taken half a second. advance()
// is thread-safe and cheap: call it from TBB loops freely.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace ionmap {

class Progress {
 public:
  Progress(std::string label, std::size_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(std::size_t n = 1);
  // True when progress would be drawn (terminal on stderr, CI and IONMAP_NO_PROGRESS unset).
  static bool enabled();

 private:
  void draw(std::size_t done, bool final);
  std::string label_;
  std::size_t total_;
  bool enabled_;
  bool drawn_ = false;     // written under mutex_; read in the destructor after all advance()s
  bool finished_ = false;  // the 100 % line has been drawn
  std::atomic<std::size_t> done_{0};
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_draw_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ionmap
