#include "test_util.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ionmap::test {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("ionmap-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {
std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
}  // namespace

CliResult runIonmap(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  TempDir tmp;
  std::string cmd = "env CI=true";
  for (const auto& e : env) cmd += " " + quote(e);
  cmd += " " + quote(IONMAP_EXE);
  for (const auto& a : args) cmd += " " + quote(a);
  cmd +=
      " >" + quote((tmp / "out").string()) + " 2>" + quote((tmp / "err").string()) + " </dev/null";
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = readFile(tmp / "out");
  r.err = readFile(tmp / "err");
  return r;
}

std::filesystem::path findOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  std::size_t pos = 0;
  while (pos <= dirs.size()) {
    std::size_t colon = dirs.find(':', pos);
    if (colon == std::string::npos) colon = dirs.size();
    const std::filesystem::path candidate =
        std::filesystem::path(dirs.substr(pos, colon - pos)) / program;
    std::error_code ec;
    if (colon > pos && std::filesystem::is_regular_file(candidate, ec) &&
        access(candidate.c_str(), X_OK) == 0)
      return candidate;
    pos = colon + 1;
  }
  return {};
}

std::filesystem::path sourceDir() {
  return IONMAP_SOURCE_DIR;
}
std::filesystem::path samplesDir() {
  return sourceDir() / "data" / "samples" / "basic";
}

std::filesystem::path instrumentFilesDir() {
  const std::filesystem::path p =
      std::filesystem::path(IONMAP_SHARED_DIR) / "data" / "instrument-files";
  std::error_code ec;
  return std::filesystem::is_directory(p, ec) ? p : std::filesystem::path();
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const std::filesystem::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary);
  out << content;
}

}  // namespace ionmap::test
