// Readers turn an instrument's file into a Dataset. The registry asks every reader to score
// a file from its name and first bytes and lets the best one load it, so users pass paths,
// never format names. Readers never trust sizes in headers: every offset and count is
// checked against the file size before use, and problems are InputErrors naming the file
// and byte offset.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ionmap/core/curve_set.hpp"
#include "ionmap/core/map.hpp"
#include "ionmap/core/orientation_map.hpp"
#include "ionmap/core/spectrum_image.hpp"
#include "ionmap/core/table.hpp"
#include "ionmap/core/transform2d.hpp"

namespace ionmap {

// Everything a file holds, calibrated as far as the file allows.
struct Dataset {
  std::string format;  // reader name, e.g. "tiff"
  std::vector<Map> maps;
  std::vector<LabelMap> label_maps;
  std::vector<Table> tables;
  std::vector<CurveSet> curves;
  std::shared_ptr<SpectrumImage> spectra;
  std::vector<Transform2D> transforms;
  std::vector<OrientationMap> orientation_maps;  // crystal orientations (EBSD)
  Metadata metadata;                             // file-level (instrument, date, software ...)
};

// What the pipeline knows that the file may not.
struct ReadOptions {
  double pixel_x = 0.0;                    // µm; 0 = take from the file
  double pixel_y = 0.0;                    // µm; 0 = same as pixel_x
  std::string unit;                        // value unit; "" = from the file
  std::vector<std::string> channel_names;  // e.g. mass labels for a TIFF stack
  bool verify_checksums = true;            // verify checksums a file declares (imzML SHA-1/MD5)
};

// The pixel size in a sidecar "<file>.pixelsize.txt" beside `file`: a number and a length unit
// ("0.1 um", "100 nm"), in µm; 0 when there is no sidecar. Throws InputError naming the sidecar
// when it is there but unreadable.
double sidecarPixelSize(const std::filesystem::path& file);

class Reader {
 public:
  virtual ~Reader() = default;
  virtual std::string name() const = 0;         // "tiff"
  virtual std::string description() const = 0;  // one line for `ionmap inspect`/docs
  // 0 = cannot read this file; 100 = certain (magic bytes and extension agree).
  virtual int score(const std::filesystem::path& path,
                    const std::vector<std::uint8_t>& head) const = 0;
  virtual Dataset load(const std::filesystem::path& path, const ReadOptions& options) const = 0;
};

// How many leading bytes are passed to score().
inline constexpr std::size_t kHeadBytes = 4096;
// Reads up to kHeadBytes; throws InputError when the file is missing or unreadable.
std::vector<std::uint8_t> readHead(const std::filesystem::path& path);
// Lower-case extension without the dot ("tif" for "a.TIF").
std::string lowerExtension(const std::filesystem::path& path);

// The memory (bytes) ionmap may use, for one file's data and for a stage's work beside what the
// run already holds: IONMAP_MAX_MEMORY ("8G", "512M", "1.5G" or bytes) when set, else half the
// machine's physical memory. A malformed value is a UsageError.
std::uint64_t memoryBudget();
// The memory this process holds now (resident set, bytes; 0 where unknown).
std::uint64_t residentBytes();
// What is left of memoryBudget() beside residentBytes() (at least 0): what a stage may still
// take for its own work.
std::uint64_t memoryLeft();
// Throws InputError naming the file when `bytes` (what `what` would take) exceed
// memoryBudget(): checked before an allocation sized from a file's header.
void checkMemory(const std::filesystem::path& path, std::uint64_t bytes, const std::string& what);
// reader.load(), with running out of memory an InputError that names the file.
Dataset loadFile(const Reader& reader, const std::filesystem::path& path,
                 const ReadOptions& options);

}  // namespace ionmap
