// read: loads one channel of any file a registered reader understands, as a map or as labels.
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "generic/stages.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/core/units.hpp"
#include "ionmap/pipeline/registry.hpp"

namespace ionmap::generic {
namespace {

struct ReadParams {
  std::string channel;
  std::string as = "map";
  std::string reader;
  double pixel_size = 0.0;
  double pixel_size_y = 0.0;
  double origin_x = 0.0;
  double origin_y = 0.0;
  std::string unit;
  std::string name;
  bool verify_checksum = true;
  std::string channel_names;
};

class ReadStage final : public StageOf<ReadParams, ReadStage> {
 public:
  static const ParamSchema<ReadParams>& schema() {
    static const auto s =
        ParamSchema<ReadParams>()
            .moved("input", "bind the file as a port instead: `in: {file: <name under inputs:>}`")
            .text("channel", &ReadParams::channel,
                  "channel (page) name or 0-based index; with as: table, the table (e.g. a TDMS "
                  "group); empty = the first")
            .choice("as", &ReadParams::as,
                    {"map", "labels", "spectra", "table", "transform", "orientations"},
                    "`map` for values, `labels` for an integer label image, `spectra` for a "
                    "spectrum image (imzML), `table` for tabular exports (spectra, profiles), "
                    "`transform` "
                    "for a transform saved as YAML by an earlier run, `orientations` for a crystal "
                    "orientation map (EBSD .ang, .ctf)")
            .text("reader", &ReadParams::reader,
                  "force a reader by name (`ionmap inspect` lists them); empty = best score")
            .real("pixel_size", &ReadParams::pixel_size, Range::atLeast(0), "um",
                  "pixel size along x; 0 = from the file or a sidecar <file>.pixelsize.txt holding "
                  "e.g. "
                  "\"0.1 um\" (required when neither has one)")
            .real("pixel_size_y", &ReadParams::pixel_size_y, Range::atLeast(0), "um",
                  "pixel size along y; 0 = same as pixel_size")
            .real("origin_x", &ReadParams::origin_x, Range::any(), "um",
                  "physical x of the outer corner of the first pixel")
            .real("origin_y", &ReadParams::origin_y, Range::any(), "um",
                  "physical y of the outer corner of the first pixel")
            .text("unit", &ReadParams::unit, "unit of the values when the file does not say")
            .text("name", &ReadParams::name, "display name; empty = channel name")
            .text("channel_names", &ReadParams::channel_names,
                  "names of the file's channels/pages in order, comma separated (e.g. mass labels "
                  "`6Li, 7Li, total`); empty = from the file or a sidecar <file>.channels.txt")
            .flag("verify_checksum", &ReadParams::verify_checksum,
                  "verify checksums the file declares (imzML SHA-1/MD5 of the .ibd)");
    return s;
  }
  std::string name() const override { return "read"; }
  std::string summary() const override {
    return "load one channel of an instrument or image file (reader chosen automatically)";
  }
  std::vector<PortSpec> ports() const override {
    return {
        PortSpec::inputFile("file", "the file to read (a name under the pipeline's `inputs:`)"),
        PortSpec::optionalOut("map", ItemKind::kMap, "the channel as a calibrated map (as: map)"),
        PortSpec::optionalOut("labels", ItemKind::kLabelMap, "the channel as labels (as: labels)"),
        PortSpec::optionalOut("spectra", ItemKind::kSpectrumImage,
                              "the spectrum image (as: spectra)"),
        PortSpec::optionalOut("table", ItemKind::kTable, "a table (as: table)"),
        PortSpec::optionalOut("transform", ItemKind::kTransform, "a transform (as: transform)"),
        PortSpec::optionalOut("orientations", ItemKind::kOrientationMap,
                              "crystal orientations (as: orientations)")};
  }
  void preflight(Preflight& pf) const override {
    const auto& p = params();
    const auto path = pf.readsFile("file");
    if (!p.reader.empty()) {
      pf.registry().readerByName(p.reader);
    } else {
      try {
        pf.registry().pickReader(path);
      } catch (const InputError& e) {
        pf.fail(e.what());
      }
    }
    if (p.pixel_size_y > 0 && p.pixel_size == 0) {
      pf.fail("pixel_size_y is set but pixel_size is not; set both or only pixel_size");
    }
    // Every analysis works in micrometres: an image without a pixel size is refused here, by
    // `validate` and before any stage runs, not after an hour of reading other inputs. Only
    // files small enough to read in a moment are probed (images; spectra are not maps).
    constexpr std::uintmax_t kProbeBytes = 256u << 20;
    std::error_code ec;
    if ((p.as == "map" || p.as == "labels") && p.pixel_size == 0 &&
        std::filesystem::file_size(path, ec) <= kProbeBytes && !ec && sidecarPixelSize(path) == 0) {
      const Reader& reader =
          p.reader.empty() ? pf.registry().pickReader(path) : pf.registry().readerByName(p.reader);
      ReadOptions opt;
      opt.verify_checksums = false;
      opt.channel_names = channelNames(path);
      // Only the pixel size is judged here: a file that does not load, or has no such channel,
      // is reported by run() with its own error.
      bool uncalibrated = false;
      try {
        const Dataset ds = loadFile(reader, path, opt);
        uncalibrated = !ds.maps.empty() && !ds.maps[pick(ds, path.string())].grid.calibrated;
      } catch (const Error&) {
      }
      if (uncalibrated) {
        pf.fail(fmt::format(
            "'{}' carries no pixel size (the {} reader found none in the file, and there is no "
            "sidecar {}.pixelsize.txt): set this stage's `pixel_size` (um), e.g. --set "
            "{}.pixel_size=0.1",
            path.string(), reader.name(), path.filename().string(), pf.stageId()));
      }
    }
    pf.writes(p.as);
  }

  void run(RunContext& ctx) const override {
    const auto& p = params();
    const auto path = ctx.file("file");
    const Reader& reader =
        p.reader.empty() ? ctx.registry().pickReader(path) : ctx.registry().readerByName(p.reader);
    Dataset ds = loadFile(reader, path, optionsFor(ctx, path));
    ctx.note("reader", reader.name());
    for (const auto& [k, v] : ds.metadata) ctx.note("file." + k, v);
    if (p.as == "spectra") {
      putSpectra(ctx, ds, path.string());
    } else if (p.as == "table") {
      putTable(ctx, ds, path.string());
    } else if (p.as == "orientations") {
      putOrientations(ctx, ds, path.string());
    } else if (p.as == "transform") {
      if (ds.transforms.empty())
        throw InputError(path.string(), "holds no transform (as: transform)");
      ctx.note("transform", ds.transforms.front().describe());
      ctx.put("transform", ds.transforms.front());
    } else {
      Map map = chosenMap(ctx, ds, path, reader);
      if (p.as == "labels") {
        ctx.put("labels", toLabels(map, path.string()));
      } else {
        ctx.put("map", std::move(map));
      }
    }
  }

 private:
  // The reader's options from the parameters, a pixel-size sidecar and channel names.
  ReadOptions optionsFor(RunContext& ctx, const std::filesystem::path& path) const {
    const auto& p = params();
    ReadOptions opt;
    opt.pixel_x = p.pixel_size > 0 ? p.pixel_size : sidecarPixelSize(path);
    opt.pixel_y = p.pixel_size_y;
    opt.unit = p.unit;
    opt.verify_checksums = p.verify_checksum;
    opt.channel_names = channelNames(path);
    if (!opt.channel_names.empty()) {
      std::string joined;
      for (const auto& n : opt.channel_names) joined += (joined.empty() ? "" : ", ") + n;
      ctx.note("channel_names", joined);
    }
    return opt;
  }

  // The chosen channel as a map on its calibrated grid, with where it came from.
  Map chosenMap(RunContext& ctx, Dataset& ds, const std::filesystem::path& path,
                const Reader& reader) const {
    const auto& p = params();
    if (ds.maps.empty()) {
      throw InputError(path.string(),
                       fmt::format("the {} reader found no image channel in it", reader.name()));
    }
    Map map = std::move(ds.maps[pick(ds, path.string())]);
    if (!map.grid.calibrated) {
      throw UsageError(
          fmt::format("'{}' carries no pixel size; set the read stage's "
                      "`pixel_size` (um)",
                      path.string()));
    }
    map.grid.origin_x = p.origin_x;
    map.grid.origin_y = p.origin_y;
    if (!p.name.empty()) map.name = p.name;
    map.grid.check(ctx.context());
    ctx.note("channel", map.name);
    ctx.note("grid", map.grid.describe());
    for (const auto& [k, v] : map.metadata) {
      if (k == "non_finite_pixels_masked") ctx.warn(fmt::format("{} non-finite pixels masked", v));
    }
    map.metadata.emplace_back("file", path.string());
    map.metadata.emplace_back("reader", reader.name());
    return map;
  }

  // Channel names from the parameter, else from "<file>.channels.txt" (one name per line).
  std::vector<std::string> channelNames(const std::filesystem::path& file) const {
    std::vector<std::string> names;
    auto add = [&](std::string n) {
      const auto b = n.find_first_not_of(" \t\r"), e = n.find_last_not_of(" \t\r");
      if (b != std::string::npos) names.push_back(n.substr(b, e - b + 1));
    };
    if (!params().channel_names.empty()) {
      std::string cur;
      for (char c : params().channel_names + ",") {
        if (c == ',') {
          add(cur);
          cur.clear();
        } else {
          cur += c;
        }
      }
      return names;
    }
    std::ifstream side(file.string() + ".channels.txt");
    for (std::string line; std::getline(side, line);) {
      if (!line.empty() && line[0] != '#') add(line);
    }
    return names;
  }

  void putSpectra(RunContext& ctx, Dataset& ds, const std::string& file) const {
    if (!ds.spectra)
      throw InputError(file, "holds no spectrum image (as: spectra needs e.g. an imzML file)");
    SpectrumImage si = *ds.spectra;
    if (!si.grid.calibrated) {
      throw UsageError(
          fmt::format("'{}' carries no pixel size; set the read stage's `pixel_size` (um)", file));
    }
    si.grid.origin_x = params().origin_x;
    si.grid.origin_y = params().origin_y;
    if (!params().name.empty()) si.name = params().name;
    ctx.note("grid", si.grid.describe());
    ctx.note("spectra", std::to_string(si.spectrumCount()));
    ctx.put("spectra", std::move(si));
  }

  void putOrientations(RunContext& ctx, Dataset& ds, const std::string& file) const {
    if (ds.orientation_maps.empty())
      throw InputError(file,
                       "holds no crystal orientations (as: orientations needs e.g. an "
                       ".ang or .ctf EBSD map)");
    OrientationMap o = std::move(ds.orientation_maps.front());
    o.grid.origin_x = params().origin_x;
    o.grid.origin_y = params().origin_y;
    if (!params().name.empty()) o.name = params().name;
    ctx.note("grid", o.grid.describe());
    ctx.note("unindexed_points", std::to_string(o.unindexed));
    ctx.put("orientations", std::move(o));
  }

  void putTable(RunContext& ctx, Dataset& ds, const std::string& file) const {
    if (ds.tables.empty()) throw InputError(file, "holds no table (as: table)");
    std::vector<std::string> names;
    for (const auto& t : ds.tables) names.push_back(t.name);
    Table t = std::move(ds.tables[pickNamed(names, file, "table")]);
    if (!params().name.empty()) t.name = params().name;
    ctx.note("rows", std::to_string(t.rows()));
    ctx.put("table", std::move(t));
  }

  std::size_t pick(const Dataset& ds, const std::string& file) const {
    std::vector<std::string> names;
    for (const auto& m : ds.maps) names.push_back(m.name);
    return pickNamed(names, file, "channel");
  }

  // The `channel` parameter as a name or an index into `names` (0 when not given).
  std::size_t pickNamed(const std::vector<std::string>& names, const std::string& file,
                        const char* what) const {
    const std::string& ch = params().channel;
    if (ch.empty()) return 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == ch) return i;
    }
    char* end = nullptr;
    const long idx = std::strtol(ch.c_str(), &end, 10);
    if (end == ch.c_str() + ch.size() && idx >= 0 && static_cast<std::size_t>(idx) < names.size()) {
      return static_cast<std::size_t>(idx);
    }
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw UsageError(fmt::format("'{}' has no {} '{}'; {}s: {} (or an index 0-{})", file, what, ch,
                                 what, list, names.size() - 1));
  }

  static LabelMap toLabels(const Map& m, const std::string& file) {
    LabelMap l(m.name, m.grid);
    l.metadata = m.metadata;
    for (int y = 0; y < m.height(); ++y) {
      for (int x = 0; x < m.width(); ++x) {
        if (!m.valid(x, y)) continue;
        const double v = m.values(x, y);
        if (!(v >= 0 && v < 2147483647.0 && v == std::floor(v))) {
          throw InputError(file, fmt::format("not a label image: pixel ({}, {}) holds {}, labels "
                                             "must be non-negative integers",
                                             x, y, v));
        }
        l.labels(x, y) = static_cast<std::int32_t>(v);
      }
    }
    return l;
  }
};

}  // namespace

std::unique_ptr<Stage> makeReadStage() {
  return std::make_unique<ReadStage>();
}

}  // namespace ionmap::generic
