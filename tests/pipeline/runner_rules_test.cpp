// Rules the runner applies to every stage, whatever the stage checks itself: an input port
// that needs a pixel size refuses an uncalibrated map before the stage runs, naming the stage,
// the port, the item and who wrote it.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ionmap/core/error.hpp"
#include "ionmap/pipeline/registry.hpp"
#include "ionmap/pipeline/runner.hpp"
#include "pipeline_runner.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

// Writes a 32 x 32 map without a pixel size (no reader lets one through: a plugin could).
class UncalibratedMapStage final : public Stage {
 public:
  std::string name() const override { return "test-uncalibrated-map"; }
  std::string summary() const override { return "a map without pixel size"; }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::out("map", ItemKind::kMap, "a map in pixels")};
  }
  std::vector<ParamSpec> paramSpecs() const override { return {}; }
  void setParam(const std::string& key, const ParamInput&, const std::string&) override {
    throw UsageError("no parameter " + key);
  }
  std::vector<std::pair<std::string, std::string>> paramValues() const override { return {}; }
  void preflight(Preflight& pf) const override { pf.writes("map"); }
  void run(RunContext& ctx) const override {
    Grid g;
    g.width = g.height = 32;
    g.calibrated = false;
    ctx.put("map", Map("pixels", g, ""));
  }
};

TEST(RunnerRules, AnInputThatNeedsAPixelSizeRefusesAnUncalibratedMapBeforeTheStageRuns) {
  Registry r;
  registerBuiltinPlugins(r);
  r.addStage([] { return std::make_unique<UncalibratedMapStage>(); }, "test");
  const std::string yaml = R"(version: 1
name: rules
stages:
  - stage: test-uncalibrated-map
    id: source
    out: {map: image}
  - stage: segment-grains
    id: segment
    params: {grain_size: 4, groove_width: 0.5}
    in: {map: image}
    out: {labels: grains}
)";
  test::TempDir dir;
  Plan plan = planPipeline(parsePipeline(yaml, "rules.yaml", dir.path()), r);
  RunOptions opt;
  opt.out_dir = dir / "out";
  try {
    (void)runPlan(plan, r, opt);
    ADD_FAILURE() << "segment-grains ran on a map without a pixel size";
  } catch (const ProcessingError& e) {
    const std::string what = e.what();
    for (const char* part : {"stage 'segment'", "input 'map'", "item 'image'",
                             "written by stage 'source'", "no pixel size"})
      EXPECT_NE(what.find(part), std::string::npos) << part << " in: " << what;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "results.h5"));
}

}  // namespace
}  // namespace ionmap
