// Logging for the whole program: messages go to stderr and, while a run is in progress, to
// that run's run.log. A thin wrapper so that spdlog's headers stay in one .cpp file.
#pragma once

#include <cstddef>
#include <string>

namespace ionmap::log {

enum class Level { kDebug, kInfo, kWarn, kError, kOff };

void debug(const std::string& message);
void info(const std::string& message);
void warn(const std::string& message);
void error(const std::string& message);

// Console threshold (default kInfo). File output always records kDebug and above.
void setConsoleLevel(Level level);
// Starts copying every message to `path` (truncating it); throws InputError if it can't open.
void openFile(const std::string& path);
void closeFile();
// Warnings logged since the program started (for run summaries).
std::size_t warningCount();

}  // namespace ionmap::log
