#include <fmt/format.h>

#include "generic/readers.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/tiff.hpp"

namespace ionmap::generic {

void applyReadOptions(Map& map, const ReadOptions& options) {
  if (options.pixel_x > 0) {
    map.grid.pixel_x = options.pixel_x;
    map.grid.pixel_y = options.pixel_y > 0 ? options.pixel_y : options.pixel_x;
    map.grid.calibrated = true;
    map.metadata.emplace_back("pixel_size_source", "pipeline");
  }
  if (!options.unit.empty()) map.unit = options.unit;
}

namespace {

class TiffReader : public Reader {
 public:
  std::string name() const override { return "tiff"; }
  std::string description() const override {
    return "TIFF images and multi-page stacks (8-64-bit integer, 32/64-bit float; pixel size "
           "from resolution tags or ImageJ metadata)";
  }
  int score(const std::filesystem::path& path, const std::vector<std::uint8_t>& h) const override {
    if (h.size() < 4) return 0;
    const bool le = h[0] == 'I' && h[1] == 'I' && (h[2] == 42 || h[2] == 43) && h[3] == 0;
    const bool be = h[0] == 'M' && h[1] == 'M' && h[2] == 0 && (h[3] == 42 || h[3] == 43);
    if (!le && !be) return 0;
    const std::string ext = lowerExtension(path);
    return ext == "tif" || ext == "tiff" ? 100 : 80;
  }
  Dataset load(const std::filesystem::path& path, const ReadOptions& options) const override {
    auto pages = tiff::readAll(path);
    Dataset ds;
    ds.format = name();
    for (std::size_t i = 0; i < pages.size(); ++i) {
      auto& p = pages[i];
      Grid g;
      g.width = p.values.width();
      g.height = p.values.height();
      g.calibrated = p.pixel_x_um > 0;
      if (g.calibrated) g.pixel_x = p.pixel_x_um, g.pixel_y = p.pixel_y_um;
      std::string channel = i < options.channel_names.size() ? options.channel_names[i] : p.name;
      if (channel.empty())
        channel = pages.size() == 1 ? path.stem().string() : fmt::format("page{}", i);
      Map m(channel, g, "");
      m.values = std::move(p.values);
      m.metadata = std::move(p.metadata);
      m.metadata.emplace_back("page", std::to_string(i));
      applyReadOptions(m, options);
      const std::size_t bad = m.maskNonFinite();
      if (bad) m.metadata.emplace_back("non_finite_pixels_masked", std::to_string(bad));
      ds.maps.push_back(std::move(m));
    }
    ds.metadata.emplace_back("pages", std::to_string(pages.size()));
    return ds;
  }
};

}  // namespace

std::unique_ptr<Reader> makeTiffReader() {
  return std::make_unique<TiffReader>();
}

}  // namespace ionmap::generic
