#include "generic/stats_tables.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "ionmap/numerics/statistics.hpp"

namespace ionmap::generic {
namespace {

struct Cell {
  const char* name;
  std::string unit;
  double value;
};
// The cells of a summary in the map's unit u: mean, std, sem, median, then (with percentiles)
// p05, p95, then min, max.
std::vector<Cell> summaryCells(const Summary& s, const std::string& u, bool percentiles) {
  std::vector<Cell> c{
      {"mean", u, s.mean}, {"std", u, s.std}, {"sem", u, s.sem}, {"median", u, s.median}};
  if (percentiles) c.insert(c.end(), {{"p05", u, s.p05}, {"p95", u, s.p95}});
  c.insert(c.end(), {{"min", u, s.min}, {"max", u, s.max}});
  return c;
}

void addRow(Table& t, std::vector<Cell> cells, const std::vector<Cell>& more) {
  cells.insert(cells.end(), more.begin(), more.end());
  if (t.columns.empty()) {
    for (const auto& c : cells) t.addNumeric(c.name, c.unit == "1" ? "" : c.unit);
  }
  for (std::size_t i = 0; i < cells.size(); ++i) t.columns[i].numbers.push_back(cells[i].value);
}

}  // namespace

Table overallStatistics(const Map& map, std::size_t* valid) {
  const std::string u = map.unit;
  Table t(map.name + " statistics");
  std::vector<double> v;
  for (std::size_t i = 0; i < map.values.size(); ++i) {
    if (map.mask[i] && std::isfinite(map.values[i])) v.push_back(map.values[i]);
  }
  const std::size_t invalid = map.values.size() - v.size();
  const Summary s = summarize(std::move(v));
  if (valid) *valid = s.count;
  t.description = "statistics over the valid pixels of " + map.name;
  addRow(t, {{"valid_pixels", "1", double(s.count)}, {"invalid_pixels", "1", double(invalid)}},
         summaryCells(s, u, true));
  return t;
}

Table labelStatistics(const Map& map, const LabelMap& labels, int min_pixels,
                      std::size_t* too_few_out) {
  const std::string u = map.unit;
  Table t(map.name + " statistics");
  const auto rows = summarizeByLabel(map, labels);
  t.description = "statistics of " + map.name + " per label of " + labels.name;
  std::size_t too_few = 0;
  for (const auto& r : rows) {
    Summary s = r.values;
    if (s.count < static_cast<std::size_t>(min_pixels)) {
      ++too_few;
      s = summarize({});
      s.count = r.values.count;
    }
    addRow(t,
           {{"label", "1", double(r.label)},
            {"pixels", "1", double(r.pixels)},
            {"area", "um^2", r.area_um2},
            {"centroid_x", "um", r.centroid_x},
            {"centroid_y", "um", r.centroid_y},
            {"valid_pixels", "1", double(s.count)}},
           summaryCells(s, u, false));
  }
  if (too_few_out) *too_few_out = too_few;
  return t;
}

}  // namespace ionmap::generic
