// Helpers on a model Domain that the grid model, the grain network and the boundary geometry
// share: where the source edge runs, which cells touch the source, and the domain's own checks.
#pragma once

#include <utility>

#include "diffusion/model.hpp"

namespace ionmap::diffusion {

// Cells along the source edge, and the cell at position k along it, `depth` cells inside.
int edgeLength(const Domain& s);
std::pair<int, int> edgeCell(const Domain& s, int k, int depth);
// The factor on the source face of edge cell (x, y).
double sourceScale(const Domain& s, int x, int y);
// Throws UsageError for a domain or physics the models cannot run.
void checkDomain(const Domain& s, const Physics& p);
bool inRegion(const Domain& s, int x, int y);
// Whether the cell has a source face on the map's edge (edge sources only).
bool onSource(const Domain& s, int x, int y);
// Total length of the source faces (µm): the edge, or the faces between the region and the sample.
double sourceLength(const Domain& s);

}  // namespace ionmap::diffusion
