// libFuzzer target for ionmap's readers: each input is written to a file the chosen reader
// loads (readers take paths), and anything but a clean ionmap::Error is a finding (a crash, a
// sanitizer report, an uncaught std::exception, a leak, a timeout or more memory than the
// limit). The reader is chosen by IONMAP_FUZZ_READER (reader name; "ibd" fuzzes an imzML's
// binary file beside a fixed XML, with checksums off so that mutations reach the data path).
// Run by scripts/fuzz.sh.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "ionmap/core/error.hpp"
#include "ionmap/io/reader.hpp"
#include "ionmap/pipeline/registry.hpp"

namespace {

struct Target {
  ionmap::Registry registry;
  const ionmap::Reader* reader = nullptr;
  std::filesystem::path input;  // the file the reader is given
  std::filesystem::path write;  // the file each fuzz input is written to
  bool verify_checksums = true;
};

Target* target = nullptr;

void writeFile(const std::filesystem::path& p, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* name = std::getenv("IONMAP_FUZZ_READER");
  if (!name) {
    std::cerr << "set IONMAP_FUZZ_READER to a reader name (or 'ibd')\n";
    std::exit(2);
  }
  target = new Target;
  ionmap::registerBuiltinPlugins(target->registry);
  const std::string reader = name;
  // Extensions the readers score by, per reader.
  const std::string ext = reader == "tiff"          ? ".tif"
                          : reader == "image-png"   ? ".png"
                          : reader == "image-jpeg"  ? ".jpg"
                          : reader == "image-bmp"   ? ".bmp"
                          : reader == "matrix-text" ? ".csv"
                          : reader == "transform"   ? ".yaml"
                          : reader == "imzml"       ? ".imzML"
                          : reader == "ibd"         ? ".ibd"
                          : reader == "iontof-text" ? ".txt"
                          : reader == "ang"         ? ".ang"
                          : reader == "ctf"         ? ".ctf"
                          : reader == "dm"          ? ".dm4"
                          : reader == "gwy"         ? ".gwy"
                          : reader == "sxm"         ? ".sxm"
                          : reader == "ibw"         ? ".ibw"
                          : reader == "nanoscope"   ? ".spm"
                          : reader == "tdms"        ? ".tdms"
                          : reader == "csv-table"   ? ".csv"
                                                    : "";
  if (ext.empty()) {
    std::cerr << "unknown fuzz reader '" << reader << "'\n";
    std::exit(2);
  }
  const std::string registered = reader.rfind("image-", 0) == 0 ? "image"
                                 : reader == "ibd"              ? "imzml"
                                 : reader == "transform"        ? "transform-yaml"
                                                                : reader;
  target->reader = &target->registry.readerByName(registered);
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ionmap-fuzz-" + reader + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  target->input = dir / ("input" + ext);
  target->write = target->input;
  if (reader == "imzml" || reader == "ibd") {
    // The other half of the pair, fixed: IONMAP_FUZZ_PAIR names a valid .imzML whose .ibd
    // (for "imzml") or XML (for "ibd") is copied beside the fuzzed file.
    const char* pair = std::getenv("IONMAP_FUZZ_PAIR");
    if (!pair) {
      std::cerr << "set IONMAP_FUZZ_PAIR to a valid .imzML (with its .ibd beside it)\n";
      std::exit(2);
    }
    std::filesystem::path xml = pair, ibd = xml;
    ibd.replace_extension(".ibd");
    const auto copy = std::filesystem::copy_options::overwrite_existing;
    if (reader == "imzml") {
      std::filesystem::copy_file(ibd, dir / "input.ibd", copy);
    } else {
      std::filesystem::copy_file(xml, dir / "input.imzML", copy);
      target->input = dir / "input.imzML";
      target->verify_checksums = false;
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  writeFile(target->write, data, size);
  ionmap::ReadOptions options;
  options.verify_checksums = target->verify_checksums;
  try {
    const ionmap::Dataset ds = ionmap::loadFile(*target->reader, target->input, options);
    if (ds.spectra && ds.spectra->source && ds.spectra->spectrumCount() > 0) {
      // The spectra are read lazily: read them all, as the integrate stage does.
      ionmap::Spectrum s;
      for (std::size_t i = 0; i < ds.spectra->spectrumCount() && i < 64; ++i)
        ds.spectra->source->read(i, s);
    }
  } catch (const ionmap::Error&) {
    // a clean refusal: what a reader must do with a bad file
  }
  return 0;
}
