// An out-of-tree ionmap plugin, built as a shared library exactly as a user's would be:
// it links libionmap, defines a stage, and exports the versioned entry point. Put the .so in
// a folder listed in IONMAP_PLUGIN_PATH and `ionmap stages` shows `example-scale`.
#include <memory>

#include "ionmap/pipeline/plugin_api.hpp"
#include "ionmap/pipeline/registry.hpp"

#ifndef EXAMPLE_PLUGIN_FAKE_ABI
#define EXAMPLE_PLUGIN_ABI IONMAP_PLUGIN_ABI_VERSION
#else
#define EXAMPLE_PLUGIN_ABI EXAMPLE_PLUGIN_FAKE_ABI  // only to test that a mismatch is refused
#endif

namespace {

struct ScaleParams {
  double factor = 1.0;
  std::string unit;
};

class ScaleStage final : public ionmap::StageOf<ScaleParams, ScaleStage> {
 public:
  static const ionmap::ParamSchema<ScaleParams>& schema() {
    static const auto s = ionmap::ParamSchema<ScaleParams>()
                              .real("factor", &ScaleParams::factor, ionmap::Range::any(), "",
                                    "multiply every value by this")
                              .text("unit", &ScaleParams::unit, "unit of the result; empty = same");
    return s;
  }
  std::string name() const override { return "example-scale"; }
  std::string summary() const override { return "multiply a map by a constant (plugin example)"; }
  std::vector<ionmap::PortSpec> ports() const override {
    return {ionmap::PortSpec::in("map", ionmap::ItemKind::kMap, "input"),
            ionmap::PortSpec::out("map", ionmap::ItemKind::kMap, "scaled map")};
  }
  void preflight(ionmap::Preflight& pf) const override {
    pf.reads("map");
    pf.writes("map");
  }
  void run(ionmap::RunContext& ctx) const override {
    ionmap::Map m = ctx.get<ionmap::Map>("map");
    for (auto& v : m.values.values()) v *= params().factor;
    if (!params().unit.empty()) m.unit = params().unit;
    ctx.put("map", std::move(m));
  }
};

void registerPlugin(ionmap::Registry& registry) {
  registry.addStage([] { return std::make_unique<ScaleStage>(); }, "example-external");
}

const ionmap::PluginInfo kInfo{EXAMPLE_PLUGIN_ABI, "example-external", "1.0", &registerPlugin};

}  // namespace

extern "C" const ionmap::PluginInfo* ionmap_plugin_v1() {
  return &kInfo;
}
