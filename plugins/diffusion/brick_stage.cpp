// brick-labels: the label map of an ideal brick layer (brick_layer.hpp), to feed
// simulate-exchange or fit-diffusion.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "diffusion/brick_layer.hpp"
#include "diffusion/stages.hpp"

namespace ionmap::diffusion {
namespace {

struct BrickParams {
  double width = 48, height = 48;  // um
  double pixel_size = 0.5;         // um
  double grain_size = 6;           // um, side of the square grains
  bool stagger = false;            // shift every other row of grains by half a grain
};

// The ideal brick layer of PHYSICS.md: square grains of side d on a grid, boundaries straight
// and aligned with the pixels (optionally staggered like bricks), as a label map to feed
// `simulate-exchange` or `fit-diffusion` (e.g. the series model's exact case).
class BrickStage final : public StageOf<BrickParams, BrickStage> {
 public:
  static const ParamSchema<BrickParams>& schema() {
    static const auto s =
        ParamSchema<BrickParams>()
            .real("width", &BrickParams::width, Range::above(0), "um", "field width")
            .real("height", &BrickParams::height, Range::above(0), "um", "field height")
            .real("pixel_size", &BrickParams::pixel_size, Range::above(0), "um",
                  "square pixel size of the label grid")
            .real("grain_size", &BrickParams::grain_size, Range::above(0), "um",
                  "side d of the square grains (a whole number of pixels)")
            .flag("stagger", &BrickParams::stagger,
                  "shift every other row of grains by half a grain, like a brick wall");
    return s;
  }
  std::string name() const override { return "brick-labels"; }
  std::string summary() const override {
    return "label map of an ideal brick layer: square grains of side d, optionally staggered";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::out("labels", ItemKind::kLabelMap, "grain labels (1, 2, ...)")};
  }
  void preflight(Preflight& pf) const override {
    const auto& p = params();
    const double cells = p.grain_size / p.pixel_size;
    if (std::abs(cells - std::round(cells)) > 1e-6 || std::round(cells) < 2) {
      pf.fail(fmt::format("grain_size ({} um) must be a whole number (>= 2) of pixels of {} um",
                          p.grain_size, p.pixel_size));
    }
    if (p.width / p.pixel_size > 20000 || p.height / p.pixel_size > 20000)
      pf.fail("the grid would exceed 20000 pixels a side: use a larger pixel_size");
    pf.writes("labels");
  }
  void run(RunContext& ctx) const override {
    const auto& p = params();
    Grid g;
    g.width = std::max(1, static_cast<int>(std::lround(p.width / p.pixel_size)));
    g.height = std::max(1, static_cast<int>(std::lround(p.height / p.pixel_size)));
    g.pixel_x = g.pixel_y = p.pixel_size;
    const int d = static_cast<int>(std::lround(p.grain_size / p.pixel_size));
    ctx.note("grains_per_row", std::to_string((g.width + d - 1) / d));
    ctx.put("labels", brickLayer(g, d, p.stagger));
  }
};

}  // namespace

std::unique_ptr<Stage> makeBrickStage() {
  return std::make_unique<BrickStage>();
}

}  // namespace ionmap::diffusion
