// SpectrumImage: one mass spectrum per pixel on a physical grid. Spectra are fetched one at a
// time from a SpectrumSource, so a multi-GB file is streamed and never held in memory: the
// memory bound is one spectrum per concurrent reader plus the per-pixel index.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ionmap/core/map.hpp"

namespace ionmap {

struct Spectrum {
  std::vector<double> mz;         // mass-to-charge (u), ascending
  std::vector<double> intensity;  // counts (or the file's intensity unit)
};

// Where spectra come from. Implementations must allow concurrent read() calls.
class SpectrumSource {
 public:
  virtual ~SpectrumSource() = default;
  virtual std::size_t count() const = 0;
  // Fills `out` with spectrum `index` (0 ≤ index < count()), reusing its storage.
  virtual void read(std::size_t index, Spectrum& out) const = 0;
};

// Spectra held in memory (small files, synthetic data, tests).
class InMemorySpectra : public SpectrumSource {
 public:
  explicit InMemorySpectra(std::vector<Spectrum> spectra) : spectra_(std::move(spectra)) {}
  std::size_t count() const override { return spectra_.size(); }
  void read(std::size_t index, Spectrum& out) const override;

 private:
  std::vector<Spectrum> spectra_;
};

// Binary array types found in instrument files (little-endian).
enum class BinaryType { kFloat32, kFloat64, kInt32, kInt64, kUInt32, kUInt64 };
std::size_t binaryTypeSize(BinaryType t);

// Where one array lives in a file.
struct ArrayLocation {
  std::uint64_t offset = 0;  // bytes from the start of the file
  std::uint64_t length = 0;  // number of elements
  BinaryType type = BinaryType::kFloat32;
  // zlib-compressed arrays: the number of bytes stored at `offset` (0 = not compressed).
  std::uint64_t compressed_bytes = 0;
  std::uint64_t storedBytes() const;
};

struct SpectrumLocation {
  ArrayLocation mz;
  ArrayLocation intensity;
};

// Spectra streamed from little-endian arrays (optionally zlib-compressed) in one binary file
// (the imzML .ibd layout). The constructor checks every offset and length against the file size and
// throws InputError naming the spectrum and byte offset that lies outside the file.
class RawFileSpectra : public SpectrumSource {
 public:
  RawFileSpectra(std::string path, std::vector<SpectrumLocation> locations);
  ~RawFileSpectra() override;
  RawFileSpectra(const RawFileSpectra&) = delete;
  RawFileSpectra& operator=(const RawFileSpectra&) = delete;

  std::size_t count() const override { return locations_.size(); }
  void read(std::size_t index, Spectrum& out) const override;

 private:
  void readArray(const ArrayLocation& loc, std::vector<double>& out) const;
  std::string path_;
  int fd_ = -1;
  std::vector<SpectrumLocation> locations_;
  // Continuous-mode files share one m/z array: read once at open, copied out per spectrum.
  bool shared_mz_ = false;
  std::vector<double> shared_mz_values_;
};

class SpectrumImage {
 public:
  std::string name;
  Grid grid;
  std::string intensity_unit = "counts";
  // For each grid pixel (row-major), the spectrum index in `source`, or -1 for none.
  std::vector<std::int64_t> pixel_spectrum;
  std::shared_ptr<const SpectrumSource> source;
  Metadata metadata;

  std::size_t spectrumCount() const { return source ? source->count() : 0; }
};

}  // namespace ionmap
