// Gwyddion native files (.gwy, GWYP serialization): a little-endian tree of serialized
// objects — name, uint32 size, then components of name, one-letter type and value (b c i q d s
// o and the arrays C I Q D S O). The top object is a GwyContainer whose "/N/data" components
// are GwyDataFields (xres, yres, xreal, yreal, xoff, yoff, si_unit_xy, si_unit_z, data), with
// "/N/data/title", "/N/mask" and "/N/meta". Old Gwyddion 1.x files (GWYO) are refused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ionmap/io/reader.hpp"

namespace ionmap::spm {

// One serialized object, fully parsed (sizes checked against the object's own size and the
// file; nesting limited to 64 levels).
struct GwyObject;
struct GwyComponent {
  std::string name;
  char type = 0;                      // b c i q d s o C I Q D S O
  double number = 0;                  // b c i q d
  std::string text;                   // s
  std::shared_ptr<GwyObject> object;  // o
  std::vector<double> numbers;        // C I Q D
  std::vector<std::string> texts;     // S
  std::vector<GwyObject> objects;     // O
  std::size_t offset = 0;             // of the component in the file
};
struct GwyObject {
  std::string type;  // "GwyContainer", "GwyDataField", ...
  std::vector<GwyComponent> components;
  std::size_t offset = 0;
  const GwyComponent* find(const std::string& name) const;
  GwyComponent* find(const std::string& name);
};

// The top-level object of a .gwy file. Throws InputError naming the file and byte offset.
GwyObject parseGwy(const std::filesystem::path& file);

// Every data channel as a map named after its title, with metadata; a channel's mask (if any)
// marks its pixels invalid.
Dataset gwyDataset(GwyObject top, const std::string& file, const ReadOptions& options);

std::unique_ptr<Reader> makeGwyReader();

}  // namespace ionmap::spm
