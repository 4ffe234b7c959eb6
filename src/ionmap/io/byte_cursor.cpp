#include "ionmap/io/byte_cursor.hpp"

#include <fstream>

#include <fmt/format.h>

namespace ionmap {

std::vector<std::uint8_t> readFileBytes(const std::filesystem::path& file,
                                        std::uint64_t max_bytes) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) throw InputError(file.string(), "cannot be read: " + ec.message());
  if (size > max_bytes) {
    throw InputError(file.string(), fmt::format("is {} bytes, more than this reader reads into "
                                                "memory ({} bytes)",
                                                size, max_bytes));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string(), "cannot be opened");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (size && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    throw InputError(file.string(), "could not be read to its end");
  return bytes;
}

void ByteCursor::need(std::size_t n, const char* what) const {
  if (n > size_ - pos_) {
    failAt(pos_, fmt::format("{}{} bytes needed, but the file ends at byte {} (truncated?)",
                             what ? std::string(what) + ": " : "", n, size_));
  }
}

void ByteCursor::seek(std::size_t at) {
  if (at > size_) failAt(at, fmt::format("offset past the end of the file ({} bytes)", size_));
  pos_ = at;
}

std::string ByteCursor::cstring(std::size_t max, const char* what) {
  const std::size_t start = pos_;
  const std::size_t limit = std::min(size_ - pos_, max);
  const void* nul = std::memchr(data_ + pos_, 0, limit);
  if (!nul) {
    failAt(start, fmt::format("{}a text that should end in a NUL byte runs {}",
                              what ? std::string(what) + ": " : "",
                              limit == max ? fmt::format("longer than {} bytes", max)
                                           : std::string("past the end of the file")));
  }
  const std::size_t n = static_cast<const std::uint8_t*>(nul) - (data_ + pos_);
  std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
  pos_ += n + 1;
  return s;
}

std::string ByteCursor::fixedString(std::size_t n, const char* what) {
  const std::uint8_t* p = take(n, what);
  std::size_t len = 0;
  while (len < n && p[len] != 0) ++len;
  return std::string(reinterpret_cast<const char*>(p), len);
}

}  // namespace ionmap
