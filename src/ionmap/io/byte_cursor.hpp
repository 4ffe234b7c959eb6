// ByteCursor: numbers and strings from a file held in memory, in a chosen byte order, every
// read checked against the end of the data. A read that would pass the end, or a value the
// caller refuses (fail()), is an InputError naming the file and the byte offset.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ionmap/core/error.hpp"

namespace ionmap {

// The whole file; InputError when it cannot be read or is larger than `max_bytes`.
std::vector<std::uint8_t> readFileBytes(const std::filesystem::path& file,
                                        std::uint64_t max_bytes = std::uint64_t(1) << 32);

class ByteCursor {
 public:
  ByteCursor(std::string file, const std::vector<std::uint8_t>& bytes, bool little_endian = true)
      : file_(std::move(file)), data_(bytes.data()), size_(bytes.size()), little_(little_endian) {}

  const std::string& file() const { return file_; }
  std::size_t pos() const { return pos_; }
  std::size_t size() const { return size_; }
  std::size_t left() const { return size_ - pos_; }
  bool littleEndian() const { return little_; }
  void setLittleEndian(bool little) { little_ = little; }

  // Throws unless `n` bytes remain (naming `what` when given).
  void need(std::size_t n, const char* what = nullptr) const;
  void seek(std::size_t at);
  void skip(std::size_t n) {
    need(n);
    pos_ += n;
  }
  // The next `n` bytes (valid while the data live), advancing past them.
  const std::uint8_t* take(std::size_t n, const char* what = nullptr) {
    need(n, what);
    const std::uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }

  template <class T>
  T get(const char* what = nullptr) {
    static_assert(std::is_arithmetic_v<T>);
    const std::uint8_t* p = take(sizeof(T), what);
    return decode<T>(p);
  }
  // A value at a given offset of the data, in the cursor's byte order (the cursor stays).
  template <class T>
  T at(std::size_t offset) const {
    if (offset > size_ || sizeof(T) > size_ - offset) failAt(offset, "value past the end");
    return decode<T>(data_ + offset);
  }

  // A NUL-terminated string (the NUL is consumed); fails when none ends within `max` bytes.
  std::string cstring(std::size_t max = 1 << 20, const char* what = nullptr);
  // `n` bytes of text, cut at the first NUL.
  std::string fixedString(std::size_t n, const char* what = nullptr);

  [[noreturn]] void fail(const std::string& message) const { failAt(pos_, message); }
  [[noreturn]] void failAt(std::size_t offset, const std::string& message) const {
    throw InputError(file_, offset, message);
  }

  template <class T>
  T decode(const std::uint8_t* p) const {
    std::uint8_t b[sizeof(T)];
    std::memcpy(b, p, sizeof(T));
    if (little_ != hostLittle()) {
      for (std::size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
    }
    T v;
    std::memcpy(&v, b, sizeof(T));
    return v;
  }

 private:
  static bool hostLittle() {
    const std::uint16_t one = 1;
    std::uint8_t b;
    std::memcpy(&b, &one, 1);
    return b == 1;
  }
  std::string file_;
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  bool little_;
};

}  // namespace ionmap
