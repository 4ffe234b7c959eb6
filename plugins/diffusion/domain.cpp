#include "diffusion/domain.hpp"

#include <cmath>

#include "ionmap/core/error.hpp"

namespace ionmap::diffusion {

// Cells along the source edge, and the cell at position k along it, `depth` cells inside.
int edgeLength(const Domain& s) {
  return s.source == Edge::kLeft || s.source == Edge::kRight ? s.labels.height() : s.labels.width();
}
std::pair<int, int> edgeCell(const Domain& s, int k, int depth) {
  switch (s.source) {
    case Edge::kLeft:
      return {depth, k};
    case Edge::kRight:
      return {s.labels.width() - 1 - depth, k};
    case Edge::kTop:
      return {k, depth};
    case Edge::kBottom:
      return {k, s.labels.height() - 1 - depth};
  }
  return {depth, k};
}
// The factor on the source face of edge cell (x, y).
double sourceScale(const Domain& s, int x, int y) {
  if (s.source_scale.empty()) return 1.0;
  const bool columns = s.source == Edge::kLeft || s.source == Edge::kRight;
  return s.source_scale[static_cast<std::size_t>(columns ? y : x)];
}

void checkDomain(const Domain& s, const Physics& p) {
  if (s.labels.empty() || !(s.h > 0))
    throw UsageError("diffusion model: the grid is empty or the cell size is not > 0");
  if (!(s.time > 0)) throw UsageError("diffusion model: the exchange time must be > 0 s");
  if (s.steps < 1) throw UsageError("diffusion model: at least one time step is needed");
  if (!(p.D_b > 0)) throw UsageError("diffusion model: D_b must be > 0");
  if (p.k_surface < 0)
    throw UsageError("diffusion model: the surface exchange coefficient must be >= 0");
  if ((!s.kappa_scale_x.empty() && !s.kappa_scale_x.sameSize(s.labels)) ||
      (!s.kappa_scale_y.empty() && !s.kappa_scale_y.sameSize(s.labels)))
    throw UsageError("diffusion model: the staircase factors and the labels differ in size");
  if (!s.source_scale.empty() && (!s.source_region.empty() ||
                                  s.source_scale.size() != static_cast<std::size_t>(edgeLength(s))))
    throw UsageError("diffusion model: the source-contact factors do not match the source edge");
  if (!(s.reservoir_um >= 0) || std::isinf(s.reservoir_um))
    throw UsageError("diffusion model: the reservoir thickness must be >= 0 um (0 = unlimited)");
  if (!s.source_region.empty()) {
    if (!s.source_region.sameSize(s.labels))
      throw UsageError("diffusion model: the source region and the labels differ in size");
    std::size_t inside = 0;
    for (auto v : s.source_region.values()) inside += v != 0;
    if (inside == 0) throw UsageError("diffusion model: the source region is empty");
    if (inside == s.source_region.size())
      throw UsageError("diffusion model: the source region covers the whole map");
  }
}

bool inRegion(const Domain& s, int x, int y) {
  return !s.source_region.empty() && s.source_region(x, y) != 0;
}

// Whether the cell has a source face on the map's edge (edge sources only).
bool onSource(const Domain& s, int x, int y) {
  if (!s.source_region.empty()) return false;
  switch (s.source) {
    case Edge::kLeft:
      return x == 0;
    case Edge::kRight:
      return x == s.labels.width() - 1;
    case Edge::kTop:
      return y == 0;
    case Edge::kBottom:
      return y == s.labels.height() - 1;
  }
  return false;
}

// Total length of the source faces (µm): the edge, or the faces between the region and the sample.
double sourceLength(const Domain& s) {
  const int w = s.labels.width(), h = s.labels.height();
  if (s.source_region.empty()) return edgeLength(s) * s.h;
  std::size_t faces = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (x + 1 < w) faces += inRegion(s, x, y) != inRegion(s, x + 1, y);
      if (y + 1 < h) faces += inRegion(s, x, y) != inRegion(s, x, y + 1);
    }
  }
  return static_cast<double>(faces) * s.h;
}

}  // namespace ionmap::diffusion
