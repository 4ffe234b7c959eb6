#include "ionmap/pipeline/provenance.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/version_info.hpp"

namespace ionmap::provenance {

const char* programVersion() {
  return build_info::kVersion;
}
const char* gitCommit() {
  return build_info::kGitCommit;
}
const char* buildType() {
  return build_info::kBuildType;
}

std::string compiler() {
#if defined(__clang__)
  return fmt::format("Clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  return fmt::format("GCC {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string isoTime(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::system_clock::to_time_t(t);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(ms));
}

void describeProgram(RunRecord& run) {
  run.version = programVersion();
  run.git_commit = gitCommit();
  run.build_type = buildType();
  run.compiler = compiler();
  run.host = hostName();
}

std::string sha256Text(const std::string& text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw ProcessingError("OpenSSL could not compute a SHA-256 digest");
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

std::string sha256File(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    // A folder: the digest of its sorted list of "relative path <tab> sha256" lines, so that a
    // renamed, added, removed or changed file changes it.
    std::vector<std::string> lines;
    for (const auto& e : std::filesystem::recursive_directory_iterator(file)) {
      if (!e.is_regular_file()) continue;
      lines.push_back(std::filesystem::relative(e.path(), file).generic_string() + "\t" +
                      sha256File(e.path()) + "\n");
    }
    std::sort(lines.begin(), lines.end());
    std::string all;
    for (const auto& l : lines) all += l;
    return sha256Text(all);
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw InputError(file.string(),
                     std::string("cannot open to compute sha256: ") + std::strerror(errno));
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw ProcessingError("OpenSSL could not start a SHA-256 digest");
  }
  std::vector<char> buf(1 << 20);
  std::uint64_t offset = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  if (in.bad()) throw InputError(file.string(), offset, "read error while computing sha256");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

}  // namespace ionmap::provenance
