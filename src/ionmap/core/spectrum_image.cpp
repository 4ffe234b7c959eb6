#include "ionmap/core/spectrum_image.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <zlib.h>

#include "ionmap/core/error.hpp"

namespace ionmap {

void InMemorySpectra::read(std::size_t index, Spectrum& out) const {
  if (index >= spectra_.size()) {
    throw ProcessingError(
        fmt::format("spectrum {} requested, only {} exist", index, spectra_.size()));
  }
  out = spectra_[index];
}

std::size_t binaryTypeSize(BinaryType t) {
  switch (t) {
    case BinaryType::kFloat32:
    case BinaryType::kInt32:
    case BinaryType::kUInt32:
      return 4;
    case BinaryType::kFloat64:
    case BinaryType::kInt64:
    case BinaryType::kUInt64:
      return 8;
  }
  return 8;
}

std::uint64_t ArrayLocation::storedBytes() const {
  return compressed_bytes ? compressed_bytes : length * binaryTypeSize(type);
}

RawFileSpectra::RawFileSpectra(std::string path, std::vector<SpectrumLocation> locations)
    : path_(std::move(path)), locations_(std::move(locations)) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw InputError(path_, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    ::close(fd_);
    throw InputError(path_, std::string("cannot stat: ") + std::strerror(errno));
  }
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  auto check = [&](const ArrayLocation& a, std::size_t i, const char* what) {
    const std::uint64_t bytes = a.storedBytes();
    if ((!a.compressed_bytes && a.length > file_size) || a.offset > file_size ||
        bytes > file_size - a.offset) {
      ::close(fd_);
      throw InputError(path_, a.offset,
                       fmt::format("spectrum {}: {} array of {} values ({} bytes) extends past "
                                   "the end of the file ({} bytes)",
                                   i, what, a.length, bytes, file_size));
    }
  };
  // zlib cannot inflate beyond about 1032:1; a larger claim is a corrupt length, and
  // trusting it would allocate without bound.
  auto check_inflated = [&](const ArrayLocation& a, std::size_t i, const char* what) {
    if (a.compressed_bytes && (a.length > (1ull << 40) || a.length * binaryTypeSize(a.type) >
                                                              1100 * a.compressed_bytes + 1024)) {
      ::close(fd_);
      throw InputError(path_, a.offset,
                       fmt::format("spectrum {}: {} array claims {} values from only {} compressed "
                                   "bytes",
                                   i, what, a.length, a.compressed_bytes));
    }
  };
  for (std::size_t i = 0; i < locations_.size(); ++i) {
    check_inflated(locations_[i].mz, i, "m/z");
    check_inflated(locations_[i].intensity, i, "intensity");
    check(locations_[i].mz, i, "m/z");
    check(locations_[i].intensity, i, "intensity");
  }
  shared_mz_ = !locations_.empty();
  for (const auto& l : locations_) {
    const auto& a = l.mz;
    const auto& b = locations_.front().mz;
    if (a.offset != b.offset || a.length != b.length || a.type != b.type ||
        a.compressed_bytes != b.compressed_bytes) {
      shared_mz_ = false;
      break;
    }
  }
  if (shared_mz_) {
    try {
      readArray(locations_.front().mz, shared_mz_values_);
    } catch (...) {
      ::close(fd_);
      throw;
    }
  }
}

RawFileSpectra::~RawFileSpectra() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {
template <typename T>
void convert(const unsigned char* src, std::size_t n, std::vector<double>& out) {
  for (std::size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    out[i] = static_cast<double>(v);
  }
}
}  // namespace

void RawFileSpectra::readArray(const ArrayLocation& loc, std::vector<double>& out) const {
  const std::size_t esize = binaryTypeSize(loc.type);
  std::vector<unsigned char> buf(loc.storedBytes());
  std::size_t done = 0;
  while (done < buf.size()) {
    const ssize_t r =
        ::pread(fd_, buf.data() + done, buf.size() - done, static_cast<off_t>(loc.offset + done));
    if (r <= 0) {
      throw InputError(path_, loc.offset + done,
                       r == 0 ? "unexpected end of file (was the file truncated while open?)"
                              : std::string("read failed: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(r);
  }
  if (loc.compressed_bytes) {
    std::vector<unsigned char> raw(loc.length * esize);
    uLongf raw_len = static_cast<uLongf>(raw.size());
    const int rc = uncompress(raw.data(), &raw_len, buf.data(), static_cast<uLong>(buf.size()));
    if (rc != Z_OK || raw_len != raw.size()) {
      throw InputError(
          path_, loc.offset,
          fmt::format("zlib array of {} bytes does not inflate to {} values ({})",
                      loc.compressed_bytes, loc.length, rc == Z_OK ? "wrong length" : zError(rc)));
    }
    buf.swap(raw);
  }
  out.resize(loc.length);
  switch (loc.type) {
    case BinaryType::kFloat32:
      convert<float>(buf.data(), loc.length, out);
      break;
    case BinaryType::kFloat64:
      convert<double>(buf.data(), loc.length, out);
      break;
    case BinaryType::kInt32:
      convert<std::int32_t>(buf.data(), loc.length, out);
      break;
    case BinaryType::kInt64:
      convert<std::int64_t>(buf.data(), loc.length, out);
      break;
    case BinaryType::kUInt32:
      convert<std::uint32_t>(buf.data(), loc.length, out);
      break;
    case BinaryType::kUInt64:
      convert<std::uint64_t>(buf.data(), loc.length, out);
      break;
  }
}

void RawFileSpectra::read(std::size_t index, Spectrum& out) const {
  if (index >= locations_.size()) {
    throw ProcessingError(fmt::format("spectrum {} requested from '{}', only {} exist", index,
                                      path_, locations_.size()));
  }
  if (shared_mz_) {
    out.mz = shared_mz_values_;
  } else {
    readArray(locations_[index].mz, out.mz);
  }
  readArray(locations_[index].intensity, out.intensity);
}

}  // namespace ionmap
