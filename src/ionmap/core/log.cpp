#include "ionmap/core/log.hpp"

#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>

#include <spdlog/sinks/ansicolor_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/spdlog.h>

#include "ionmap/core/error.hpp"

namespace ionmap::log {
namespace {

std::atomic<std::size_t> g_warnings{0};

struct State {
  std::shared_ptr<spdlog::sinks::dist_sink_mt> dist;
  std::shared_ptr<spdlog::sinks::sink> console;
  std::shared_ptr<spdlog::sinks::sink> file;
  std::shared_ptr<spdlog::logger> logger;
  std::mutex mutex;

  State() {
    dist = std::make_shared<spdlog::sinks::dist_sink_mt>();
    auto c = std::make_shared<spdlog::sinks::ansicolor_stderr_sink_mt>(
        isatty(STDERR_FILENO) ? spdlog::color_mode::automatic : spdlog::color_mode::never);
    c->set_pattern("%^%l%$: %v");
    c->set_level(spdlog::level::info);
    console = c;
    dist->add_sink(console);
    logger = std::make_shared<spdlog::logger>("ionmap", dist);
    logger->set_level(spdlog::level::debug);
    logger->flush_on(spdlog::level::debug);
  }
};

State& state() {
  static State s;
  return s;
}

spdlog::level::level_enum toSpd(Level l) {
  switch (l) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

}  // namespace

void debug(const std::string& m) {
  state().logger->debug(m);
}
void info(const std::string& m) {
  state().logger->info(m);
}
void warn(const std::string& m) {
  ++g_warnings;
  state().logger->warn(m);
}
void error(const std::string& m) {
  state().logger->error(m);
}

void setConsoleLevel(Level level) {
  state().console->set_level(toSpd(level));
}

void openFile(const std::string& path) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.file) s.dist->remove_sink(s.file);
  try {
    auto f = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, true);
    f->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l: %v");
    f->set_level(spdlog::level::debug);
    s.file = f;
  } catch (const spdlog::spdlog_ex& e) {
    throw InputError(path, std::string("cannot open the log file: ") + e.what());
  }
  s.dist->add_sink(s.file);
}

void closeFile() {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.file) {
    s.file->flush();
    s.dist->remove_sink(s.file);
    s.file.reset();
  }
}

std::size_t warningCount() {
  return g_warnings.load();
}

}  // namespace ionmap::log
