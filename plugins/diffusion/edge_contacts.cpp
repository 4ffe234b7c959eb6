// Which grains touch the source edge, decided by the data (see edge_contacts.hpp).
#include "diffusion/edge_contacts.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace ionmap::diffusion {

namespace {

std::int32_t& cellAt(Image<std::int32_t>& labels, const Domain& d, int k, int depth) {
  const auto [x, y] = edgeCell(d, k, depth);
  return labels(x, y);
}

std::int32_t labelAt(const Domain& d, int k, int depth) {
  const auto [x, y] = edgeCell(d, k, depth);
  return d.labels(x, y);
}

}  // namespace

std::vector<EdgeEdit> edgeContactEdits(const Domain& d) {
  std::vector<EdgeEdit> edits;
  if (!d.source_region.empty()) return edits;
  const int n = edgeLength(d);
  const bool columns = d.source == Edge::kLeft || d.source == Edge::kRight;
  if ((columns ? d.labels.width() : d.labels.height()) < 3 || n < 3) return edits;
  // Fill: runs where the edge cell's grain is not the one behind it (a sliver one cell deep).
  for (int k = 0; k < n;) {
    if (labelAt(d, k, 0) == labelAt(d, k, 1)) {
      ++k;
      continue;
    }
    int e = k;
    while (e + 1 < n && labelAt(d, e + 1, 0) != labelAt(d, e + 1, 1)) ++e;
    edits.push_back({EdgeEdit::kFill, k, e, labelAt(d, k, 1)});
    k = e + 1;
  }
  // Cover: every grain's contact (at a corner too, unless it holds the whole edge).
  for (int k = 0; k < n;) {
    const std::int32_t g = labelAt(d, k, 0);
    int e = k;
    while (e + 1 < n && labelAt(d, e + 1, 0) == g) ++e;
    if (k > 0 || e < n - 1) edits.push_back({EdgeEdit::kCover, k, e, g});
    k = e + 1;
  }
  return edits;
}

Image<std::int32_t> applyEdgeEdit(const Domain& d, const EdgeEdit& e) {
  Image<std::int32_t> out = d.labels;
  if (e.kind == EdgeEdit::kFill) {
    for (int k = e.first; k <= e.last; ++k) cellAt(out, d, k, 0) = labelAt(d, k, 1);
  } else {
    // A grain of its own (a new label): an outside grain's tip, or a sliver between the grain
    // and the source, with boundaries to everything around it.
    const std::int32_t sliver =
        *std::max_element(d.labels.values().begin(), d.labels.values().end()) + 1;
    for (int k = e.first; k <= e.last; ++k) cellAt(out, d, k, 0) = sliver;
  }
  return out;
}

std::string describeEdgeEdits(const std::vector<EdgeEdit>& edits, double cell_um) {
  int tried = 0, taken = 0;
  std::string which;
  for (const EdgeEdit& e : edits) {
    tried += e.tried;
    if (!e.accepted) continue;
    ++taken;
    which += fmt::format(
        "{}{} {} at {:.2f}-{:.2f} um along the edge (delta chi^2 {:.0f})",
        which.empty() ? "" : "; ",
        e.kind == EdgeEdit::kFill ? "contact given to grain" : "contact taken from grain", e.grain,
        e.first * cell_um, (e.last + 1) * cell_um, e.delta_chi2);
  }
  return fmt::format("{} of {} tried ({} candidates){}{}", taken, tried, edits.size(),
                     taken ? ": " : "", which);
}

}  // namespace ionmap::diffusion
