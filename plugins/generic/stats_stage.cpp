// stats: statistics of a map, overall or per label, as a table.
#include <cmath>

#include <fmt/format.h>

#include "generic/stages.hpp"
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
    return {{"map", ItemKind::kMap, false, false, "map to describe"},
            {"labels", ItemKind::kLabelMap, false, true, "regions (same grid size as the map)"},
            {"table", ItemKind::kTable, true, false, "one row overall, or one row per label"}};
  }
  void preflight(Preflight& pf) const override {
    pf.reads("map");
    pf.readsIfBound("labels");
    pf.writes("table");
  }
  void run(RunContext& ctx) const override {
    const Map& map = ctx.get<Map>("map");
    const std::string u = map.unit;
    Table t(map.name + " statistics");
    if (!ctx.bound("labels")) {
      std::vector<double> v;
      for (std::size_t i = 0; i < map.values.size(); ++i) {
        if (map.mask[i] && std::isfinite(map.values[i])) v.push_back(map.values[i]);
      }
      const std::size_t invalid = map.values.size() - v.size();
      const Summary s = summarize(std::move(v));
      if (s.count == 0) ctx.warn("the map has no valid pixel; all statistics are NaN");
      t.description = "statistics over the valid pixels of " + map.name;
      addRow(t, {{"valid_pixels", "1", double(s.count)},
                 {"invalid_pixels", "1", double(invalid)},
                 {"mean", u, s.mean},
                 {"std", u, s.std},
                 {"sem", u, s.sem},
                 {"median", u, s.median},
                 {"p05", u, s.p05},
                 {"p95", u, s.p95},
                 {"min", u, s.min},
                 {"max", u, s.max}});
    } else {
      const LabelMap& labels = ctx.get<LabelMap>("labels");
      const auto rows = summarizeByLabel(map, labels);
      t.description = "statistics of " + map.name + " per label of " + labels.name;
      std::size_t too_few = 0;
      for (const auto& r : rows) {
        Summary s = r.values;
        if (s.count < static_cast<std::size_t>(params().min_pixels)) {
          ++too_few;
          s = summarize({});
          s.count = r.values.count;
        }
        addRow(t, {{"label", "1", double(r.label)},
                   {"pixels", "1", double(r.pixels)},
                   {"area", "um^2", r.area_um2},
                   {"centroid_x", "um", r.centroid_x},
                   {"centroid_y", "um", r.centroid_y},
                   {"valid_pixels", "1", double(s.count)},
                   {"mean", u, s.mean},
                   {"std", u, s.std},
                   {"sem", u, s.sem},
                   {"median", u, s.median},
                   {"min", u, s.min},
                   {"max", u, s.max}});
      }
      if (too_few) {
        ctx.warn(
            fmt::format("{} of {} labels have fewer than {} valid pixels; their statistics "
                        "are NaN",
                        too_few, rows.size(), params().min_pixels));
      }
      ctx.note("labels", std::to_string(rows.size()));
    }
    ctx.put("table", std::move(t));
  }

 private:
  struct Cell {
    const char* name;
    std::string unit;
    double value;
  };
  static void addRow(Table& t, const std::vector<Cell>& cells) {
    if (t.columns.empty()) {
      for (const auto& c : cells) t.addNumeric(c.name, c.unit == "1" ? "" : c.unit);
    }
    for (std::size_t i = 0; i < cells.size(); ++i) t.columns[i].numbers.push_back(cells[i].value);
  }
};

}  // namespace

std::unique_ptr<Stage> makeStatsStage() {
  return std::make_unique<StatsStage>();
}

}  // namespace ionmap::generic
