#include "ionmap/io/reader.hpp"

#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/units.hpp"

namespace ionmap {

std::vector<std::uint8_t> readHead(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path.string(), "file does not exist");
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError(path.string(), "is a directory, expected a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string(), std::string("cannot open: ") + std::strerror(errno));
  std::vector<std::uint8_t> head(kHeadBytes);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head;
}

std::string lowerExtension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  if (!ext.empty() && ext[0] == '.') ext.erase(0, 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

std::uint64_t memoryBudget() {
  if (const char* env = std::getenv("IONMAP_MAX_MEMORY"); env && *env) {
    const std::string text = env;
    std::size_t used = 0;
    double value = 0;
    try {
      value = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    std::string suffix = text.substr(used);
    double scale = 1;
    if (suffix == "K" || suffix == "k") scale = 1024.0;
    if (suffix == "M") scale = 1024.0 * 1024;
    if (suffix == "G") scale = 1024.0 * 1024 * 1024;
    if (suffix == "T") scale = 1024.0 * 1024 * 1024 * 1024;
    if (used == 0 || !(value > 0) || (!suffix.empty() && scale == 1)) {
      throw UsageError("IONMAP_MAX_MEMORY='" + text +
                       "' is not a memory size (bytes, or a number with K, M, G or T)");
    }
    return static_cast<std::uint64_t>(value * scale);
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return std::uint64_t{8} << 30;  // unknown: 8 GiB
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) / 2;
}

std::uint64_t residentBytes() {
  std::ifstream statm("/proc/self/statm");
  unsigned long long size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  const long page = sysconf(_SC_PAGE_SIZE);
  return page > 0 ? resident * static_cast<std::uint64_t>(page) : 0;
}

std::uint64_t memoryLeft() {
#ifdef __GLIBC__
  malloc_trim(0);  // what earlier stages freed goes back to the system, not into the count
#endif
  const std::uint64_t budget = memoryBudget(), used = residentBytes();
  return budget > used ? budget - used : 0;
}

void checkMemory(const std::filesystem::path& path, std::uint64_t bytes, const std::string& what) {
  const std::uint64_t budget = memoryBudget();
  if (bytes > budget) {
    throw InputError(
        path.string(),
        fmt::format("{} would take {:.3g} GB, more than the memory budget of {:.3g} "
                    "GB (IONMAP_MAX_MEMORY, default half the machine's memory)",
                    what, static_cast<double>(bytes) / 1e9, static_cast<double>(budget) / 1e9));
  }
}

Dataset loadFile(const Reader& reader, const std::filesystem::path& path,
                 const ReadOptions& options) {
  try {
    return reader.load(path, options);
  } catch (const std::bad_alloc&) {
    throw InputError(path.string(),
                     "out of memory while reading this file (corrupt sizes in its header, or "
                     "a file too large for this machine)");
  }
}

double sidecarPixelSize(const std::filesystem::path& file) {
  const std::filesystem::path side = file.string() + ".pixelsize.txt";
  std::ifstream in(side);
  if (!in) return 0;
  double v = 0;
  std::string unit;
  if (!(in >> v >> unit) || !(v > 0)) {
    throw InputError(side.string(), "expected a pixel size and its unit, e.g. \"0.1 um\"");
  }
  const auto f = units::lengthToMicrometres(unit);
  if (!f) throw InputError(side.string(), "unknown length unit '" + unit + "' (use m, mm, um, nm)");
  return v * *f;
}

}  // namespace ionmap
