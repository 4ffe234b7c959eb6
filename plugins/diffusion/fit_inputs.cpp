// What fit-diffusion makes of its inputs before the fit (fit_inputs.hpp).
#include "diffusion/fit_inputs.hpp"

#include <algorithm>

#include "ionmap/core/error.hpp"
#include "ionmap/numerics/label_edges.hpp"

namespace ionmap::diffusion {

std::size_t maskNearBoundaries(const Image<std::int32_t>& labels, int margin,
                               Image<std::uint8_t>& mask) {
  const Image<std::uint8_t> near = nearOtherLabels(labels, margin);
  std::size_t removed = 0;
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (near[i] && mask[i]) mask[i] = 0, ++removed;
  }
  return removed;
}

int subdivisionOf(const Grid& map, const Grid& labels) {
  if (map.width <= 0 || labels.width % map.width != 0) return 0;
  const int n = labels.width / map.width;
  return n >= 1 && map.subdivided(n).sameAs(labels, 1e-6) ? n : 0;
}

double registrationUncertainty(const Table& report) {
  const auto& q = report.column("quantity").texts;
  const auto& v = report.column("value").numbers;
  for (std::size_t i = 0; i < q.size() && i < v.size(); ++i) {
    if (q[i] == "uncertainty") return v[i];
  }
  throw ProcessingError(
      "the `registration` input has no `uncertainty` row (bind the register stage's report)");
}

std::vector<std::int32_t> flaggedGrains(const ResidualDiagnostics& diag) {
  std::vector<std::int32_t> out;
  for (const auto* list : {&diag.offsets, &diag.steps}) {
    for (const GrainResidual& g : *list) {
      if (std::find(out.begin(), out.end(), g.label) == out.end()) out.push_back(g.label);
    }
  }
  return out;
}

}  // namespace ionmap::diffusion
