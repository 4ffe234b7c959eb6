// Peak resident memory of this process (Linux /proc), for memory-bound tests and benchmarks.
#pragma once

#include <cstdlib>
#include <fstream>
#include <string>

namespace ionmap::test {

// VmHWM in MiB: the most resident memory the process has used since start or the last reset.
inline double peakRssMiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return 0;
}

// Resets VmHWM to the current resident size, so that the next peakRssMiB() covers only what
// happens from now on.
inline void resetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5\n";
}

}  // namespace ionmap::test
