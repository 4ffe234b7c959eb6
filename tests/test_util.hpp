// Helpers shared by the tests: temporary folders, running the ionmap program, paths.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ionmap::test {

// A fresh folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs the built `ionmap` with arguments (shell-quoted here) and optional environment
// assignments ("NAME=value").
CliResult runIonmap(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

std::filesystem::path sourceDir();
std::filesystem::path samplesDir();  // data/samples/basic
// ../shared/data/instrument-files, or "" when absent (a user's clone).
std::filesystem::path instrumentFilesDir();
// Skips the calling test, with a visible message, when ../shared is absent (a user's clone).
#define IONMAP_REQUIRE_SHARED()                                                                  \
  if (::ionmap::test::instrumentFilesDir().empty()) {                                            \
    GTEST_SKIP()                                                                                 \
        << "../shared/data/instrument-files not found (a user's clone): real-file test skipped"; \
  }
// The full path of an executable found on PATH, "" when there is none.
std::filesystem::path findOnPath(const std::string& program);
std::string readFile(const std::filesystem::path& p);
void writeFile(const std::filesystem::path& p, const std::string& content);

}  // namespace ionmap::test
