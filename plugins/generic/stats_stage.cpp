// stats: statistics of a map, overall or per label, as a table.
#include <cmath>

#include <fmt/format.h>

#include "generic/stages.hpp"
#include "generic/stats_tables.hpp"
#include "ionmap/numerics/statistics.hpp"

namespace ionmap::generic {
namespace {

struct StatsParams {
  int min_pixels = 1;
};

class StatsStage final : public StageOf<StatsParams, StatsStage> {
 public:
  static const ParamSchema<StatsParams>& schema() {
    static const auto s = ParamSchema<StatsParams>().integer(
        "min_pixels", &StatsParams::min_pixels, Range::atLeast(1), "",
        "labels with fewer valid pixels get NaN statistics (and a warning)");
    return s;
  }
  std::string name() const override { return "stats"; }
  std::string summary() const override {
    return "statistics of a map (count, mean, std, sem, median, percentiles), overall or per label";
  }
  std::vector<PortSpec> ports() const override {
    return {
        PortSpec::in("map", ItemKind::kMap, "map to describe"),
        PortSpec::optionalIn("labels", ItemKind::kLabelMap, "regions (same grid size as the map)"),
        PortSpec::out("table", ItemKind::kTable, "one row overall, or one row per label")};
  }
  void preflight(Preflight& pf) const override {
    pf.reads("map");
    pf.readsIfBound("labels");
    pf.writes("table");
  }
  void run(RunContext& ctx) const override {
    const Map& map = ctx.get<Map>("map");
    if (!ctx.bound("labels")) {
      std::size_t valid = 0;
      Table t = overallStatistics(map, &valid);
      if (valid == 0) ctx.warn("the map has no valid pixel; all statistics are NaN");
      ctx.put("table", std::move(t));
      return;
    }
    std::size_t too_few = 0;
    Table t = labelStatistics(map, ctx.get<LabelMap>("labels"), params().min_pixels, &too_few);
    const std::size_t labels = t.rows();
    if (too_few) {
      ctx.warn(
          fmt::format("{} of {} labels have fewer than {} valid pixels; their statistics "
                      "are NaN",
                      too_few, labels, params().min_pixels));
    }
    ctx.note("labels", std::to_string(labels));
    ctx.put("table", std::move(t));
  }
};

}  // namespace

std::unique_ptr<Stage> makeStatsStage() {
  return std::make_unique<StatsStage>();
}

}  // namespace ionmap::generic
