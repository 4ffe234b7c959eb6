// What fit-diffusion makes of its inputs before the fit: which label cells belong to which map
// pixel, which pixels near boundaries to leave out, the registration's own uncertainty, and the
// grains the residual diagnostics flag.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "diffusion/diagnostics.hpp"
#include "ionmap/core/map.hpp"
#include "ionmap/core/table.hpp"

namespace ionmap::diffusion {

// Clears the mask within `margin` pixels (4-neighbour steps) of a face between different labels;
// returns how many usable pixels it removed.
std::size_t maskNearBoundaries(const Image<std::int32_t>& labels, int margin,
                               Image<std::uint8_t>& mask);

// n when `labels` is `map` divided into n × n cells per pixel (n = 1: the same grid), else 0.
int subdivisionOf(const Grid& map, const Grid& labels);

// The registration's own uncertainty (um) from the register stage's report; NaN when it has
// none (too few tiles). Throws ProcessingError for a table that is not such a report.
double registrationUncertainty(const Table& report);

// The grains the residual diagnostics flag (offset as a whole, or with a step inside).
std::vector<std::int32_t> flaggedGrains(const ResidualDiagnostics& diag);

}  // namespace ionmap::diffusion
