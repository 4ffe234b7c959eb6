// write-quicklook: a PNG of a map with chosen colormap, range, title and boundary overlay.
#include <fmt/format.h>

#include "generic/stages.hpp"
#include "ionmap/io/quicklook.hpp"

namespace ionmap::generic {
namespace {

struct QuicklookParams {
  std::string file;
  std::string title;
  std::string colormap = "viridis";
  double vmin = 0.0;
  double vmax = 0.0;
  double clip_percent = 1.0;
};

class QuicklookStage final : public StageOf<QuicklookParams, QuicklookStage> {
 public:
  static const ParamSchema<QuicklookParams>& schema() {
    static const auto s =
        ParamSchema<QuicklookParams>()
            .text("file", &QuicklookParams::file,
                  "PNG file name in the output folder; empty = <item>-quicklook.png")
            .text("title", &QuicklookParams::title, "title; empty = map name and unit")
            .choice("colormap", &QuicklookParams::colormap,
                    {"viridis", "inferno", "magma", "plasma", "cividis", "turbo", "gray",
                     "coolwarm", "twilight"},
                    "colour map (coolwarm for signed quantities)")
            .real("vmin", &QuicklookParams::vmin, Range::any(), "",
                  "lower end of the colour scale (used when vmin < vmax)")
            .real("vmax", &QuicklookParams::vmax, Range::any(), "",
                  "upper end of the colour scale (used when vmin < vmax)")
            .real("clip_percent", &QuicklookParams::clip_percent, Range::between(0, 49), "%",
                  "automatic range: from this percentile to 100 minus it");
    return s;
  }
  std::string name() const override { return "write-quicklook"; }
  std::string summary() const override {
    return "write a PNG of a map: colormap, colorbar with unit, scale bar, boundary overlay";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("map", ItemKind::kMap, "map to draw"),
            PortSpec::optionalIn("boundaries", ItemKind::kLabelMap,
                                 "labels whose boundaries are drawn on top (same grid size)")};
  }
  void preflight(Preflight& pf) const override {
    const auto& f = params().file;
    if (!f.empty() && !isPlainPngFileName(f)) {
      pf.fail("`file` must be a plain file name ending in .png (it is written into --out)");
    }
    if (f == "results.h5" || f == "run.log") pf.fail("`file` would overwrite " + f);
    pf.reads("map");
    pf.readsIfBound("boundaries");
  }
  void run(RunContext& ctx) const override {
    const auto& p = params();
    QuicklookOptions o;
    o.title = p.title;
    o.colormap = p.colormap;
    o.vmin = p.vmin;
    o.vmax = p.vmax;
    o.clip_percent = p.clip_percent;
    if (ctx.bound("boundaries")) o.boundaries = &ctx.get<LabelMap>("boundaries");
    const std::string file = p.file.empty() ? ctx.inItem("map") + "-quicklook.png" : p.file;
    writeQuicklook(ctx.get<Map>("map"), ctx.fileDir() / file, o);
    ctx.note("file", file);
  }
};

}  // namespace

std::unique_ptr<Stage> makeQuicklookStage() {
  return std::make_unique<QuicklookStage>();
}

}  // namespace ionmap::generic
